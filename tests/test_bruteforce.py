"""The MIP (with pruning) against brute-force enumeration on random tiny problems (seeded;
the generators and the brute force are in `tiny.py`, shared with the property tests)."""

from __future__ import annotations

import math
import random

import pytest

from planner.backends import SolveOptions
from planner.candidates import build_candidates
from planner.solve import solve
from planner.verify import check_plan
from tiny import brute_force, random_catalog, random_problem

CASES = 200


def test_mip_equals_brute_force_on_random_tiny_problems() -> None:
    rng = random.Random(20261126)
    compared = infeasible = 0
    options = SolveOptions(time_limit_s=30)
    while compared < CASES:
        catalog = random_catalog(rng)
        problem = random_problem(rng)
        candidates = build_candidates(problem, catalog)
        expected = brute_force(problem, catalog, candidates)
        if expected is not None and math.isnan(expected):
            continue
        plan = solve(problem, catalog, "highs", options)
        unpruned = solve(problem, catalog, "highs", options, prune=False)
        compared += 1
        if expected is None:
            infeasible += 1
            assert plan.status == "infeasible" and unpruned.status == "infeasible"
            continue
        assert plan.status == "optimal", (problem, plan.diagnosis)
        assert plan.objective_usd_per_month == pytest.approx(expected, rel=1e-6)
        assert unpruned.objective_usd_per_month == pytest.approx(expected, rel=1e-6)
        result = check_plan(problem, catalog, plan)
        assert result.valid, result.violations
    assert 0 < infeasible < CASES // 2


def test_cbc_equals_highs_on_random_tiny_problems() -> None:
    rng = random.Random(7)
    for _ in range(25):
        catalog = random_catalog(rng)
        problem = random_problem(rng)
        highs = solve(problem, catalog, "highs")
        cbc = solve(problem, catalog, "cbc")
        assert highs.status == cbc.status
        if highs.objective_usd_per_month is not None:
            assert cbc.objective_usd_per_month == pytest.approx(highs.objective_usd_per_month)
