"""Safe output: files are written atomically and never overwritten without --force."""

from __future__ import annotations

import os
import sys
import tempfile
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click

from planner.errors import InputError, PlanError, input_error

F = TypeVar("F", bound=Callable[..., Any])


def reports_errors(command: F) -> F:
    """Turn our errors into one message on stderr and exit code 1, never a traceback; our
    warnings (`NumericsWarning`, `SolverWarning`) become `warning: ...` lines on stderr."""

    @wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            with _plain_warnings():
                return command(*args, **kwargs)
        except PlanError as exc:
            click.echo(str(exc) if isinstance(exc, InputError) else f"error: {exc}", err=True)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)

    return wrapper  # type: ignore[return-value]


@contextmanager
def _plain_warnings() -> Iterator[None]:
    from planner.backends.base import SolverWarning
    from planner.numerics import NumericsWarning

    with warnings.catch_warnings():
        shown = warnings.showwarning

        def show(message: Warning | str, category: type[Warning], *rest: Any, **named: Any
                 ) -> None:
            if issubclass(category, (NumericsWarning, SolverWarning)):
                click.echo(f"warning: {message}", err=True)
            else:
                shown(message, category, *rest, **named)

        warnings.showwarning = show
        warnings.simplefilter("default", NumericsWarning)  # once per run, even if re-solved
        yield


def emit(text: str, output: Path | None, force: bool) -> None:
    """Print `text`, or write it atomically to `output`."""
    if output is None:
        click.echo(text, nl=False)
        return
    write_atomic(output, text, force)
    click.echo(f"wrote {output}", err=True)


def check_target(path: Path, force: bool, option: str = "-o", folder: bool = False) -> Path:
    """Refuse to clobber: `path` may exist only with `force`, its parent must exist, and it
    must be a file (or, with `folder`, a folder). Returns the parent folder.

    Raises:
        InputError: naming the path and the option that gave it.
    """
    kind = "folder" if folder else "file"
    if path.exists() and path.is_dir() != folder:
        wrong = "a folder" if path.is_dir() else "a file"
        raise input_error(str(path), f"output path is {wrong}, expected a {kind}", option)
    if path.exists() and not force:
        raise input_error(str(path), f"output {kind} exists; pass --force to overwrite it", option)
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        raise input_error(str(path), f"folder {directory} does not exist", option)
    return directory


def write_atomic(path: Path, data: str | bytes, force: bool, option: str = "-o") -> None:
    """Write `data` to `path` via a temporary file and rename; refuse to clobber.

    Raises:
        InputError: when `path` exists and `force` is false, or is a directory.
    """
    directory = check_target(path, force, option)
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=f".{path.name}.", suffix=".tmp")
    try:
        if isinstance(data, bytes):
            with os.fdopen(handle, "wb") as binary:
                binary.write(data)
        else:
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                stream.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
