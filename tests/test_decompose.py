"""The decomposition for large fleets (`planner.decompose`, `planner.patterns`): its pricing
search against brute force and against a MIP, and its plans against the brute-force optimum
and the full MIP, through `solve()` too (with the size threshold lowered)."""

from __future__ import annotations

import itertools
import math
import random
import sys
from pathlib import Path

import numpy as np
import pytest
from test_time_and_pools import pool_brute_force, time_problem

from planner import decompose, patterns
from planner.backends import SolveOptions, get_backend
from planner.candidates import build_candidates
from planner.formulation import formulate
from planner.patterns import Subproblems, search
from planner.problem import Problem
from planner.pruning import surviving
from planner.solve import solve
from tiny import brute_force, random_catalog, random_document, random_problem

sys.path.insert(0, str(Path(__file__).parent.parent / "benchmarks"))

from generate import catalog as default_catalog
from generate import generate


def random_subproblems(rng: random.Random, count: int) -> tuple[Subproblems, np.ndarray]:
    """Small covering problems like the MIP's: capacity capped at the rate, spot rows for
    limited shares, replicas, some free items."""
    start, demand, replicas, item_demand, item_replicas, item_spot, upper, weight = \
        [0], [], [], [], [], [], [], []
    for _ in range(count):
        rate = rng.choice([0.0, round(rng.uniform(0.5, 30), 2)])
        share = rng.choice([1.0, 0.25, 0.5, 0.0])
        for _ in range(rng.randint(1, 5)):
            capacity = rng.uniform(0.5, 15)
            spot = share > 0 and rng.random() < 0.4
            item_demand.append(min(capacity, rate) if rate > 0 else 0.0)
            item_replicas.append(rng.choice([1, 1, 2]))
            item_spot.append(0.0 if share >= 1 else (capacity * (1 - share) if spot
                                                      else -capacity * share))
            upper.append(rng.randint(1, 4))
            weight.append(round(rng.uniform(0, 100), 1) if rng.random() > 0.1 else 0.0)
        start.append(len(item_demand))
        demand.append(rate)
        replicas.append(rng.randint(0, 3))
    return Subproblems(np.array(start), np.array(demand), np.array(replicas, dtype=float),
                       np.array(item_demand), np.array(item_replicas, dtype=float),
                       np.array(item_spot), np.array(upper)), np.array(weight)


def every_pattern(problems: Subproblems, weight: np.ndarray, j: int
                  ) -> list[tuple[float, tuple[int, ...]]]:
    first, stop = int(problems.start[j]), int(problems.start[j + 1])
    found = []
    for counts in itertools.product(*[range(int(u) + 1) for u in problems.upper[first:stop]]):
        x = np.array(counts)
        if x @ problems.item_demand[first:stop] >= problems.demand[j] - 1e-9 \
                and x @ problems.item_replicas[first:stop] >= problems.replicas[j] \
                and x @ problems.item_spot[first:stop] <= 1e-9:
            found.append((float(x @ weight[first:stop]), counts))
    return found


def as_counts(found: patterns.Patterns, i: int, problems: Subproblems) -> tuple[int, ...]:
    j = int(found.subproblem[i])
    first = int(problems.start[j])
    counts = [0] * int(problems.start[j + 1] - first)
    items, numbers = found.of(i)
    for item, number in zip(items.tolist(), numbers.tolist(), strict=True):
        counts[item - first] = number
    return tuple(counts)


@pytest.mark.parametrize("budget", [patterns.BEST_NODES, 3])
def test_cheapest_pattern_equals_brute_force(budget: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """With a tiny node budget every subproblem goes to the MIP fallback: the same answers
    (the small MIP stops within `SMALL_MIP_GAP`, with a bound no higher than the optimum;
    on these small subproblems it finds the optimum)."""
    monkeypatch.setattr(patterns, "BEST_NODES", budget)
    rng = random.Random(5)
    for _ in range(15):
        problems, weight = random_subproblems(rng, 30)
        found = search(problems, weight, "best")
        cost = {int(j): float(c) for j, c in zip(found.subproblem, found.cost, strict=True)}
        for j in range(problems.count):
            every = every_pattern(problems, weight, j)
            if not every:
                assert j not in cost
                continue
            best = min(c for c, _ in every)
            assert cost[j] == pytest.approx(best, rel=1e-9, abs=1e-9)
            i = int(np.flatnonzero(found.subproblem == j)[0])
            assert found.lower()[i] <= best * (1 + 1e-12) + 1e-9
            assert found.lower()[i] >= best * (1 - 2 * patterns.SMALL_MIP_GAP) - 1e-9
            assert (cost[j], as_counts(found, i, problems)) in [
                (pytest.approx(c, rel=1e-9, abs=1e-9), p) for c, p in every]


def test_patterns_within_a_threshold_are_all_listed() -> None:
    """Every feasible pattern within the threshold that is not a superset of another feasible
    one is listed (supersets cost more and use more of every coupled limit)."""
    rng = random.Random(6)
    for _ in range(10):
        problems, weight = random_subproblems(rng, 25)
        best = search(problems, weight, "best")
        threshold = np.full(problems.count, -1.0)
        threshold[best.subproblem] = best.cost + rng.choice([0.0, 25.0, 80.0])
        found = search(problems, weight, "all", threshold=threshold)
        assert not len(found.incomplete)
        listed = {(int(found.subproblem[i]), as_counts(found, i, problems))
                  for i in range(len(found))}
        for j in range(problems.count):
            every = every_pattern(problems, weight, j)
            feasible = {p for _, p in every}
            for cost, counts in every:
                minimal = not any(q != counts and all(a <= b for a, b in zip(q, counts, strict=True))
                                  for q in feasible)
                if minimal and cost <= threshold[j] - 1e-9:
                    assert (j, counts) in listed


def test_decomposition_equals_brute_force_on_random_tiny_problems() -> None:
    """Quotas, budgets, spot shares, replicas and variant choices (tests/tiny.py)."""
    rng = random.Random(20261127)
    compared = 0
    while compared < 60:
        catalog = random_catalog(rng)
        problem = random_problem(rng)
        candidates = build_candidates(problem, catalog)
        expected = brute_force(problem, catalog, candidates)
        if expected is None or math.isnan(expected):
            continue
        active = surviving(problem, catalog, candidates)
        reduction = decompose.reduce_fleet(problem, catalog, candidates, active, force=True,
                                           options=SolveOptions(time_limit_s=30, relative_gap=1e-9))
        assert reduction is not None
        assert reduction.objective == pytest.approx(expected, rel=1e-6)
        assert reduction.bound <= reduction.objective
        compared += 1


def test_solve_through_the_decomposition_equals_brute_force(monkeypatch: pytest.MonkeyPatch
                                                            ) -> None:
    """The whole pipeline with every fleet decomposed: the same optimum, a checked plan."""
    monkeypatch.setattr(decompose, "LARGE_FLEET", 1)
    rng = random.Random(314)
    compared = infeasible = 0
    while compared < 40:
        catalog = random_catalog(rng)
        problem = random_problem(rng)
        expected = brute_force(problem, catalog, build_candidates(problem, catalog))
        if expected is not None and math.isnan(expected):
            continue
        plan = solve(problem, catalog, "highs", SolveOptions(time_limit_s=30))
        compared += 1
        if expected is None:
            infeasible += 1
            assert plan.status == "infeasible"
            continue
        assert plan.status == "optimal", plan.diagnosis
        assert plan.objective_usd_per_month == pytest.approx(expected, rel=1e-6)
    assert 0 < infeasible < compared


def test_decomposition_matches_the_full_mip_on_a_generated_fleet() -> None:
    """A realistic fleet (default catalog, binding quotas, reserved pools): the plan is within
    the gap of the full MIP's optimum, and the bound is below it."""
    problem = generate(8, seed=3)
    catalog = default_catalog()
    candidates = build_candidates(problem, catalog)
    active = surviving(problem, catalog, candidates)
    options = SolveOptions(time_limit_s=120, relative_gap=1e-6)
    full = get_backend("highs").solve(
        formulate(problem, catalog, candidates.only(active), active).model, options)
    assert full.status.value == "optimal" and full.objective is not None
    reduction = decompose.reduce_fleet(problem, catalog, candidates, active, force=True,
                                       options=SolveOptions(time_limit_s=120, relative_gap=1e-4))
    assert reduction is not None
    assert reduction.bound <= full.objective * (1 + 1e-9)
    assert reduction.objective >= full.objective * (1 - 1e-9)
    assert reduction.objective <= full.objective * (1 + 1e-4) + 1e-6


@pytest.mark.parametrize("seed", [0, 4])
def test_decomposition_stops_at_a_plan_within_the_gap(seed: int) -> None:
    """With a loose gap, column generation stops at the first plan repaired from its LP that
    is within the gap of its bound (no master MIP): the bound is still below the optimum and
    the plan within the gap of it."""
    problem = generate(8, seed=seed)
    catalog = default_catalog()
    candidates = build_candidates(problem, catalog)
    active = surviving(problem, catalog, candidates)
    full = get_backend("highs").solve(
        formulate(problem, catalog, candidates.only(active), active).model,
        SolveOptions(time_limit_s=120, relative_gap=1e-6))
    assert full.status.value == "optimal" and full.objective is not None
    said: list[str] = []
    reduction = decompose.reduce_fleet(problem, catalog, candidates, active, force=True,
                                       options=SolveOptions(time_limit_s=120, relative_gap=1e-2),
                                       progress=said.append)
    assert reduction is not None
    assert not any("master MIP" in line for line in said)  # stopped in the rounds
    assert reduction.gap <= 1e-2
    assert reduction.bound <= full.objective * (1 + 1e-9)
    assert full.objective * (1 - 1e-9) <= reduction.objective <= full.objective * (1 + 1e-2)


def test_search_up_to_a_ceiling_bounds_what_it_does_not_find() -> None:
    """A subproblem whose optimum is within its ceiling gets it; one whose optimum is above
    keeps its incumbent, with a lower bound between the ceiling and the optimum."""
    rng = random.Random(8)
    for _ in range(15):
        problems, weight = random_subproblems(rng, 30)
        _, incumbent = patterns.single_item_patterns(problems, weight)
        optimum = np.full(problems.count, np.inf)
        for j in range(problems.count):
            optimum[j] = min((c for c, _ in every_pattern(problems, weight, j)), default=np.inf)
        ceiling = optimum * np.array([rng.choice([0.5, 0.9, 1.0, 1.5]) for _ in optimum])
        for exact in (True, False):
            found = search(problems, weight, "best", incumbent=incumbent, exact=exact,
                           ceiling=ceiling)
            lower = found.lower()
            for i, j in enumerate(found.subproblem.tolist()):
                assert lower[i] <= optimum[j] * (1 + 1e-9) + 1e-9
                if found.cost[i] > optimum[j] * (1 + 1e-9) + 1e-9:  # only bounded
                    assert not exact or lower[i] >= ceiling[j] * (1 - 1e-9) - 1e-9
                    assert optimum[j] > ceiling[j] * (1 - 1e-9) - 1e-9 or not exact
            assert set(found.subproblem.tolist()) == set(np.flatnonzero(np.isfinite(optimum)))


def test_pricing_up_to_the_workloads_cheapest_keeps_the_bound() -> None:
    """Pricing every pair only up to its workload's cheapest pattern (the ceiling column
    generation passes) gives the same Lagrangian bound and the same cheapest patterns."""
    problem = generate(60, seed=2)
    catalog = default_catalog()
    candidates = build_candidates(problem, catalog)
    active = surviving(problem, catalog, candidates)
    fleet = decompose.fleet_of(problem, catalog, candidates, active)
    structure = decompose.structure_of(problem, catalog, fleet)
    pricing = decompose.pricing_of(fleet, structure)
    rng = np.random.default_rng(1)
    duals = np.zeros(len(structure.rows.upper))
    duals[structure.quota_rows.ravel()] = -rng.uniform(0, 300, structure.quota_rows.size)
    pools = structure.pool_rows[structure.pool_rows >= 0]
    duals[pools] = -rng.uniform(0, 2000, len(pools))
    exact = decompose.price(structure, pricing, duals)
    ceiling = exact.best[pricing.pair_workload] * (1 + 1e-7)
    start = decompose.one_item_patterns(structure, pricing, duals)
    capped = decompose.price(structure, pricing, duals, start, True, ceiling)
    assert capped.bound == pytest.approx(exact.bound, rel=1e-9)
    assert capped.best == pytest.approx(exact.best, rel=1e-9)
    first = decompose.cheapest_patterns(structure, pricing, duals)
    assert first.best == pytest.approx(exact.best, rel=1e-9)


def hourly_problem(rng: random.Random) -> Problem:
    """A tiny random problem (tests/tiny.py) whose workloads peak for some hours of the day
    and run at 10-70 % of the peak otherwise: 24 periods, reserved pools across them."""
    document = random_document(rng)
    for workload in document["workloads"]:
        peak = workload.pop("rate_rps")
        low = round(peak * rng.uniform(0.1, 0.7), 2)
        start, end = sorted(rng.sample(range(25), 2))
        workload["profile_rps"] = [peak if start <= hour < end else low for hour in range(24)]
    return Problem.model_validate(document)


def test_hourly_decomposition_equals_the_full_mip_on_random_tiny_problems() -> None:
    """Per-period covers, shared pools, quotas per hour, budgets, variant choices: the same
    optimum as the full MIP solved to a gap of 1e-9, and proven."""
    rng = random.Random(7)
    compared = 0
    while compared < 40:
        catalog = random_catalog(rng)
        problem = hourly_problem(rng)
        candidates = build_candidates(problem, catalog)
        if not candidates.candidates:
            continue
        active = surviving(problem, catalog, candidates)
        options = SolveOptions(time_limit_s=30, relative_gap=1e-9)
        full = get_backend("highs").solve(
            formulate(problem, catalog, candidates.only(active), active).model, options)
        if full.status.value != "optimal" or full.objective is None:
            continue
        assert problem.periods == 24
        reduction = decompose.reduce_fleet(problem, catalog, candidates, active, force=True,
                                           options=options)
        assert reduction is not None
        assert reduction.objective == pytest.approx(full.objective, rel=1e-6)
        assert reduction.bound == pytest.approx(full.objective, rel=1e-6)
        compared += 1


@pytest.mark.parametrize("seed", range(4))
def test_pool_size_through_the_decomposition_matches_brute_force(
        solve_document, seed: int, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """One workload, one offer over a day (tests/test_time_and_pools.py), decomposed: the
    pool size and on-demand rest of every pool size tried."""
    monkeypatch.setattr(decompose, "LARGE_FLEET", 1)
    rng = random.Random(seed)
    needs = [rng.choice([0, 1, 1, 2, 3, 4]) for _ in range(24)]
    needs[0] = max(needs[0], 1)
    document = time_problem(["on_demand", "reserved_1y"],
                            workload={"profile_rps": [8.0 * n for n in needs]})
    del document["workloads"][0]["rate_rps"]
    _, _, plan = solve_document(document)
    assert plan.status == "optimal"
    assert plan.objective_usd_per_month == pytest.approx(pool_brute_force(needs, 1.0, 438))


def test_hourly_fleets_are_decomposed() -> None:
    """Large fleets with 24-hour demand go to the decomposition over periods, and so do smaller
    ones whose whole MIP would be large; flat ones only from `LARGE_FLEET` workloads."""
    assert decompose.applies(generate(60, seed=1, hourly=True))
    assert not decompose.applies(generate(10, seed=1, hourly=True))
    assert decompose.applies(generate(10, seed=1, hourly=True), columns=decompose.HOURLY_COLUMNS)
    assert not decompose.applies(generate(10, seed=1), columns=decompose.HOURLY_COLUMNS)


def test_a_small_fleet_whose_whole_mip_is_large_is_decomposed_by_solve(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Three hourly workloads (11,000 instance columns, which the whole MIP needs about 40 s
    to prove) go to the decomposition over periods; one (1,000) does not."""
    import planner.hourly

    class Decomposed(Exception):
        pass

    def decompose_periods(*args: object) -> None:
        raise Decomposed

    monkeypatch.setattr(planner.hourly, "decompose_periods", decompose_periods)
    with pytest.raises(Decomposed):
        solve(generate(3, seed=0, hourly=True), default_catalog())
    plan = solve(generate(1, seed=0, hourly=True), default_catalog(), explain=False)
    assert plan.status == "optimal"


@pytest.mark.parametrize(("workloads", "seed", "full_seconds"), [(2, 1, 30), (3, 5, 5)])
def test_hourly_decomposition_on_a_generated_fleet(workloads: int, seed: int,
                                                   full_seconds: float) -> None:
    """Small realistic hourly fleets (default catalog, shared reserved pools, quotas and a
    budget): proven optimal; the full MIP proves the same optimum (2 workloads, under a
    second) or, in a few seconds, finds no cheaper plan and a bound below it (3 workloads:
    it needed more than 10 s to find the plan and could not prove it)."""
    problem = generate(workloads, seed=seed, hourly=True)
    catalog = default_catalog()
    candidates = build_candidates(problem, catalog)
    active = surviving(problem, catalog, candidates)
    reduction = decompose.reduce_fleet(problem, catalog, candidates, active, force=True,
                                       options=SolveOptions(time_limit_s=60, relative_gap=1e-6))
    assert reduction is not None
    assert reduction.gap <= 1e-6
    full = get_backend("highs").solve(
        formulate(problem, catalog, candidates.only(active), active).model,
        SolveOptions(time_limit_s=full_seconds, relative_gap=1e-9))
    if full.status.value == "optimal":
        assert full.objective == pytest.approx(reduction.objective, rel=1e-6)
    assert full.objective is None or full.objective >= reduction.objective * (1 - 1e-6)
    assert full.bound is None or full.bound <= reduction.objective * (1 + 1e-6)


def test_sparse_model_takes_entries_in_any_order() -> None:
    """`_SparseModel` keeps its entries flat and sorts them by row once, at the solve: columns
    with rows out of order and entries added afterwards give the MIP's known optimum
    (x <= 2 whole, x + y >= 3.5: x = 2 and y = 2 at 1 and 2 each: 6)."""
    model = decompose._SparseModel(2)
    x = model.column(1.0, 0.0, 10.0, True, [1, 0], [1.0, 1.0])
    y = model.column(2.0, 0.0, 10.0, True, [], [])
    model.entry(0, y, 1.0)
    solved = model.solve([3.5, -math.inf], [math.inf, 2.0], math.inf,
                         SolveOptions(time_limit_s=10, relative_gap=1e-9))
    assert solved is not None
    cost, values, bound = solved
    assert cost == pytest.approx(6.0)
    assert values[[x, y]] == pytest.approx([2.0, 2.0])
    assert bound is not None and bound <= cost + 1e-9
    with pytest.raises(ValueError, match="rows but"):
        model.column(1.0, 0.0, 1.0, False, [0], [1.0, 2.0])


def test_the_small_mip_stops_near_the_optimum_of_near_equal_items() -> None:
    """A subproblem from column generation on `generate(100, 0, hourly=True)`: 37.28 req/s
    over 17 kinds of instance whose costs per req/s are nearly equal (HiGHS at gap 0 takes
    3.3 s and 18,000 nodes to prove the optimum, 15,002.739084). The small MIP stops within
    `SMALL_MIP_GAP` of it and bounds it from below."""
    demand = np.array([0.4311769929365193, 0.4311769929365193, 0.5274296640022298,
                       0.5274296640022298, 0.9111095432571061, 3.3062617708598063,
                       3.736495714658216, 1.0375746456883168, 0.41951642053780563,
                       1.5949429632524064, 1.5949429632524064, 0.4915949427055443,
                       0.4915949427055443, 0.17640582015628606, 0.381104291683016,
                       1.037694126267535, 1.3125134460346057])
    weight = np.array([403.184703125, 173.52055896111713, 665.0753208333333,
                       212.25591761193854, 424.6373119791665, 1330.555081944444,
                       1507.5802255787034, 435.08315572916666, 168.82769525168442, 657.0,
                       641.8580995370297, 424.61666666666673, 246.65190572916666, 145.0875,
                       193.45, 435.08315572916655, 580.1108743055554])
    k = len(demand)
    problems = Subproblems(start=np.array([0, k]), demand=np.array([37.28]),
                           replicas=np.array([2.0]), item_demand=demand,
                           item_replicas=np.ones(k), item_spot=np.zeros(k),
                           upper=np.array([39, 39, 29, 29, 41, 12, 10, 36, 89, 24, 24, 76, 76,
                                           212, 98, 36, 29]))
    optimum = 15002.739084196439
    found = patterns._mip_best(problems, weight, 0, np.array([np.inf]))
    items, counts = found.of(0)
    assert float(demand[items] @ counts) >= 37.28 - 1e-9
    assert float(weight[items] @ counts) == pytest.approx(found.cost[0], rel=1e-12)
    assert optimum <= found.cost[0] <= optimum * (1 + patterns.SMALL_MIP_GAP)
    assert optimum * (1 - patterns.SMALL_MIP_GAP) <= found.lower()[0] <= optimum
