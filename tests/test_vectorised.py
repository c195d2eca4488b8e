"""The vectorised candidate enumeration (`build_candidates`) against the scalar reference
(`reference_candidates`): the same candidates and rejections, in the same order, with the same
reasons, details and estimates, on the shipped examples and on random problems; the roofline
as arrays against `estimate`; the pruning from arrays against the pruning from objects."""

from __future__ import annotations

import itertools
import math
import random
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from planner.candidates import (
    BATCH_SIZES,
    CandidateSet,
    build_candidates,
    reference_candidates,
    tensor_parallel_degrees,
)
from planner.catalog import Catalog, load_catalog
from planner.enumeration import REASONS
from planner.performance import (
    SettingArrays,
    efficiency_for,
    estimate,
    estimate_arrays,
    peak_flops,
)
from planner.problem import Problem, load_problem
from planner.pruning import surviving
from tiny import random_catalog, random_document

EXAMPLES = sorted((Path(__file__).parent.parent / "problems").glob("*.yaml"))


def assert_same(problem: Problem, catalog: Catalog) -> CandidateSet:
    fast = build_candidates(problem, catalog)
    slow = reference_candidates(problem, catalog)
    # which workloads have candidates, from the chunk lengths alone
    assert fast.candidates.workloads() == {c.workload for c in slow.candidates}
    assert len(fast.candidates) == len(slow.candidates)
    assert len(fast.rejections) == len(slow.rejections)
    assert tuple(fast.candidates) == tuple(slow.candidates)
    assert tuple(fast.rejections) == tuple(slow.rejections)
    for workload in problem.workloads:
        assert fast.for_workload(workload.name) == slow.for_workload(workload.name)
        assert fast.rejections_for(workload.name) == slow.rejections_for(workload.name)
        assert fast.rejection_reasons(workload.name) == \
            {r.reason for r in slow.rejections_for(workload.name)}
    assert_arrays_match(build_candidates(problem, catalog), slow)
    return fast


def assert_arrays_match(fresh: CandidateSet, slow: CandidateSet) -> None:
    """The table's arrays (what the explanation scans) against the reference's objects, and
    the rejections built one at a time or below a price (on a table none is built yet)."""
    table = fresh.table
    assert table is not None
    for name, index in table.index.items():
        assert fresh.candidate_table_for(name) is table is fresh.rejection_table_for(name)
        options = slow.for_workload(name)
        found = table.candidate_arrays(index)
        assert found.capacity_rps.tolist() == [c.capacity_rps for c in options]
        assert found.cost_usd_per_month.tolist() == [c.cost_usd_per_month for c in options]
        assert found.hourly_usage_cost.tolist() == [c.hourly_usage_cost for c in options]
        assert found.replicas_per_instance.tolist() == [c.config.replicas_per_instance
                                                        for c in options]
        assert [table.context.offers[o] for o in found.offer.tolist()] == [
            c.config.offer for c in options]
        assert [table.context.modes[m] for m in found.mode.tolist()] == [c.mode for c in options]
        rejections = slow.rejections_for(name)
        arrays = table.rejection_arrays(index)
        assert len(arrays) == len(rejections)
        assert [REASONS[r] for r in arrays.reason.tolist()] == [r.reason for r in rejections]
        assert [None if math.isnan(p) else p for p in arrays.price.tolist()] == [
            r.cost_usd_per_month for r in rejections]
        assert [None if math.isnan(t) else t for t in arrays.throughput_rps.tolist()] == [
            None if r.estimate is None else r.estimate.throughput_rps for r in rejections]
        assert arrays.replicas_per_instance.tolist() == [r.config.replicas_per_instance
                                                        for r in rejections]
        assert [table.context.offers[o] for o in arrays.offer.tolist()] == [
            r.config.offer for r in rejections]
        for position in range(0, len(rejections), max(1, len(rejections) // 50)):
            assert table.rejection_at(index, position) == rejections[position]
        prices = sorted({r.cost_usd_per_month for r in rejections
                         if r.cost_usd_per_month is not None})
        for below in (0.0, *prices[:: max(1, len(prices) // 4)], math.inf):
            assert table.rejections_of(index, below) == [
                r for r in rejections
                if r.cost_usd_per_month is not None and r.cost_usd_per_month < below]


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_examples_enumerate_as_the_reference(path: Path) -> None:
    problem, catalog = load_problem(path)
    fast = assert_same(problem, catalog)
    reasons = {r.reason for r in fast.rejections}
    assert len(reasons) >= 4  # memory, SLO, dominated, variant... exercised, not vacuous


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_pruning_from_arrays_keeps_what_pruning_from_objects_keeps(path: Path) -> None:
    problem, catalog = load_problem(path)
    fast = build_candidates(problem, catalog)
    assert fast.table is not None
    plain = CandidateSet(tuple(fast.candidates), ())
    assert plain.table is None
    assert surviving(problem, catalog, fast) == surviving(problem, catalog, plain)


def test_random_tiny_problems_enumerate_as_the_reference() -> None:
    """Measured points on made-up accelerators (exact and rescaled estimates), quotas that
    block offers, variant lists, quality floors, spot shares of 0."""
    rng = random.Random(20261127)
    for _ in range(60):
        catalog = random_catalog(rng)
        document = random_document(rng, varied_latency=True)
        for workload in document["workloads"]:
            if rng.random() < 0.5:
                workload["batch_sizes"] = rng.choice([[8], [4, 8, 16], [16, 8, 8, 2]])
            if rng.random() < 0.3:
                workload["measured"] = workload["measured"][: rng.randint(0, 3)]
        assert_same(Problem.model_validate(document), catalog)


@pytest.fixture(scope="module")
def default_catalog() -> Catalog:
    return load_catalog(["default"])


def random_fleet(rng: random.Random, catalog: Catalog) -> dict[str, Any]:
    """Workloads of every kind and shape over the default catalog, several sharing a shape."""
    models = sorted(catalog.models)
    workloads: list[dict[str, Any]] = []
    for number in range(rng.randint(2, 6)):
        if workloads and rng.random() < 0.3:  # same shape, another name and rate
            twin = dict(workloads[-1], name=f"w{number}")
            if "rate_rps" in twin:
                twin["rate_rps"] = round(rng.uniform(0.5, 30), 2)
            workloads.append(twin)
            continue
        tokens = {"prompt": rng.choice([64, 800, 3000]), "output": rng.choice([1, 200, 500])}
        workload: dict[str, Any] = {"name": f"w{number}", "model": rng.choice(models),
                                    "tokens": tokens}
        if rng.random() < 0.25:
            workload.update(kind="batch", requests_per_day=rng.choice([1e4, 2e5]))
        else:
            workload["rate_rps"] = round(rng.uniform(0.5, 30), 2)
            workload["slo"] = rng.choice([{"ttft_ms": 2000, "tpot_ms": 80},
                                          {"e2e_ms": 20000}, {"ttft_ms": 500}, {}])
            workload["max_spot_share"] = rng.choice([0.0, 0.5, 1.0])
        if rng.random() < 0.3:
            workload["variants"] = rng.sample(sorted(catalog.variants), rng.randint(1, 3))
        if rng.random() < 0.3:
            workload["min_quality"] = rng.choice([0.95, 0.99])
        if rng.random() < 0.2:
            workload["min_quality_score"] = 0.6
        if rng.random() < 0.3:
            workload["batch_sizes"] = rng.sample([1, 4, 16, 64, 256], rng.randint(1, 3))
        workloads.append(workload)
    document: dict[str, Any] = {"name": "fleet", "workloads": workloads,
                                "performance": {"utilisation_cap": rng.choice([0.7, 0.8])}}
    if rng.random() < 0.5:
        document["allow"] = {"providers": rng.sample(["aws", "gcp", "azure", "lambda", "runpod"], 3),
                             "pricing": rng.sample(["on_demand", "spot", "reserved_1y"], 2)}
    if rng.random() < 0.5:
        document["quotas"] = [{"accelerator": "H100", "max_accelerators": rng.choice([1, 4, 16])}]
    return document


def test_random_fleets_on_the_default_catalog_enumerate_as_the_reference(
        default_catalog: Catalog) -> None:
    rng = random.Random(11)
    for _ in range(6):
        assert_same(Problem.model_validate(random_fleet(rng, default_catalog)), default_catalog)


def test_roofline_arrays_equal_the_scalar_estimate(default_catalog: Catalog) -> None:
    """Bit for bit, for every accelerator, variant, tensor-parallel degree and batch."""
    catalog = default_catalog
    for model_name, (prompt, output) in itertools.product(
            sorted(catalog.models), [(64, 1), (800, 250), (100_000, 4000)]):
        model = catalog.models[model_name]
        rows = [(a, v, tp, b) for a in catalog.accelerators.values()
                for v in catalog.variants.values() for tp in tensor_parallel_degrees(8)
                for b in BATCH_SIZES]
        settings = SettingArrays(
            count=np.array([tp for _, _, tp, _ in rows]),
            batch=np.array([b for _, _, _, b in rows]),
            peak_flops=np.array([peak_flops(a, v) for a, v, _, _ in rows]),
            bandwidth_gb_s=np.array([a.bandwidth_gb_s for a, _, _, _ in rows]),
            memory_gb=np.array([a.memory_gb for a, _, _, _ in rows]),
            mfu=np.array([efficiency_for(a).mfu for a, _, _, _ in rows]),
            mbu=np.array([efficiency_for(a).mbu for a, _, _, _ in rows]),
            step_overhead_ms=np.array([efficiency_for(a).step_overhead_ms for a, _, _, _ in rows]),
            tp_overhead_ms_per_layer=np.array([efficiency_for(a).tp_overhead_ms_per_layer
                                               for a, _, _, _ in rows]),
            weight_bytes_per_param=np.array([v.weight_bytes_per_param for _, v, _, _ in rows]),
            bandwidth_efficiency=np.array([v.bandwidth_efficiency for _, v, _, _ in rows]))
        arrays = estimate_arrays(model, settings, prompt, output)
        for i, (accelerator, variant, tp, batch) in enumerate(rows):
            scalar = estimate(model, variant, accelerator, tp, batch, prompt, output)
            assert arrays.ttft_ms[i] == scalar.ttft_ms
            assert arrays.tpot_ms[i] == scalar.tpot_ms
            assert arrays.e2e_ms[i] == scalar.e2e_ms
            assert arrays.throughput_rps[i] == scalar.throughput_rps
            assert arrays.memory_needed_gb[i] == scalar.memory_needed_gb
            assert arrays.memory_usable_gb[i] == scalar.memory_usable_gb
            assert bool(arrays.fits[i]) is scalar.fits


def test_candidates_are_built_only_when_read(default_catalog: Catalog) -> None:
    problem = Problem.model_validate({
        "name": "lazy", "workloads": [
            {"name": f"w{i}", "model": "llama-3.1-8b", "rate_rps": 1 + i,
             "tokens": {"prompt": 800, "output": 200}, "slo": {"ttft_ms": 2000}}
            for i in range(3)]})
    built = build_candidates(problem, default_catalog)
    assert built.table is not None
    assert len(built.table.profiles) == 1  # one shape, one profile: built once
    assert len(built.candidates) == 3 * built.table.profiles[0].candidate_count
    lazy = built.options_of("w2")  # read one at a time, before the chunk is built
    some = [lazy[3], lazy[-1], *lazy[1:3]]
    first = built.for_workload("w1")
    assert [c.index for c in first] == list(range(len(first), 2 * len(first)))
    assert all(c.workload == "w1" for c in first)
    assert built.candidates[len(first)] == first[0]
    assert built.candidates[-1] == built.for_workload("w2")[-1]
    whole = built.for_workload("w2")
    assert len(lazy) == len(whole) and some == [whole[3], whole[-1], *whole[1:3]]
    active = surviving(problem, default_catalog, built)
    subset = built.only(active)
    assert [c.index for c in subset.candidates] == list(active)
    assert len(subset.rejections) == 0
    extra = built.rejections + (built.rejections[0],)  # noqa: RUF005 (tests Items.__add__)
    assert len(extra) == len(built.rejections) + 1
    assert extra[-1] == built.rejections[0]
    assert CandidateSet(built.candidates, extra).rejections_for("w0")[-1] == built.rejections[0]
    # the explanation scans the arrays only where they hold all of a workload's rejections
    assert CandidateSet(built.candidates, extra).rejection_table_for("w0") is None
    assert CandidateSet(built.candidates, extra).rejection_table_for("w1") is built.table
    assert subset.rejection_table_for("w0") is None
