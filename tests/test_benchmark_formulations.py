"""The formulations the benchmarks compare against (`benchmarks/naive.py`,
`benchmarks/melange.py`) are solved right: the naive MIP against brute force on tiny problems,
Melange's ILP against an enumeration of its slice assignments."""

from __future__ import annotations

import itertools
import math
import random
import sys
from pathlib import Path

import pytest

from planner.backends import SolveOptions, get_backend
from planner.candidates import build_candidates
from planner.solve import solve
from tiny import brute_force, random_catalog, random_problem

sys.path.insert(0, str(Path(__file__).parent.parent / "benchmarks"))

from melange import Instance, melange_model
from naive import MAX_CONFIGURATIONS, naive_model

OPTIONS = SolveOptions(time_limit_s=30, relative_gap=1e-9)


def test_naive_formulation_is_a_restriction_equal_to_brute_force_when_it_does_not_bind() -> None:
    """Never below the optimum; equal to it whenever the optimal plan found uses at most two
    configurations per workload (that plan is then feasible for the naive MIP)."""
    rng = random.Random(77)
    compared = equal = 0
    while compared < 40:
        catalog = random_catalog(rng)
        problem = random_problem(rng)
        candidates = build_candidates(problem, catalog)
        expected = brute_force(problem, catalog, candidates)
        if expected is not None and math.isnan(expected):
            continue
        compared += 1
        result = get_backend("highs").solve(naive_model(problem, catalog, candidates), OPTIONS)
        if expected is None:
            assert result.objective is None
            continue
        plan = solve(problem, catalog, "highs", OPTIONS, explain=False)
        assert plan.objective_usd_per_month == pytest.approx(expected, rel=1e-6)
        within = all(sum(1 for a in plan.allocations if a.workload == w.name)
                     <= MAX_CONFIGURATIONS for w in problem.workloads)
        if result.objective is None:
            assert not within
            continue
        assert result.objective >= expected * (1 - 1e-6) - 1e-6
        if within:
            assert result.objective == pytest.approx(expected, rel=1e-6, abs=1e-6)
            equal += 1
    assert equal >= 20


def melange_by_enumeration(data: Instance, slices: int) -> float | None:
    """Every assignment of every slice to a GPU type; each type's count is its load rounded
    up."""
    keys = sorted(data.price_usd_per_month)
    parts = [(bucket, rate / slices) for bucket, rate in sorted(data.rates.items())
             for _ in range(slices)]
    best: float | None = None
    for assignment in itertools.product(keys, repeat=len(parts)):
        load = dict.fromkeys(keys, 0.0)
        for (bucket, rate), key in zip(parts, assignment, strict=True):
            throughput = data.throughput.get((bucket, key), 0.0)
            if throughput <= 0:
                break
            load[key] += rate / throughput
        else:
            cost = sum(math.ceil(load[key] - 1e-9) * data.price_usd_per_month[key]
                       for key in keys)
            best = cost if best is None else min(best, cost)
    return best


@pytest.mark.parametrize("seed", range(8))
def test_melange_ilp_equals_enumeration(seed: int) -> None:
    rng = random.Random(seed)
    keys = ("g1", "g2", "g3")
    buckets = ("a", "b", "c")[:rng.randint(1, 3)]
    data = Instance(
        rates={b: round(rng.uniform(0.2, 9), 2) for b in buckets},
        throughput={(b, k): rng.choice([0.0, round(rng.uniform(0.5, 6), 2)])
                    for b in buckets for k in keys},
        price_usd_per_month={k: round(rng.uniform(200, 3000), 2) for k in keys})
    slices = 2
    expected = melange_by_enumeration(data, slices)
    result = get_backend("highs").solve(melange_model(data, slices), OPTIONS)
    if expected is None:
        assert result.objective is None
    else:
        assert result.objective == pytest.approx(expected, rel=1e-9)


def test_generated_weekly_fleets_repeat_each_day_with_quieter_weekends() -> None:
    """`generate(..., weekly=True)`: the same workloads as the hourly fleet, each a 168-value
    profile whose weekdays are its day and whose weekend days are that day scaled down."""
    from generate import generate

    hourly = generate(6, seed=3, hourly=True)
    weekly = generate(6, seed=3, weekly=True)
    assert weekly.periods == 168
    for day, week in zip(hourly.workloads, weekly.workloads, strict=True):
        assert week.name == day.name
        profile = week.rates(168)
        base = day.rates(24)
        for d in range(5):
            assert profile[24 * d:24 * d + 24] == pytest.approx(base, abs=1e-3)
        scale = profile[5 * 24] / base[0]
        assert 0.4 - 1e-2 <= scale <= 0.8 + 1e-2
        assert profile[5 * 24:] == pytest.approx([r * scale for r in base] * 2, rel=2e-2,
                                                 abs=2e-3)
