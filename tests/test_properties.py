"""Property tests (Hypothesis) on random tiny problems (`tiny.py`).

* The MIP optimum equals brute force (pruned and unpruned formulation).
* Monotonicity: a larger budget, more quota, a looser SLO, a lower quality floor or one more
  offer never raises the optimal cost, and never turns a feasible problem infeasible;
  scaling every price (and the budget) by k scales the cost by k and keeps the choices;
  renaming workloads changes nothing but the names.
* Determinism: the same input gives byte-identical `Plan.to_json()` across runs and across
  solver thread counts, in one process and in separate `plan solve` processes.

Problems are drawn through `st.randoms()`, whose draws Hypothesis shrinks. Every plan is also
re-checked by `check_plan` (conftest). How many cases ran is in the terminal summary
("reliability counts"); the settings below give 1,000 brute-force cases and 1,720 in all.
"""

from __future__ import annotations

import math
import random
import subprocess
import sys
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, given, note, settings
from hypothesis import strategies as st

from conftest import ROOT, count_case
from planner.backends import SolveOptions
from planner.candidates import build_candidates
from planner.catalog import Catalog, Offer, Prices
from planner.plan import Plan
from planner.problem import Problem, load_problem
from planner.solve import solve
from planner.verify import check_plan
from tiny import brute_force, catalog_with, random_catalog, random_document, random_offer

BRUTE_FORCE_CASES = 1_000
MONOTONE_CASES = 80
"""Per monotonicity property (seven of them)."""
DETERMINISM_CASES = 80
"""Per determinism property (two of them)."""
OPTIONS = SolveOptions(time_limit_s=30)
REL = 1e-6
"""The MIP gap: optima are compared to this relative tolerance."""

randoms = st.randoms(use_true_random=False)


def optimum(problem: Problem, catalog: Catalog, **solve_args: Any) -> Plan:
    """The plan, which must be proven optimal or proven infeasible."""
    plan = solve(problem, catalog, "highs", OPTIONS, **solve_args)
    assert plan.status in ("optimal", "infeasible"), (plan.status, plan.diagnosis)
    return plan


def cost(plan: Plan) -> float | None:
    return plan.objective_usd_per_month


def never_more(looser: Plan, tighter: Plan, prop: str) -> None:
    """The looser problem costs at most the tighter one (and is feasible if that one is)."""
    count_case(prop)
    if tighter.objective_usd_per_month is None:
        return
    count_case(f"{prop} (tighter one feasible)")
    assert looser.objective_usd_per_month is not None, "loosening made the problem infeasible"
    assert looser.objective_usd_per_month <= tighter.objective_usd_per_month * (1 + REL)


def choices(plan: Plan, names: dict[str, str] | None = None) -> list[tuple[Any, ...]]:
    """What runs where (no prices), with workload names mapped through `names`."""
    rows = []
    for allocation in plan.allocations:
        fields = asdict(allocation)
        fields.pop("cost_usd_per_month")
        fields["workload"] = (names or {}).get(allocation.workload, allocation.workload)
        rows.append(tuple(sorted((k, repr(v)) for k, v in fields.items())))
    return sorted(rows)


# the optimum ------------------------------------------------------------------------------


@settings(max_examples=BRUTE_FORCE_CASES)
@given(rng=randoms)
def test_mip_optimum_equals_brute_force(rng: random.Random) -> None:
    catalog = random_catalog(rng)
    problem = Problem.model_validate(random_document(rng, varied_latency=rng.random() < 0.5))
    expected = brute_force(problem, catalog, build_candidates(problem, catalog))
    assume(expected is None or not math.isnan(expected))  # NaN: too large to enumerate
    prune = rng.random() < 0.7
    note(f"prune={prune} expected={expected} problem={problem}")
    plan = optimum(problem, catalog, prune=prune)
    count_case("MIP optimum = brute force")
    if expected is None:
        assert plan.status == "infeasible"
        count_case("MIP optimum = brute force (both infeasible)")
    else:
        assert plan.objective_usd_per_month == pytest.approx(expected, rel=REL)


# monotonicity -----------------------------------------------------------------------------


def loosened(document: dict[str, Any], change: Any) -> tuple[Problem, Problem]:
    tighter = Problem.model_validate(document)
    change(document)
    return tighter, Problem.model_validate(document)


@settings(max_examples=MONOTONE_CASES)
@given(rng=randoms, factor=st.floats(1.0, 3.0))
def test_a_larger_budget_never_costs_more(rng: random.Random, factor: float) -> None:
    catalog = random_catalog(rng)
    document = random_document(rng)
    document["budget_usd_per_month"] = round(rng.uniform(300, 6000), 0)
    tighter, looser = loosened(
        document, lambda d: d.update(budget_usd_per_month=d["budget_usd_per_month"] * factor))
    never_more(optimum(looser, catalog), optimum(tighter, catalog), "monotone: budget")


@settings(max_examples=MONOTONE_CASES)
@given(rng=randoms, extra=st.integers(1, 6))
def test_more_quota_never_costs_more(rng: random.Random, extra: int) -> None:
    catalog = random_catalog(rng)
    document = random_document(rng)
    document["quotas"] = [{"accelerator": rng.choice(["TA", "TB"]),
                           "max_accelerators": rng.randint(0, 6)}]

    def more(d: dict[str, Any]) -> None:
        d["quotas"][0]["max_accelerators"] += extra

    tighter, looser = loosened(document, more)
    never_more(optimum(looser, catalog), optimum(tighter, catalog), "monotone: quota")


@settings(max_examples=MONOTONE_CASES)
@given(rng=randoms, looser_tpot_ms=st.floats(30.0, 60.0))
def test_a_looser_slo_never_costs_more(rng: random.Random, looser_tpot_ms: float) -> None:
    catalog = random_catalog(rng)
    document = random_document(rng, varied_latency=True)  # each point has its own TPOT

    def loosen(d: dict[str, Any]) -> None:
        for workload in d["workloads"]:
            workload["slo"] = {"tpot_ms": looser_tpot_ms}

    tighter, looser = loosened(document, loosen)
    never_more(optimum(looser, catalog), optimum(tighter, catalog), "monotone: SLO")


FLOORS = [0.995, 0.99, 0.985, 0.98, 0.97, None]


@settings(max_examples=MONOTONE_CASES)
@given(rng=randoms, steps=st.integers(1, 5))
def test_a_lower_quality_floor_never_costs_more(rng: random.Random, steps: int) -> None:
    catalog = random_catalog(rng)
    document = random_document(rng)
    start = rng.randrange(len(FLOORS) - 1)
    for workload in document["workloads"]:
        workload["variants"] = ["bf16", "int8"]  # int8 keeps 0.98 of bf16's quality
        workload["min_quality"] = FLOORS[start]

    def lower(d: dict[str, Any]) -> None:
        for workload in d["workloads"]:
            workload["min_quality"] = FLOORS[min(start + steps, len(FLOORS) - 1)]

    tighter, looser = loosened(document, lower)
    never_more(optimum(looser, catalog), optimum(tighter, catalog), "monotone: quality floor")


@settings(max_examples=MONOTONE_CASES)
@given(rng=randoms)
def test_one_more_offer_never_costs_more(rng: random.Random) -> None:
    catalog = random_catalog(rng)
    problem = Problem.model_validate(random_document(rng))
    wider = catalog_with((*catalog.offers, random_offer(rng, len(catalog.offers))))
    never_more(optimum(problem, wider), optimum(problem, catalog), "monotone: one more offer")


def scaled_prices(offer: Offer, k: float) -> Offer:
    prices = {mode: price * k for mode, price in offer.prices_usd_per_hour.model_dump().items()
              if price is not None}
    return offer.model_copy(update={"prices_usd_per_hour": Prices(**prices)})


def at_prices_over(plan: Plan, k: float) -> Plan:
    """`plan` with every cost divided by `k` (what it costs at prices divided by `k`)."""
    assert plan.objective_usd_per_month is not None
    return replace(plan, objective_usd_per_month=plan.objective_usd_per_month / k,
                   allocations=tuple(replace(a, cost_usd_per_month=a.cost_usd_per_month / k)
                                     for a in plan.allocations),
                   commitments=tuple(replace(c, cost_usd_per_month=c.cost_usd_per_month / k)
                                     for c in plan.commitments))


@settings(max_examples=MONOTONE_CASES)
@given(rng=randoms, k=st.sampled_from([0.01, 0.5, 2.0, 3.0, 7.5, 100.0]))
def test_scaling_every_price_scales_the_cost_and_keeps_the_choices(rng: random.Random, k: float
                                                                   ) -> None:
    catalog = random_catalog(rng)
    document = random_document(rng)
    problem = Problem.model_validate(document)
    if "budget_usd_per_month" in document:
        document["budget_usd_per_month"] *= k
    scaled_problem = Problem.model_validate(document)
    scaled_catalog = catalog_with(tuple(scaled_prices(o, k) for o in catalog.offers))
    plan = optimum(problem, catalog)
    scaled = optimum(scaled_problem, scaled_catalog)
    assert scaled.status == plan.status
    count_case("prices x k")
    if plan.objective_usd_per_month is not None:
        assert scaled.objective_usd_per_month == pytest.approx(k * plan.objective_usd_per_month,
                                                               rel=REL)
        if choices(scaled) != choices(plan):
            # an exact tie may be broken either way: then what the scaled plan runs is an
            # optimum at the original prices too
            check = check_plan(problem, catalog, at_prices_over(scaled, k))
            assert check.valid, check.violations
            assert check.cost_usd_per_month == pytest.approx(plan.objective_usd_per_month,
                                                             rel=REL)
            count_case("prices x k (a tie broken the other way)")
        count_case("prices x k (feasible)")


@settings(max_examples=MONOTONE_CASES)
@given(rng=randoms)
def test_renaming_workloads_changes_nothing_but_the_names(rng: random.Random) -> None:
    catalog = random_catalog(rng)
    document = random_document(rng)
    problem = Problem.model_validate(document)
    # new names sort the other way round, so any dependence on name order would show
    names = {w["name"]: f"{'zyx'[i]}-renamed-{rng.randint(0, 99)}"
             for i, w in enumerate(document["workloads"])}
    for workload in document["workloads"]:
        workload["name"] = names[workload["name"]]
    renamed = Problem.model_validate(document)
    plan, renamed_plan = optimum(problem, catalog), optimum(renamed, catalog)
    back = {new: old for old, new in names.items()}
    assert renamed_plan.status == plan.status
    assert renamed_plan.objective_usd_per_month == plan.objective_usd_per_month
    assert choices(renamed_plan, back) == choices(plan)
    assert [w.name for w in renamed_plan.workloads] == [names[w.name] for w in plan.workloads]
    count_case("renaming workloads")


# determinism ------------------------------------------------------------------------------


@settings(max_examples=DETERMINISM_CASES)
@given(rng=randoms)
def test_same_input_same_json(rng: random.Random) -> None:
    catalog = random_catalog(rng)
    problem = Problem.model_validate(random_document(rng))
    first = optimum(problem, catalog).to_json()
    assert optimum(problem, catalog).to_json() == first
    count_case("determinism: repeated run")


@settings(max_examples=DETERMINISM_CASES)
@given(rng=randoms, threads=st.integers(2, 4), solver=st.sampled_from(["highs", "cbc"]))
def test_same_json_with_any_thread_count(rng: random.Random, threads: int, solver: str) -> None:
    catalog = random_catalog(rng)
    problem = Problem.model_validate(random_document(rng))
    one = solve(problem, catalog, solver, OPTIONS)
    several = solve(problem, catalog, solver, replace(OPTIONS, threads=threads))
    assert several.to_json() == one.to_json()
    count_case("determinism: thread counts")


DETERMINISM_EXAMPLES = ["quickstart", "rag-platform"]


@pytest.mark.parametrize("example", DETERMINISM_EXAMPLES)
def test_examples_give_the_same_json_with_one_and_two_threads(example: str) -> None:
    problem, catalog = load_problem(ROOT / "problems" / f"{example}.yaml")
    one = solve(problem, catalog, "highs", OPTIONS).to_json()
    assert solve(problem, catalog, "highs", replace(OPTIONS, threads=2)).to_json() == one
    assert solve(problem, catalog, "highs", OPTIONS).to_json() == one


def test_separate_processes_write_byte_identical_json(tmp_path: Path) -> None:
    outputs = []
    for run in range(2):
        output = tmp_path / f"plan{run}.json"
        process = subprocess.run(
            [sys.executable, "-m", "planner.cli", "solve", str(ROOT / "problems" / "quickstart.yaml"),
             "--format", "json", "-o", str(output)],
            capture_output=True, text=True, timeout=120, cwd=ROOT)
        assert process.returncode == 0, process.stderr
        outputs.append(output.read_bytes())
    assert outputs[0] == outputs[1] and b'"status": "optimal"' in outputs[0]
