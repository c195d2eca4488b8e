"""Every shipped example solves to a proven optimum, passes `plan check`, and both solvers
agree on its cost."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from clirun import invoke
from conftest import ROOT
from planner.problem import load_problem
from planner.solve import solve
from planner.verify import check_plan

EXAMPLES = sorted((ROOT / "problems").glob("*.yaml"))


@pytest.fixture(scope="module")
def solved() -> dict:  # type: ignore[type-arg]
    plans = {}
    for path in EXAMPLES:
        problem, catalog = load_problem(path)
        plans[path.name] = (problem, catalog, solve(problem, catalog, "highs"))
    return plans


def test_there_are_examples() -> None:
    assert len(EXAMPLES) >= 3


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_is_optimal_and_checks(solved, path: Path) -> None:  # type: ignore[no-untyped-def]
    problem, catalog, plan = solved[path.name]
    assert plan.status == "optimal"
    assert plan.gap is not None and plan.gap <= 1e-6
    result = check_plan(problem, catalog, plan)
    assert result.valid, result.violations
    assert result.cost_usd_per_month == pytest.approx(plan.objective_usd_per_month)
    for workload in plan.workloads:
        assert workload.capacity_rps >= workload.rate_rps
        assert workload.why, f"{workload.name} has no explanation"


# Hourly examples take HiGHS tens of seconds and CBC far longer: their solver agreement and
# pruning are checked on the small hourly problems of test_time_and_pools.py instead.
FLAT = [path for path in EXAMPLES if load_problem(path)[0].periods == 1]


@pytest.mark.parametrize("path", FLAT, ids=lambda p: p.name)
def test_cbc_agrees_with_highs(solved, path: Path) -> None:  # type: ignore[no-untyped-def]
    problem, catalog, plan = solved[path.name]
    cbc = solve(problem, catalog, "cbc")
    assert cbc.status == "optimal"
    assert cbc.objective_usd_per_month == pytest.approx(plan.objective_usd_per_month, rel=1e-6)


@pytest.mark.parametrize("path", FLAT, ids=lambda p: p.name)
def test_pruning_keeps_the_optimum(solved, path: Path) -> None:  # type: ignore[no-untyped-def]
    problem, catalog, plan = solved[path.name]
    unpruned = solve(problem, catalog, "highs", prune=False)
    assert unpruned.objective_usd_per_month == pytest.approx(plan.objective_usd_per_month,
                                                             rel=1e-6)
    assert plan.candidates == unpruned.candidates


def test_cli_solve_json_then_check(tmp_path: Path) -> None:
    problem = str(ROOT / "problems" / "quickstart.yaml")
    plan_file = tmp_path / "plan.json"
    result = invoke(["solve", problem, "--format", "json", "-o", str(plan_file)])
    assert result.exit_code == 0, result.output
    data = json.loads(plan_file.read_text())
    assert data["schema_version"] == 1 and data["status"] == "optimal"
    checked = invoke(["check", problem, str(plan_file)])
    assert checked.exit_code == 0 and "valid" in checked.output
    again = invoke(["solve", problem, "--format", "json", "-o", str(plan_file)])
    assert again.exit_code == 1 and "--force" in again.output
    assert json.loads(plan_file.read_text()) == data


def test_json_output_is_deterministic() -> None:
    problem = str(ROOT / "problems" / "rag-platform.yaml")
    first = invoke(["solve", problem, "--format", "json"])
    second = invoke(["solve", problem, "--format", "json"])
    assert first.exit_code == 0
    assert first.stdout == second.stdout


def test_check_rejects_a_tampered_plan(tmp_path: Path) -> None:
    problem = str(ROOT / "problems" / "quickstart.yaml")
    result = invoke(["solve", problem, "--format", "json"])
    data = json.loads(result.stdout)
    data["allocations"][0]["instances"] -= 1
    data["allocations"][0]["cost_usd_per_month"] *= 0.5
    tampered = tmp_path / "tampered.json"
    tampered.write_text(json.dumps(data))
    checked = invoke(["check", problem, str(tampered)])
    assert checked.exit_code == 1
    assert "invalid" in checked.output and "cost" in checked.output
