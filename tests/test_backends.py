"""Every backend in `SOLVERS` against HiGHS: the shipped examples, random tiny problems and
a hand-made infeasible model."""

from __future__ import annotations

import random
from functools import cache
from pathlib import Path

import pytest

from planner.backends import SOLVERS, SolveOptions, Status, get_backend
from planner.linear import LinearModel
from planner.problem import load_problem
from planner.solve import solve
from test_bruteforce import random_catalog, random_problem

EXAMPLES = sorted((Path(__file__).parent.parent / "problems").glob("*.yaml"))
RANDOM_CASES = 30
OTHERS = [s for s in SOLVERS if s != "highs"]


@cache
def highs_optimum(example: Path) -> float:
    problem, catalog = load_problem(example)
    objective = solve(problem, catalog, "highs").objective_usd_per_month
    assert objective is not None
    return objective


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_every_backend_solves_every_example_to_the_highs_optimum(example: Path, solver: str
                                                                 ) -> None:
    problem, catalog = load_problem(example)
    plan = solve(problem, catalog, solver)
    assert plan.status == "optimal"
    assert plan.solver == solver
    assert plan.objective_usd_per_month == pytest.approx(highs_optimum(example), rel=1e-6)
    assert plan.bound_usd_per_month is not None and plan.objective_usd_per_month is not None
    assert plan.bound_usd_per_month <= plan.objective_usd_per_month * (1 + 1e-9)


@pytest.mark.parametrize("solver", OTHERS)
def test_every_backend_equals_highs_on_random_tiny_problems(solver: str) -> None:
    rng = random.Random(20260501)
    statuses = set()
    for _ in range(RANDOM_CASES):
        catalog = random_catalog(rng)
        problem = random_problem(rng)
        reference = solve(problem, catalog, "highs")
        plan = solve(problem, catalog, solver)
        assert plan.status == reference.status, problem
        statuses.add(plan.status)
        if reference.objective_usd_per_month is not None:
            assert plan.objective_usd_per_month == pytest.approx(
                reference.objective_usd_per_month, rel=1e-6), problem
    assert statuses == {"optimal", "infeasible"}


def infeasible_model() -> LinearModel:
    """x + y >= 5 with x, y integer in [0, 2]."""
    model = LinearModel()
    model.add_group("demand", "test")
    x = model.add_variable("x", 0, 2, True, 1.0)
    y = model.add_variable("y", 0, 2, True, 2.5)
    model.add_row("demand", "demand[x+y]", {x: 1.0, y: 1.0}, lower=5.0)
    return model


@pytest.mark.parametrize("solver", SOLVERS)
def test_every_backend_reports_infeasible(solver: str) -> None:
    result = get_backend(solver).solve(infeasible_model(), SolveOptions(time_limit_s=10))
    assert result.status is Status.infeasible
    assert result.objective is None and result.values == ()


@pytest.mark.parametrize("solver", SOLVERS)
def test_every_backend_solves_a_fractional_model(solver: str) -> None:
    """Inexact coefficients (CP-SAT's rounded path): 3 x 2.3333 >= 7 within tolerance."""
    model = LinearModel()
    model.add_group("demand", "test")
    x = model.add_variable("x", 0, 10, True, 1.37)
    y = model.add_variable("y", 0, 10, True, 0.7 * 1.37)
    model.add_row("demand", "demand", {x: 7 / 3, y: 0.7 * 7 / 3}, lower=7.0)
    model.add_row("demand", "share", {x: (7 / 3) * 0.8, y: -(7 / 3) * 0.2}, upper=0.0)
    result = get_backend(solver).solve(model, SolveOptions(time_limit_s=10))
    assert result.status is Status.optimal
    reference = get_backend("highs").solve(model, SolveOptions(time_limit_s=10))
    assert result.objective == pytest.approx(reference.objective, rel=1e-9)


def test_cpsat_rejects_continuous_variables() -> None:
    model = LinearModel()
    model.add_group("demand", "test")
    model.add_variable("x", 0, 2, False, 1.0)
    with pytest.warns(RuntimeWarning, match="continuous"):
        result = get_backend("cpsat").solve(model, SolveOptions())
    assert result.status is Status.error
