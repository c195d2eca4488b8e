"""Exit codes of `plan solve`: 0 optimal, 2 infeasible with a diagnosis, 3 time limit with an
unproven plan (a backend that stops early is substituted to make the time limit certain)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from clirun import invoke
from conftest import ROOT, tiny_problem, write_problem
from planner import solve as solve_module
from planner.backends import SolveOptions, SolverResult, Status
from planner.backends.highs import HighsBackend
from planner.cli import main
from planner.linear import LinearModel


class StoppedEarly:
    """HiGHS's answer, reported as if the time limit had stopped the proof at a 5 % gap."""

    name = "highs"

    def solve(self, model: LinearModel, options: SolveOptions) -> SolverResult:
        result = HighsBackend().solve(model, options)
        assert result.objective is not None
        return SolverResult(Status.feasible, result.objective, result.objective * 0.95,
                            result.values, result.seconds, "highs")


def test_optimal_exits_0() -> None:
    result = CliRunner().invoke(main, ["solve", str(ROOT / "problems" / "quickstart.yaml")])
    assert result.exit_code == 0
    assert "optimal" in result.stdout and "why support-chat" in result.stdout


def test_infeasible_exits_2_with_diagnosis(tmp_path: Path) -> None:
    path = write_problem(tmp_path, tiny_problem(workload={"slo": {"ttft_ms": 10}}))
    result = CliRunner().invoke(main, ["solve", str(path)])
    assert result.exit_code == 2
    assert "no configuration meets its limits" in result.stdout
    assert "best TTFT reachable is 100.0 ms" in result.stdout


def test_time_limit_exits_3_with_gap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(solve_module, "get_backend", lambda name: StoppedEarly())
    path = write_problem(tmp_path, tiny_problem())
    result = CliRunner().invoke(main, ["solve", str(path)])
    assert result.exit_code == 3
    assert "feasible" in result.stdout and "gap 5.0000%" in result.stdout


def test_a_solver_that_cannot_take_the_model_exits_1_saying_why_and_what_to_use() -> None:
    result = invoke(["solve", "--solver", "cpsat", str(ROOT / "problems" / "mixed-fleet.yaml")])
    assert result.exit_code == 1
    assert "the solver failed: CP-SAT solves whole numbers only" in result.stdout
    assert "use --solver highs" in result.stdout
    assert "warning: CP-SAT solves whole numbers only" in result.stderr
    assert "RuntimeWarning" not in result.output and "Traceback" not in result.output
