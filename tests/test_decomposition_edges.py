"""Edge cases of the decomposition (`planner.decompose`, `planner.hourly`, `planner.patterns`)
found by fuzzing the solve path with unusual but valid inputs: each test failed before its
fix."""

from __future__ import annotations

import math
import random
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from test_decompose import every_pattern, random_subproblems

from planner import decompose, patterns
from planner.backends import SolveOptions
from planner.candidates import build_candidates
from planner.patterns import Subproblems, search
from planner.problem import Problem
from planner.pruning import surviving
from planner.solve import extract, solve_in_detail

sys.path.insert(0, str(Path(__file__).parent.parent / "benchmarks"))

from generate import catalog as default_catalog
from generate import generate


def test_pricing_with_a_trailing_subproblem_without_items() -> None:
    """The last subproblem may own no items (an idle hour of a workload holding no replicas):
    dropping dominated items must not index past the last item."""
    problems = Subproblems(start=np.array([0, 2, 2]), demand=np.array([1.0, 0.0]),
                           replicas=np.array([0.0, 0.0]), item_demand=np.array([1.0, 1.0]),
                           item_replicas=np.array([1.0, 1.0]), item_spot=np.array([0.0, 0.0]),
                           upper=np.array([2, 2]))
    found = search(problems, np.array([1.0, 2.0]), "best", keep=np.array([True, False]))
    cheapest = {int(j): float(c) for j, c in zip(found.subproblem, found.cost, strict=True)}
    assert cheapest[0] == 1.0
    assert cheapest.get(1, 0.0) == 0.0


def test_a_deadline_before_the_first_round_still_bounds_the_plan() -> None:
    """With no time for a round of column generation, the first pricing's Lagrangian bound
    stands: the plan's bound is finite (it was -inf, its gap inf: `-Infinity` in the JSON)."""
    problem = generate(10, 1)
    candidates = build_candidates(problem, default_catalog())
    active = surviving(problem, default_catalog(), candidates)
    reduction = decompose.reduce_fleet(problem, default_catalog(), candidates, active,
                                       options=SolveOptions(time_limit_s=1e-6), force=True)
    assert reduction is not None
    assert math.isfinite(reduction.bound)
    assert reduction.bound <= reduction.objective
    assert reduction.gap < 0.1


def test_a_dearer_plan_from_a_later_master_mip_does_not_replace_the_plan_in_hand(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The proof re-solves the master MIP; cut short by the deadline it may end at a dearer
    plan (its repair's) than the one found before, which must stay the answer (on
    `generate(10, 66)` with a 0.4 s limit the plan went from 899,394.88 to 900,562.01)."""
    problem = generate(3, 5)  # proved by a second master MIP
    candidates = build_candidates(problem, default_catalog())
    active = surviving(problem, default_catalog(), candidates)
    original = decompose._master_mip
    plans: list[float] = []

    def dearer_later(*args: Any, **kwargs: Any) -> tuple[float, list[decompose.Column],
                                                          float | None] | None:
        found = original(*args, **kwargs)
        if found is None:
            return None
        plans.append(found[0])
        return found if len(plans) == 1 else (found[0] + 1000.0, found[1], None)

    monkeypatch.setattr(decompose, "_master_mip", dearer_later)
    reduction = decompose.reduce_fleet(problem, default_catalog(), candidates, active,
                                       options=SolveOptions(time_limit_s=30, relative_gap=1e-9),
                                       force=True)
    assert reduction is not None
    assert len(plans) >= 2
    assert reduction.objective == pytest.approx(min(plans), rel=1e-12)


def test_instances_of_a_variant_not_chosen_are_not_in_the_plan() -> None:
    """Instances of a (model, variant) choice not taken meet none of the workload's rows, so a
    plan cut short by the time limit may hold some (`plan check`: "runs several models or
    variants"; seen at 0.5 s on two hourly workloads with min_replicas 12 and 5): they serve
    nothing and are left out of the plan."""
    problem = Problem.model_validate({
        "name": "two-variants", "allow": {"providers": ["aws", "gcp", "azure"]},
        "workloads": [{"name": "chat", "model": "qwen2.5-72b", "rate_rps": 3.33,
                       "tokens": {"prompt": 800, "output": 250},
                       "slo": {"ttft_ms": 3000, "tpot_ms": 100}, "max_spot_share": 0.0,
                       "min_replicas": 5}]})
    catalog = default_catalog()
    solution = solve_in_detail(problem, catalog, options=SolveOptions(time_limit_s=20),
                               explain=False)
    formulation, result = solution.formulation, solution.result
    chosen = {key[2] for key, column in formulation.variant_column.items()
              if result.values[column] > 0.5}
    assert len(chosen) == 1 and len(formulation.variant_column) > 1
    stray = next(column for (index, _), column in sorted(formulation.use_column.items())
                 if solution.candidates.only((index,)).candidates[0].config.variant not in chosen)
    values = list(result.values)
    values[stray] += 1.0  # an instance of another variant, as a time-limited plan may have
    allocations, _ = extract(solution.candidates, (), catalog, formulation,
                             replace(result, values=tuple(values)))
    assert {a.variant for a in allocations} == chosen
    assert sum(a.cost_usd_per_month for a in allocations) == pytest.approx(
        sum(a.cost_usd_per_month for a in solution.plan.allocations))


def test_pricing_past_its_deadline_solves_no_small_mips(monkeypatch: pytest.MonkeyPatch) -> None:
    """Past the deadline, exact pricing settles by a small MIP only a subproblem with no
    pattern found at all (12 hourly workloads of thousands of requests/s made the first
    pricing take 60 s on a 2 s limit): the others keep a pattern with a lower bound, and every
    bound is still one."""
    monkeypatch.setattr(patterns, "BEST_NODES", 3)  # every search gives up
    solved: list[int] = []
    mip_best = patterns._mip_best

    def recorded(problems: Subproblems, weight: np.ndarray, j: int, limit: np.ndarray
                 ) -> patterns.Patterns:
        solved.append(j)
        return mip_best(problems, weight, j, limit)

    monkeypatch.setattr(patterns, "_mip_best", recorded)
    rng = random.Random(11)
    for _ in range(5):
        problems, weight = random_subproblems(rng, 25)
        solved.clear()
        found = search(problems, weight, "best", exact=True, deadline=time.perf_counter() - 1)
        # only a subproblem without a pattern of one item (none found) needs its optimum
        singles = patterns.single_item_cost(problems, np.maximum(weight, 0.0))
        assert all(not np.isfinite(singles[j]) for j in solved)
        lower = found.lower()
        for i, j in enumerate(found.subproblem.tolist()):
            optimum = min(c for c, _ in every_pattern(problems, weight, j))
            assert lower[i] <= optimum * (1 + 1e-9) + 1e-9 <= found.cost[i] * (1 + 2e-9) + 2e-9


def test_no_whole_mip_is_built_after_a_decomposition_that_used_the_limit(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """When the decomposition spends the whole limit without a plan on a large model, `solve`
    reports that no plan was found in time at once, instead of building the whole MIP (34 s
    for 60 weekly workloads on a 3 s limit) for a second of search."""
    import planner.solve as solving

    def slow_and_planless(*args: Any, **kwargs: Any) -> None:
        time.sleep(0.3)

    monkeypatch.setattr(solving, "reduce_fleet", slow_and_planless)
    monkeypatch.setattr(solving, "TOO_LATE_COLUMNS", 0)
    problem = generate(2, seed=1)
    solution = solve_in_detail(problem, default_catalog(),
                               options=SolveOptions(time_limit_s=0.2))
    assert solution.plan.status == "no_solution"
    assert solution.plan.diagnosis == (
        "time limit reached before any plan was found; raise --time-limit",)
    assert not solution.formulation.use_column
    monkeypatch.setattr(solving, "TOO_LATE_COLUMNS", 10**9)  # a small model: the MIP runs
    solution = solve_in_detail(problem, default_catalog(),
                               options=SolveOptions(time_limit_s=0.2))
    assert solution.plan.status in ("optimal", "feasible")


def test_a_repair_s_bound_is_not_passed_on_as_the_master_s(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A repair plans a few workloads with the others fixed: its MIP's bound holds only for
    that choice. When the repair's plan is within the gap and no master MIP follows, the
    master MIP's result carries no bound (it had passed on the repair's, which the proof
    then reported as the fleet's)."""
    problem = generate(3, 5)
    candidates = build_candidates(problem, default_catalog())
    active = surviving(problem, default_catalog(), candidates)
    original = decompose._master_mip
    seen: list[tuple[Any, ...]] = []

    def keep(*args: Any, **kwargs: Any) -> Any:
        seen.append(args[:2])
        return original(*args, **kwargs)

    monkeypatch.setattr(decompose, "_master_mip", keep)
    exact = decompose.reduce_fleet(problem, default_catalog(), candidates, active,
                                   options=SolveOptions(time_limit_s=30, relative_gap=1e-9),
                                   force=True)
    assert exact is not None and seen
    repair = decompose._repair

    def boastful(*args: Any, **kwargs: Any) -> Any:
        found = repair(*args, **kwargs)
        return None if found is None else (found[0], found[1], found[0] + 1.0)

    monkeypatch.setattr(decompose, "_repair", boastful)
    master, pricing = seen[-1]
    found = original(master, pricing, time.perf_counter() + 30, SolveOptions(relative_gap=1e-3),
                     lambda line: None, bound=exact.objective)
    assert found is not None and found[0] <= exact.objective * (1 + 1e-3)
    assert found[2] is None
