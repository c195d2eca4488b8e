"""Write an export folder atomically: build it in a temporary folder beside the target, then
rename. An existing folder is replaced only with `force`; on failure nothing partial is left."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path, PurePosixPath

from planner.output import check_target

from .common import ExportFile

_EXECUTABLE = 0o755
_FOLDER_MODE = 0o755  # mkdtemp makes 0700; the export is an ordinary folder


def write_folder(folder: Path, files: list[ExportFile], force: bool) -> None:
    """Create `folder` holding exactly `files`.

    Raises:
        InputError: when `folder` exists (without `force`), is a file, or its parent is missing.
    """
    parent = check_target(folder, force, "-o", folder=True)
    staging = Path(tempfile.mkdtemp(dir=parent, prefix=f".{folder.name}.", suffix=".tmp"))
    try:
        staging.chmod(_FOLDER_MODE)
        for file in files:
            _write(staging, file)
        _swap_in(staging, folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _write(staging: Path, file: ExportFile) -> None:
    relative = PurePosixPath(file.path)
    if relative.is_absolute() or ".." in relative.parts:
        raise ValueError(f"export file path escapes the folder: {file.path}")
    target = staging.joinpath(*relative.parts)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(file.text, encoding="utf-8")
    if file.text.startswith("#!"):
        target.chmod(_EXECUTABLE)


def _swap_in(staging: Path, folder: Path) -> None:
    if not folder.exists():
        os.replace(staging, folder)
        return
    # Move the old folder aside first, so that a failed rename can put it back.
    retired = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}.", suffix=".old"))
    retired.rmdir()
    os.replace(folder, retired)
    try:
        os.replace(staging, folder)
    except BaseException:
        os.replace(retired, folder)
        raise
    shutil.rmtree(retired, ignore_errors=True)
