"""Small problems whose optimum is worked out by hand (arithmetic in each docstring).

Per instance and month (730 h): TA on-demand $730, TA spot $292, TB on-demand $438.
Capacity per instance at the 0.8 utilisation cap: TA bf16 10 x 0.8 = 8 req/s,
TB bf16 5 x 0.8 = 4 req/s, TA int8 20 x 0.8 = 16 req/s.
"""

from __future__ import annotations

import math

import pytest

from conftest import tiny_problem
from planner.backends import SOLVERS


def counts(plan) -> dict[tuple[str, str], int]:  # type: ignore[no-untyped-def]
    return {(a.accelerator, a.pricing): a.instances for a in plan.allocations}


@pytest.mark.parametrize("solver", SOLVERS)
def test_spot_share_mix(solve_document, solver: str) -> None:  # type: ignore[no-untyped-def]
    """a TA on-demand, s TA spot, b TB: 8a + 8s + 4b >= 20 and spot 8s <= 0.5 x capacity.
    Cheapest: s = 1 (8 req/s at $292), then 12 req/s as a = 1 + b = 1 ($730 + $438 = $1,168;
    b = 3 costs $1,314, a = 2 costs $1,460). s = 2 would need 2a + b >= 4 (>= $1,460 more).
    Optimum $292 + $730 + $438 = $1,460."""
    _, _, plan = solve_document(tiny_problem(), solver)
    assert plan.status == "optimal"
    assert plan.objective_usd_per_month == pytest.approx(1460)
    assert counts(plan) == {("TA", "on_demand"): 1, ("TA", "spot"): 1, ("TB", "on_demand"): 1}


def test_quota_forces_slower_accelerator(solve_document) -> None:  # type: ignore[no-untyped-def]
    """On-demand only, at most 1 TA: 8a + 4b >= 20 with a <= 1 -> a = 1, b = 3:
    $730 + 3 x $438 = $2,044 (all TB: 5 x $438 = $2,190)."""
    document = tiny_problem(allow={"pricing": ["on_demand"]},
                            quotas=[{"accelerator": "TA", "max_accelerators": 1}])
    _, _, plan = solve_document(document)
    assert plan.objective_usd_per_month == pytest.approx(2044)
    assert counts(plan) == {("TA", "on_demand"): 1, ("TB", "on_demand"): 3}


def test_budget_below_least_cost_is_infeasible(solve_document) -> None:  # type: ignore[no-untyped-def]
    """The least cost is $1,460 (test_spot_share_mix); a $1,000 budget leaves no plan and the
    diagnosis names the $460 it is short."""
    _, _, plan = solve_document(tiny_problem(budget_usd_per_month=1000))
    assert plan.status == "infeasible"
    text = "\n".join(plan.diagnosis)
    assert "$1,460" in text and "$460" in text


def test_quality_floor_excludes_int8(solve_document) -> None:  # type: ignore[no-untyped-def]
    """TA only. With int8 allowed (quality 0.98 >= 0.95): a + s instances of 16 req/s with
    s <= a: a = s = 1 gives 32 req/s for $730 + $292 = $1,022.
    With floor 0.99, int8 is out: bf16 8a + 8s >= 20, s <= a -> a = 2, s = 1: $1,752."""
    loose = tiny_problem(allow={"accelerators": ["TA"]},
                         workload={"variants": ["bf16", "int8"], "min_quality": 0.95})
    _, _, plan = solve_document(loose)
    assert plan.objective_usd_per_month == pytest.approx(1022)
    assert {a.variant for a in plan.allocations} == {"int8"}
    strict = tiny_problem(allow={"accelerators": ["TA"]},
                          workload={"variants": ["bf16", "int8"], "min_quality": 0.99})
    _, _, plan = solve_document(strict)
    assert plan.objective_usd_per_month == pytest.approx(1752)
    why = "\n".join(plan.workloads[0].why)
    assert "quality 0.980 < floor 0.990" in why


def test_min_replicas(solve_document) -> None:  # type: ignore[no-untyped-def]
    """1 req/s needs one TB ($438) but 3 replicas are required: 3 x $438 = $1,314 beats
    anything with TA on-demand; spot TA may be one of three (1 spot of 8 req/s capacity vs
    2 x 4 on-demand: 8 <= 0.5 x 16): $292 + 2 x $438 = $1,168."""
    _, _, plan = solve_document(tiny_problem(workload={"rate_rps": 1, "min_replicas": 3}))
    assert plan.objective_usd_per_month == pytest.approx(1168)
    assert sum(a.replicas for a in plan.allocations) == 3


def test_measured_point_scales_neighbouring_batches(solve_document) -> None:  # type: ignore[no-untyped-def]
    """A measurement at batch 8 only: batch 16 on TA uses the roofline scaled by the measured /
    estimated ratio at batch 8, so its throughput is 10 x roofline(16) / roofline(8)."""
    from planner.performance import estimate

    _, catalog, plan = solve_document(tiny_problem(
        allow={"accelerators": ["TA"], "pricing": ["on_demand"]},
        workload={"batch_sizes": [16], "max_spot_share": 0}))
    model, variant = catalog.models["tiny-8b"], catalog.variants["bf16"]
    accelerator = catalog.accelerators["TA"]
    at_8 = estimate(model, variant, accelerator, 1, 8, 500, 100)
    at_16 = estimate(model, variant, accelerator, 1, 16, 500, 100)
    capacity = 10 * at_16.throughput_rps / at_8.throughput_rps * 0.8
    allocation = plan.allocations[0]
    assert allocation.performance_source == "roofline scaled to measured tp1 b8"
    assert allocation.capacity_rps == pytest.approx(capacity * allocation.instances)
    assert allocation.instances == math.ceil(20 / capacity)
