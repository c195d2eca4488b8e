"""Safe output: files are written atomically and never overwritten without --force."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from planner.errors import input_error


def write_atomic(path: Path, text: str, force: bool) -> None:
    """Write `text` to `path` via a temporary file and rename; refuse to clobber.

    Raises:
        InputError: when `path` exists and `force` is false, or is a directory.
    """
    if path.is_dir():
        raise input_error(str(path), "output path is a directory", "-o")
    if path.exists() and not force:
        raise input_error(str(path), "output file exists; pass --force to overwrite it", "-o")
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        raise input_error(str(path), f"folder {directory} does not exist", "-o")
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
