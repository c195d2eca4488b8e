"""What makes the MIP small and its LP relaxation tight keeps every optimum.

Random days (24 hourly periods) on a random catalog with on-demand, spot, reserved and owned
offers, one or two online workloads and sometimes a nightly batch job: the pipeline (pruned
candidates, unprofitable pools dropped, variant links only where needed, `non_spot` cuts)
against the MIP as it was written before them (every candidate, a link per instance column,
no cuts). Then the rules one at a time on days worked out by hand.

TA (measured bf16 b8 = 10 req/s) holds 8 req/s online at the 0.8 cap; an hour of a 24-period
day stands for 730 / 24 = 30.417 hours a month.
"""

from __future__ import annotations

import math
import random
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import ROOT, TESTS, tiny_problem, write_problem
from planner.backends import SolveOptions, Status, get_backend
from planner.candidates import CandidateSet
from planner.catalog import Catalog
from planner.formulation import Formulation, formulate
from planner.linear import LinearModel
from planner.probing import Relaxation, bound_pools, tighten
from planner.problem import Problem, load_problem
from planner.pruning import surviving
from planner.schema import HOURS_PER_MONTH
from planner.solve import prepare, solve

HOUR = HOURS_PER_MONTH / 24
TIME_CATALOG = TESTS / "data" / "tiny" / "time.yaml"
ROW = {"source": "test fixture", "as_of": "2026-01-01"}


def random_catalog(rng: random.Random) -> dict[str, Any]:
    """TA and TB offers in two regions, each with on-demand and some of spot, reserved_1y and
    reserved_3y; an owned TA server in `lab` (busy energy $0.05/h)."""
    offers = []
    for number in range(rng.randint(2, 4)):
        on_demand = round(rng.uniform(0.5, 3.0), 2)
        prices = {"on_demand": on_demand}
        for mode, low, high, chance in (("spot", 0.2, 0.9, 0.7), ("reserved_1y", 0.5, 0.8, 0.5),
                                        ("reserved_3y", 0.3, 0.6, 0.4)):
            if rng.random() < chance:
                prices[mode] = round(on_demand * rng.uniform(low, high), 2)
        offers.append({"provider": "cloud", "region": rng.choice(["r1", "r2"]),
                       "instance_type": f"i{number}", "accelerator": rng.choice(["TA", "TB"]),
                       "count": rng.choice([1, 1, 2]), "prices_usd_per_hour": prices, **ROW})
    offers.append({"provider": "owned", "region": "lab", "instance_type": "ta.own",
                   "accelerator": "TA", "count": 1, **ROW,
                   "owned": {"purchase_usd": rng.choice([2000, 3650, 6000]), "lifetime_years": 1,
                             "operations_usd_per_month": 0, "power_kw": 1.0,
                             "idle_power_fraction": 0.5}})
    return {"offers": offers, "energy": [{"region": "lab", "usd_per_kwh": 0.1, "pue": 1.0,
                                          "grid_gco2_per_kwh": 500, **ROW}]}


def measured(rng: random.Random) -> list[dict[str, Any]]:
    return [{"accelerator": accelerator, "count": count, "variant": variant, "batch": 8,
             "throughput_rps": round(rng.uniform(2, 12), 2), "ttft_ms": 100, "tpot_ms": 20}
            for accelerator in ("TA", "TB") for count in (1, 2) for variant in ("bf16", "int8")]


def random_day(rng: random.Random, folder: Path) -> dict[str, Any]:
    (folder / "offers.yaml").write_text(yaml.safe_dump(random_catalog(rng)))
    document = tiny_problem()
    document["catalogs"].append(str(folder / "offers.yaml"))
    peak = rng.uniform(2, 12)
    document["workloads"] = [{
        "name": f"w{number}", "model": "tiny-8b", "tokens": {"prompt": 500, "output": 100},
        "profile_rps": [round(peak * rng.choice([0, 0.25, 0.5, 1.0]), 2) for _ in range(24)],
        "variants": rng.choice([["bf16"], ["bf16", "int8"]]), "batch_sizes": [8],
        "max_spot_share": rng.choice([0.0, 0.3, 0.5, 1.0]), "min_replicas": rng.randint(0, 2),
        "measured": measured(rng)} for number in range(rng.choice([1, 2]))]
    if rng.random() < 0.4:
        document["workloads"].append({
            "kind": "batch", "name": "nightly", "model": "tiny-8b",
            "requests_per_day": rng.choice([100_000, 400_000]), "window": {"start_hour": 22,
                                                                            "end_hour": 6},
            "tokens": {"prompt": 500, "output": 100}, "variants": ["bf16"], "batch_sizes": [8],
            "max_spot_share": rng.choice([0.5, 1.0]), "measured": measured(rng)})
    if rng.random() < 0.3:
        document["quotas"] = [{"accelerator": "TA", "max_accelerators": rng.randint(2, 8)}]
    if rng.random() < 0.2:
        document["budget_usd_per_month"] = round(rng.uniform(300, 3000))
    return document


def as_first_written(formulation: Formulation, candidates: CandidateSet) -> LinearModel:
    """The MIP without cuts and with a row tying every instance column of a (model, variant)
    choice to the choice's binary, as it was before `needs_link`."""
    model = formulation.without_cuts().model
    written = LinearModel(model.names, model.lower, model.upper, model.integer, model.cost,
                          list(model.rows), model.groups, model.objective_offset)
    by_index = {c.index: c for c in candidates.candidates}
    for (index, period), column in formulation.use_column.items():
        candidate = by_index[index]
        choice = formulation.variant_column.get((candidate.workload, *candidate.config.choice))
        if choice is not None:
            written.add_row("variant_link", f"link[{index},{period}]",
                            {column: 1.0, choice: -model.upper[column]}, upper=0.0)
    return written


def pruned_formulation(problem: Problem, catalog: Catalog) -> Formulation:
    """The MIP `solve` builds on the whole-MIP path (pruned candidates), before probing."""
    prepared = prepare(problem, catalog)
    active = surviving(problem, catalog, prepared.candidates)
    return formulate(problem, catalog, prepared.candidates.only(active), active,
                     prepared.training)


def reference_cost(problem: Problem, catalog: Catalog) -> float | None:
    prepared = prepare(problem, catalog, prune=False)
    formulation = formulate(problem, catalog, prepared.candidates, None, prepared.training)
    result = get_backend("highs").solve(as_first_written(formulation, prepared.candidates),
                                        SolveOptions())
    if result.status is Status.infeasible:
        return None
    assert result.status is Status.optimal
    return result.objective


@pytest.mark.parametrize("seed", range(24))
def test_the_pipeline_keeps_the_optimum_of_the_mip_as_first_written(tmp_path: Path,
                                                                   seed: int) -> None:
    rng = random.Random(seed)
    problem, catalog = load_problem(write_problem(tmp_path, random_day(rng, tmp_path)))
    plan = solve(problem, catalog)
    expected = reference_cost(problem, catalog)
    if expected is None:
        assert plan.status == "infeasible"
    else:
        assert plan.status == "optimal"
        assert plan.objective_usd_per_month == pytest.approx(expected, rel=1e-6, abs=1e-6)


@pytest.mark.parametrize("seed", range(24))
def test_cuts_remove_no_plan_and_only_tighten(tmp_path: Path, seed: int) -> None:
    """The optimum with and without the cuts is the same; their LP bound is no lower."""
    rng = random.Random(seed)
    problem, catalog = load_problem(write_problem(tmp_path, random_day(rng, tmp_path)))
    formulation = bound_pools(pruned_formulation(problem, catalog), seconds=10.0)
    highs = get_backend("highs")
    cut, plain = (highs.solve(f.model, SolveOptions()) for f in (formulation,
                                                                  formulation.without_cuts()))
    assert cut.status == plain.status
    if cut.status is Status.optimal:
        assert cut.objective == pytest.approx(plain.objective, rel=1e-6, abs=1e-6)
        assert lp_bound(formulation.model) >= lp_bound(formulation.without_cuts().model) - 1e-6
        assert_pool_bounds_hold(formulation, plain.values)


def assert_pool_bounds_hold(formulation: Formulation, values: tuple[float, ...]) -> None:
    """Every `pool_bound` row holds for an optimal plan of the model without cuts (the bounds
    are kept by every optimal plan: `planner.probing`)."""
    for row in formulation.model.rows:
        if row.group == "pool_bound":
            size = round(formulation.model.row_activity(row, list(values)))
            assert row.lower <= size <= row.upper, row.name


def test_pool_probing_settles_the_mixed_fleet_pools() -> None:
    """mixed-fleet: the LP buys 0.69 of the owned DGX-H100 and 1.12 of the L40S server; the
    optimum ($12,633.10) owns one DGX-H100 (chat by day, the batch job at night) and nothing
    else. Probing fixes every pool at that, lifts the LP bound from $11,705 to $12,377 and
    keeps the optimum."""
    problem, catalog = load_problem(ROOT / "problems" / "mixed-fleet.yaml")
    plain = pruned_formulation(problem, catalog)
    bounded = bound_pools(plain, seconds=30.0)
    rows = {row.name: (row.lower, row.upper) for row in bounded.model.rows
            if row.group == "pool_bound"}
    assert rows == {f"pool_bound[{offer},{mode.value}]": (1.0, 1.0) if "dgx-h100" in offer
                    else (0.0, 0.0) for offer, mode in plain.pool_column}
    assert bounded.without_cuts().model.rows == plain.without_cuts().model.rows
    assert lp_bound(plain.model) == pytest.approx(11_704.86, abs=0.01)
    assert lp_bound(bounded.model) == pytest.approx(12_376.66, abs=0.01)
    result = get_backend("highs").solve(plain.model, SolveOptions())
    assert result.objective == pytest.approx(12_633.10, abs=0.01)
    assert_pool_bounds_hold(bounded, result.values)


def test_a_limit_below_the_optimum_would_cut_it_off() -> None:
    """The checks above have teeth: probing against a cost under the optimum (what a wrong
    incumbent or margin would do) moves a pool off the optimal plan's size: with the DGX-H100
    pool at 1 or more, the LP without an L40S server costs $12,377, over a $12,300 limit."""
    problem, catalog = load_problem(ROOT / "problems" / "mixed-fleet.yaml")
    plain = pruned_formulation(problem, catalog)
    result = get_backend("highs").solve(plain.model, SolveOptions())
    sizes = {c: round(result.values[c]) for c in plain.pool_column.values()}
    bounds = {c: (0, round(plain.model.upper[c])) for c in plain.pool_column.values()}
    lp = Relaxation(plain.model, deadline=math.inf)

    def keeps_the_optimum(limit: float) -> bool:
        return all(low <= sizes[c] <= high for c, (low, high) in tighten(lp, bounds, limit).items())
    assert keeps_the_optimum(12_700.0)
    assert not keeps_the_optimum(12_300.0)


def lp_bound(model: LinearModel) -> float:
    relaxed = LinearModel(model.names, model.lower, model.upper, [False] * model.variable_count,
                          model.cost, model.rows, model.groups, model.objective_offset)
    result = get_backend("highs").solve(relaxed, SolveOptions())
    assert result.objective is not None
    return result.objective


def time_document(profile: list[float], pricing: list[str], regions: list[str],
                  **workload: Any) -> dict[str, Any]:
    document = tiny_problem(workload={"rate_rps": None, "profile_rps": profile,
                                      "min_replicas": 0, "max_spot_share": 1.0, **workload})
    del document["workloads"][0]["rate_rps"]
    document["catalogs"].append(str(TIME_CATALOG))
    document["allow"] = {"accelerators": ["TA"], "pricing": pricing, "regions": regions}
    return document


def survivors(tmp_path: Path, document: dict[str, Any]) -> set[tuple[str, str]]:
    """(offer, pricing) of the candidates left after pruning."""
    problem, catalog = load_problem(write_problem(tmp_path, document))
    candidates = prepare(problem, catalog).candidates
    kept = set(surviving(problem, catalog, candidates))
    return {(c.config.offer.key, c.mode.value) for c in candidates.candidates if c.index in kept}


@pytest.mark.parametrize(("busy_hours", "kept"), [(12, False), (14, False), (15, True)])
def test_a_pool_that_cannot_pay_its_fee_is_dropped(tmp_path: Path, busy_hours: int,
                                                   kept: bool) -> None:
    """One TA busy `busy_hours` a day: a reserved instance ($438/month) saves at most the $1/h
    of the on-demand stand-in in each busy hour, 14 x 30.417 = $425.83 < $438 but 15 x 30.417
    = $456.25 > $438."""
    profile = [8.0 if hour < busy_hours else 0.0 for hour in range(24)]
    left = survivors(tmp_path, time_document(profile, ["on_demand", "reserved_1y"], ["r2"]))
    assert (("cloud/r2/ta.r", "reserved_1y") in left) is kept
    assert ("cloud/r2/ta.r", "on_demand") in left


def test_a_pool_whose_workload_has_no_stand_in_is_kept(tmp_path: Path) -> None:
    """With reserved only there is nothing to move its instances to."""
    left = survivors(tmp_path, time_document([8.0] + [0.0] * 23, ["reserved_1y"], ["r2"]))
    assert left == {("cloud/r2/ta.r", "reserved_1y")}


def test_an_owned_server_dominates_a_dearer_reservation(tmp_path: Path) -> None:
    """Owned TA: $340.67/month (purchase $304.17, idle power $36.5) + $0.05 per busy hour, at
    most $377.17 a month; reserved TA $438/month. Every reserved instance can become an owned
    one for less, whoever uses it and whenever, though the owned one costs more per busy
    hour."""
    document = time_document([8.0] * 24, ["reserved_1y", "owned"], ["r2", "lab"])
    assert survivors(tmp_path, document) == {("owned/lab/ta.own", "owned")}


def test_capacity_beyond_the_peak_is_worth_nothing(tmp_path: Path) -> None:
    """At 4 req/s TA (8 req/s at the cap) and TB (4 req/s) serve the peak alike, so the
    dearer TA ($1/h vs TB $0.6/h) goes; at 6 req/s TB's 4 req/s no longer does."""
    def left(rate: float) -> set[tuple[str, str]]:
        document = tiny_problem(allow={"pricing": ["on_demand"]},
                                workload={"rate_rps": rate, "min_replicas": 1,
                                          "max_spot_share": 1.0})
        return survivors(tmp_path, document)
    assert left(4) == {("cloud/r1/tb.1", "on_demand")}
    assert left(6) == {("cloud/r1/ta.1", "on_demand"), ("cloud/r1/tb.1", "on_demand")}


def test_links_only_where_the_other_rows_do_not_keep_a_choice_out(tmp_path: Path) -> None:
    """bf16 or int8: every row of a choice is written against its binary, so no instance
    column needs a link; serve_most_value counts every choice on one demand row, so there
    each one does."""
    def links(shed: bool) -> int:
        document = tiny_problem(workload={"variants": ["bf16", "int8"],
                                          "value_usd_per_1k_requests": 1})
        if shed:
            document.update(budget_mode="serve_most_value", budget_usd_per_month=500)
        problem, catalog = load_problem(write_problem(tmp_path, document))
        candidates = prepare(problem, catalog).candidates
        model = formulate(problem, catalog, candidates, shed=shed).model
        return sum(row.group == "variant_link" for row in model.rows)
    assert links(shed=False) == 0
    assert links(shed=True) > 0


def test_the_non_spot_cut_lifts_the_lp_bound(tmp_path: Path) -> None:
    """5 req/s, spot at most half the capacity: TA on demand $1/h (8 req/s), TA spot $0.4/h,
    TB on demand $0.6/h (4 req/s). The LP covers it with 0.77 TB and 0.38 TA spot (spot
    capacity no more than TB's), about $449/month. Non-spot capacity must cover 2.5 req/s
    with each instance counted for at most that: a whole TB (or TA), and the LP pays at least
    one TB and 0.2 TA spot ($496). The optimum is one TA on demand, $730."""
    document = tiny_problem(workload={"rate_rps": 5, "min_replicas": 0})
    problem, catalog = load_problem(write_problem(tmp_path, document))
    candidates = prepare(problem, catalog).candidates
    formulation = formulate(problem, catalog, candidates)
    assert formulation.cut_rows > 0
    assert formulation.without_cuts().cut_rows == 0
    plain = formulation.without_cuts().model
    assert len(plain.rows) == len(formulation.model.rows) - formulation.cut_rows
    assert lp_bound(formulation.model) > lp_bound(plain) + 1
    assert solve(problem, catalog).objective_usd_per_month == pytest.approx(
        get_backend("highs").solve(plain, SolveOptions()).objective)
