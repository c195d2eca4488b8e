"""Run the `plan` command line in-process with stdout and stderr kept apart, on any click 8."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from click.testing import CliRunner

from planner.cli import main


@dataclass(frozen=True)
class Run:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def invoke(args: list[str]) -> Run:
    older: dict[str, Any] = {"mix_stderr": False}  # click < 8.2 mixes stderr into stdout by default
    try:
        runner = CliRunner(**older)
    except TypeError:
        runner = CliRunner()  # click >= 8.2 always keeps stderr apart
    result = runner.invoke(main, args)
    return Run(result.exit_code, result.stdout, result.stderr)
