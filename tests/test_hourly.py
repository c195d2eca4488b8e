"""Planning hour by hour in the decomposition over periods (`planner.hourly`): with the pool
sizes and variants fixed, each period's plan is the whole MIP's (with them fixed) optimum;
planning again from a plan never makes it dearer; hours of equal demand share one plan; and
every plan the decomposition returns is one the full formulation accepts at its cost.

The decomposition's answers against the full MIP are in tests/test_decompose.py."""

from __future__ import annotations

import math
import random
import sys
import time
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from test_decompose import hourly_problem

from planner import decompose, hourly
from planner.backends import SolveOptions, get_backend
from planner.candidates import build_candidates
from planner.catalog import Catalog
from planner.formulation import formulate, pool_key
from planner.problem import Problem
from planner.pruning import surviving
from tiny import random_catalog

sys.path.insert(0, str(Path(__file__).parent.parent / "benchmarks"))

from generate import catalog as default_catalog
from generate import generate

OPTIONS = SolveOptions(time_limit_s=30, relative_gap=1e-9)


def generated(master: hourly.CoverMaster, options: SolveOptions
              ) -> tuple[hourly.CoverMaster, decompose.Priced]:
    """The master after column generation, and the round with the best bound."""
    priced = hourly._first_covers(master)
    assert priced is not None
    final, _ = hourly._generate(master, priced, time.perf_counter() + 30, options, print)
    return master, final


def master_of(problem: Problem, catalog: Catalog) -> tuple[hourly.CoverMaster, tuple[int, ...]]:
    """The cover master of a problem's (surviving) candidates, before column generation."""
    candidates = build_candidates(problem, catalog)
    active = surviving(problem, catalog, candidates)
    fleet = decompose.fleet_of(problem, catalog, candidates, active)
    structure = decompose.structure_of(problem, catalog, fleet)
    master = hourly.CoverMaster(structure, decompose.pricing_of(fleet, structure))
    master.add_fixed()
    master.add_choices()
    return master, active


def fixed_optimum(problem: Problem, catalog: Catalog, master: hourly.CoverMaster,
                  fixing: hourly.Fixing) -> float | None:
    """The full MIP's optimum with only the fixed variants' candidates and the pools at the
    fixed sizes (None when it has no plan)."""
    structure, fleet = master.structure, master.structure.fleet
    variant = {i: v for i, v in (master.pricing.pairs[pair] for pair in fixing.pairs.tolist())}
    chosen = tuple(sorted(int(fleet.index[k]) for k in range(len(fleet.index))
                          if variant[int(fleet.workload[k])] == int(fleet.variant[k])))
    candidates = build_candidates(problem, catalog)
    formulation = formulate(problem, catalog, candidates.only(chosen), chosen)
    model = replace(formulation.model, lower=list(formulation.model.lower),
                    upper=list(formulation.model.upper))
    for number, offer in enumerate(structure.pool_offer):
        column = formulation.pool_column.get(pool_key(offer, structure.pool_mode[number]))
        if column is not None:
            model.lower[column] = model.upper[column] = float(fixing.pools[number])
        else:
            assert fixing.pools[number] == 0
    result = get_backend("highs").solve(model, OPTIONS)
    return None if result.objective is None or result.status.value == "infeasible" \
        else result.objective


def test_each_period_solved_is_the_mip_with_pool_sizes_and_variants_fixed() -> None:
    """Tiny random 24-hour problems (no variant preparation): the periods planned one by one
    cost, with the pool fees, what the full MIP restricted to the same variants and pool
    sizes costs at best."""
    rng = random.Random(11)
    compared = 0
    while compared < 12:
        catalog = random_catalog(rng)
        problem = hourly_problem(rng)
        if not build_candidates(problem, catalog).candidates:
            continue
        master, _ = master_of(problem, catalog)
        if master.structure.prepare_keys or not master.pricing.pairs:
            continue
        master, final = generated(master, OPTIONS)
        fixing = hourly._dive(master, time.perf_counter() + 30)
        cost, covers = hourly._plan_by_periods(master, final, fixing,
                                               time.perf_counter() + 30, OPTIONS, print)
        expected = fixed_optimum(problem, catalog, master, fixing)
        if expected is None:
            continue  # the dive's pool sizes admit no whole plan
        assert cost is not None
        periods = sum(cover.cost for cover in covers) + float(
            master.structure.pool_fee @ fixing.pools)
        assert periods == pytest.approx(expected, rel=1e-6, abs=1e-6)
        assert cost <= periods * (1 + 1e-9) + 1e-9  # priced with each pool at its busiest hour
        compared += 1


@pytest.fixture(scope="module")
def fleet_master() -> tuple[hourly.CoverMaster, decompose.Priced]:
    """A small realistic hourly fleet (shared reserved pools, binding quotas, a budget) after
    column generation."""
    master, _ = master_of(generate(6, seed=2, hourly=True), default_catalog())
    return generated(master, SolveOptions(time_limit_s=60, relative_gap=1e-4))


def test_planning_again_from_a_plan_never_makes_it_dearer(
        fleet_master: tuple[hourly.CoverMaster, decompose.Priced]) -> None:
    """The master MIP's plan, its pool sizes and variants fixed and each period planned from
    its part of that plan: no dearer, and each period's plan within its limits."""
    master, final = fleet_master
    options = SolveOptions(time_limit_s=60, relative_gap=1e-4)
    solved = hourly._master_mip(master, time.perf_counter() + 20, -math.inf, options, print)
    assert solved is not None
    upper, plan, _ = solved
    fixing = hourly._fixing_of(master, plan)
    cost, covers = hourly._plan_by_periods(master, final, fixing, time.perf_counter() + 30,
                                           options, print, plan)
    assert cost is not None
    assert cost <= upper * (1 + 1e-9)
    for number in range(master.structure.fleet.periods):
        period = hourly._period_of(master, number, fixing)
        use = np.zeros(len(master.structure.rows.upper))
        for cover in covers:
            use[list(cover.rows)] += cover.values
        assert (use[period.rows] <= period.limits + 1e-6).all()


def test_planning_again_past_the_deadline_keeps_the_plan(
        fleet_master: tuple[hourly.CoverMaster, decompose.Priced]) -> None:
    """Planning period by period from a plan, with the deadline already past: no period is
    started (each keeps its part of the plan), nothing is priced again, and it returns at
    once; before the deadline, the same call plans the periods."""
    master, final = fleet_master
    options = SolveOptions(time_limit_s=60, relative_gap=1e-4)
    solved = hourly._master_mip(master, time.perf_counter() + 20, -math.inf, options, print)
    assert solved is not None
    plan = solved[1]
    fixing = hourly._fixing_of(master, plan)
    clock = time.perf_counter()
    cost, covers = hourly._plan_by_periods(master, final, fixing, clock - 1.0, options, print,
                                           plan)
    assert cost is None
    assert sorted(map(master.position_of, covers)) == sorted(map(master.position_of, plan))
    assert time.perf_counter() - clock < 1.0


def test_column_generation_starts_no_round_it_cannot_finish(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A round that would end past the deadline at the last round's pace is not started: with
    pricing taking 10 s (a clock of our own) and 15 s to go, one round, not two ending 5 s
    late."""
    master, _ = master_of(generate(6, seed=2, hourly=True), default_catalog())
    priced = hourly._first_covers(master)
    assert priced is not None
    now = [0.0]

    def slow_price(*args: object, **kwargs: object) -> decompose.Priced:
        now[0] += 10.0
        return decompose.price(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(hourly, "time", SimpleNamespace(perf_counter=lambda: now[0]))
    monkeypatch.setattr(hourly, "price", slow_price)
    _, rounds = hourly._generate(master, priced, 15.0, OPTIONS, print)
    assert rounds == 1
    assert now[0] <= 15.0


def test_hours_of_equal_demand_are_planned_once(
        fleet_master: tuple[hourly.CoverMaster, decompose.Priced]) -> None:
    """Diurnal demand is symmetric about its 04:00 trough: 03:00 and 05:00 are one planned
    period standing for both, 04:00 one of its own; every hour is in exactly one."""
    master, _ = fleet_master
    fleet = master.structure.fleet
    group = {member: number for number, members in enumerate(fleet.members)
             for member in members}
    assert sorted(group) == list(range(24))
    assert sum(len(members) for members in fleet.members) == 24
    assert group[3] == group[5] != group[4]
    assert fleet.weight[group[3]] == len(fleet.members[group[3]]) >= 2
    rates = np.array([w.rates(24) for w in fleet.workloads])
    for number, members in enumerate(fleet.members):
        for member in members:
            assert np.array_equal(rates[:, member], fleet.rates[:, number])
    assert len({rates[:, m[0]].tobytes() for m in fleet.members}) == fleet.periods


def test_periods_without_time_of_their_own_still_get_a_plan(
        fleet_master: tuple[hourly.CoverMaster, decompose.Priced]) -> None:
    """Planning period by period from the dive with the deadline already past and no plan to
    keep: each period gets a quick plan (a MIP over a few covers), so there is a whole plan
    within every period's limits, priced by the master MIP, with no period's bound claimed.
    (It had no plan: on 60 workloads x 168 h a 30 s limit ended without one.)"""
    master, final = fleet_master
    options = SolveOptions(time_limit_s=60, relative_gap=1e-4)
    fixing = hourly._dive(master, time.perf_counter() + 10)
    said: list[str] = []
    cost, covers = hourly._plan_by_periods(master, final, fixing, time.perf_counter() - 1.0,
                                           options, said.append)
    assert cost is not None
    assert "0 of" in said[0] and "at least -inf" in said[0]
    periods = master.structure.fleet.periods
    assert sorted(cover.sub % periods for cover in covers) == sorted(
        number for number in range(periods) for _ in fixing.pairs)
    use = np.zeros(len(master.structure.rows.upper))
    for cover in covers:
        use[list(cover.rows)] += cover.values
    for number in range(periods):
        period = hourly._period_of(master, number, fixing)
        assert (use[period.rows] <= period.limits + 1e-6).all()
    busiest = hourly._fixing_of(master, covers).pools  # each pool at its busiest hour
    least = sum(cover.cost for cover in covers) + float(master.structure.pool_fee @ busiest)
    assert least - 1e-6 <= cost <= least + float(master.structure.prepare_cost.sum()) + 1e-6


def test_decomposed_plans_are_accepted_by_the_formulation() -> None:
    """A generated hourly fleet through `reduce_fleet` in a few seconds: the plan, its
    instance counts fixed in the full formulation, costs what the decomposition says, and
    the bound is below it."""
    problem = generate(5, seed=4, hourly=True)
    catalog = default_catalog()
    candidates = build_candidates(problem, catalog)
    active = surviving(problem, catalog, candidates)
    options = SolveOptions(time_limit_s=5, relative_gap=1e-4)
    reduction = decompose.reduce_fleet(problem, catalog, candidates, active, options=options,
                                       force=True)
    assert reduction is not None
    formulation = formulate(problem, catalog, candidates.only(reduction.active),
                            reduction.active)
    result = reduction.solve(formulation, get_backend("highs").solve, options)
    assert result.objective == pytest.approx(reduction.objective, rel=1e-6)
    assert reduction.bound <= reduction.objective * (1 + 1e-9)


def test_a_plan_without_a_bound_of_its_own_is_reported(
        fleet_master: tuple[hourly.CoverMaster, decompose.Priced],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """HiGHS can stop with a plan but no bound of its own (at the deadline, or at the target
    before its root LP): the master MIP reports "none yet" and counts it as -inf, instead of
    failing to format it (a crash on `generate(100, 0, hourly)` without reserved pricing)."""
    master, _ = fleet_master
    monkeypatch.setattr(hourly, "_cover_mip", lambda *args, **kwargs: (123.0, [], None))
    said: list[str] = []
    solved = hourly._master_mip(master, time.perf_counter() + 20, -math.inf, OPTIONS,
                                said.append)
    assert solved == (123.0, [], -math.inf)
    assert said and "its own bound none yet" in said[0]


def test_the_dive_past_its_deadline_rounds_the_pools_to_nearest(
        fleet_master: tuple[hourly.CoverMaster, decompose.Priced]) -> None:
    """With its deadline already past, the dive re-solves nothing: the master LP's pool sizes
    rounded to nearest, whole, at once, and the master's LP as it was left (no time limit,
    the pools' bounds released); with time, the dive's own (whole too)."""
    master, _ = fleet_master
    values = master.solve_lp()[3]
    clock = time.perf_counter()
    rushed = hourly._dive(master, clock - 1.0)
    assert time.perf_counter() - clock < 1.0
    assert (rushed.pools == np.round(values[master.pool_columns])).all()
    assert master.highs.getOptionValue("time_limit")[1] == math.inf
    again = master.solve_lp()[3]
    assert again[master.pool_columns] == pytest.approx(values[master.pool_columns], abs=1e-6)
    dived = hourly._dive(master, time.perf_counter() + 30)
    assert (dived.pools == np.round(dived.pools)).all()
