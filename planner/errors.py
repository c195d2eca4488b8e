"""Error types: every problem with user input becomes one `InputError` listing all issues."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Issue:
    """One problem found in an input file, located as precisely as we can."""

    file: str
    line: int | None
    column: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        field = f" {self.field}:" if self.field else ""
        return f"{where}:{field} {self.message}"


class PlanError(Exception):
    """Base class for errors the command line reports without a traceback."""

    exit_code = 1


class InputError(PlanError):
    """Bad input: a file that cannot be read, parsed or validated.

    Carries every issue found, so that the user fixes them all in one go.
    """

    def __init__(self, issues: list[Issue]) -> None:
        self.issues = issues
        super().__init__(self.render())

    def render(self) -> str:
        if len(self.issues) == 1:
            return f"error: {self.issues[0]}"
        lines = [f"error: {len(self.issues)} problems found"]
        lines += [f"  - {issue}" for issue in self.issues]
        return "\n".join(lines)


def input_error(file: str, message: str, field: str = "", line: int | None = None) -> InputError:
    """Shorthand for an `InputError` with a single issue."""
    return InputError([Issue(file, line, None, field, message)])
