"""Demand over the day, shared committed pools, batch and training workloads, owned servers,
spot risk and carbon: small problems worked out by hand (arithmetic in each docstring).

TA capacity (measured bf16 b8 = 10 req/s): 8 req/s online at the 0.8 cap, 10 req/s batch.
An hour of a 24-period day stands for 730 / 24 = 30.417 hours a month.
Offers: TA on-demand $1/h, spot $0.4/h, reserved_1y $0.6/h ($438/month) in r2 (spot
interruption rate 0.2); an owned TA server in `lab`: $3,650 over 1 year ($304.17/month),
1 kW, half of it drawn idle, $0.1/kWh, PUE 1 -> idle $36.5/month, busy $0.05/h.
"""

from __future__ import annotations

import random

import pytest

from conftest import TESTS, tiny_problem
from planner.schema import HOURS_PER_MONTH

TIME_CATALOG = TESTS / "data" / "tiny" / "time.yaml"
HOUR = HOURS_PER_MONTH / 24


def time_problem(pricing: list[str], regions: list[str] | None = None, **overrides: object
                 ) -> dict:  # type: ignore[type-arg]
    document = tiny_problem(**overrides)
    document["catalogs"].append(str(TIME_CATALOG))
    document["allow"] = {"accelerators": ["TA"], "pricing": pricing,
                         "regions": regions or ["r2"]}
    workload = document["workloads"][0]
    workload.update({"min_replicas": 0, "max_spot_share": 1.0})
    return document


def nightly_batch() -> dict:  # type: ignore[type-arg]
    """288,000 requests between 22:00 and 06:00: one TA (10 req/s) busy all night."""
    return {"kind": "batch", "name": "nightly", "model": "tiny-8b", "requests_per_day": 288000,
            "tokens": {"prompt": 500, "output": 100}, "variants": ["bf16"], "batch_sizes": [8],
            "window": {"start_hour": 22, "end_hour": 6},
            "measured": [{"accelerator": "TA", "batch": 8, "throughput_rps": 10, "ttft_ms": 100,
                          "tpot_ms": 20}]}


def hours_profile(hours: int, rate: float = 8.0) -> list[float]:
    return [rate if hour < hours else 0.0 for hour in range(24)]


@pytest.mark.parametrize(("busy_hours", "expected", "pricing"), [
    (12, 12 * HOUR, "on_demand"),    # 12 h x $1 x 30.417 = $365 < $438 reserved
    (18, 438.0, "reserved_1y"),      # 18 h on demand would be $547.5
])
def test_reserved_break_even(solve_document, busy_hours: int, expected: float,  # type: ignore[no-untyped-def]
                             pricing: str) -> None:
    """One instance busy `busy_hours` a day: reserved ($0.6/h, always paid) beats on-demand
    above 0.6 x 24 = 14.4 busy hours a day."""
    document = time_problem(["on_demand", "reserved_1y"],
                            workload={"rate_rps": None, "profile_rps": hours_profile(busy_hours)})
    del document["workloads"][0]["rate_rps"]
    _, _, plan = solve_document(document)
    assert plan.periods == 24
    assert plan.objective_usd_per_month == pytest.approx(expected)
    assert {a.pricing for a in plan.allocations} == {pricing}


def test_reserved_base_and_on_demand_peak(solve_document) -> None:  # type: ignore[no-untyped-def]
    """16 req/s (2 instances) for 12 hours, 8 req/s (1) otherwise: one reserved instance all
    day ($438) plus one on demand for 12 hours ($365) = $803; two reserved cost $876 and all
    on demand $1,095."""
    profile = [16.0] * 12 + [8.0] * 12
    document = time_problem(["on_demand", "reserved_1y"], workload={"profile_rps": profile})
    del document["workloads"][0]["rate_rps"]
    _, _, plan = solve_document(document)
    assert plan.objective_usd_per_month == pytest.approx(438 + 12 * HOUR)
    (pool,) = plan.commitments
    assert (pool.new, pool.existing, pool.utilisation) == (1, 0, pytest.approx(1.0))
    assert pool.break_even_utilisation == pytest.approx(0.6)  # $0.6/h reserved vs $1/h


def test_batch_fills_idle_reserved_nights(solve_document) -> None:  # type: ignore[no-untyped-def]
    """Online 8 req/s from 09:00 to 18:00 (1 instance, 9 h); a nightly batch of 288,000
    requests between 22:00 and 06:00 (10 req/s x 3,600 s x 8 h = 1 instance all night).
    Apart: 9 h + 8 h on demand = 17 x $30.42 = $517; together one reserved instance busy 17 h
    a day costs $438."""
    profile = [8.0 if 9 <= hour < 18 else 0.0 for hour in range(24)]
    document = time_problem(["on_demand", "reserved_1y"], workload={"profile_rps": profile})
    del document["workloads"][0]["rate_rps"]
    document["workloads"].append(nightly_batch())
    _, _, plan = solve_document(document)
    assert plan.objective_usd_per_month == pytest.approx(438)
    (pool,) = plan.commitments
    assert pool.utilisation == pytest.approx(17 / 24)
    nightly = next(a for a in plan.allocations if a.workload == "nightly")
    assert nightly.pricing == "reserved_1y"
    assert sum(nightly.instances_by_period) == pytest.approx(8)
    alone = time_problem(["on_demand", "reserved_1y"], workload={"profile_rps": profile})
    del alone["workloads"][0]["rate_rps"]
    _, _, day_only = solve_document(alone)
    assert day_only.objective_usd_per_month == pytest.approx(9 * HOUR)


def test_existing_commitment_is_sunk(solve_document) -> None:  # type: ignore[no-untyped-def]
    """A reserved TA already owned covers 8 req/s at no new cost."""
    document = time_problem(["on_demand", "reserved_1y"],
                            commitments=[{"offer": "cloud/r2/ta.r", "pricing": "reserved_1y",
                                          "instances": 1}])
    document["workloads"][0]["rate_rps"] = 8
    _, _, plan = solve_document(document)
    assert plan.objective_usd_per_month == pytest.approx(0)
    (pool,) = plan.commitments
    assert (pool.existing, pool.new, pool.cost_usd_per_month) == (1, 0, 0)


def test_spot_interruptions_over_provision(solve_document) -> None:  # type: ignore[no-untyped-def]
    """16 req/s on spot only, interruption rate 0.2: each instance counts for 8 x 0.8 = 6.4
    req/s, so 3 instances ($876) instead of 2."""
    document = time_problem(["spot"])
    document["workloads"][0]["rate_rps"] = 16
    _, _, plan = solve_document(document)
    assert plan.objective_usd_per_month == pytest.approx(3 * 0.4 * HOURS_PER_MONTH)
    assert plan.allocations[0].instances == 3


def test_owned_server_buy_versus_rent(solve_document) -> None:  # type: ignore[no-untyped-def]
    """8 req/s flat: owned = $304.17 + idle $36.5 + busy $0.05 x 730 = $377.17 < reserved $438.
    With a $100/t carbon price the owned server's 1 kW x 500 g/kWh = 0.5 kg per busy hour adds
    $36.5: $413.67, still cheaper."""
    owned = 3650 / 12 + 36.5 + 0.05 * HOURS_PER_MONTH
    document = time_problem(["on_demand", "reserved_1y", "owned"], regions=["r2", "lab"])
    document["workloads"][0]["rate_rps"] = 8
    _, _, plan = solve_document(document)
    assert plan.objective_usd_per_month == pytest.approx(owned)
    assert plan.cost_components == pytest.approx({"energy": 36.5, "owned": 3650 / 12 + 36.5})
    document["carbon_usd_per_tonne"] = 100
    _, _, plan = solve_document(document)
    assert plan.objective_usd_per_month == pytest.approx(owned + 36.5)


def training(**fields: object) -> dict:  # type: ignore[type-arg]
    """8B params x 1.5e9 tokens x 6 = 7.2e19 FLOPs; TA 300 TFLOPS x MFU 0.5 -> 133.3 h on one
    TA, 33.3 h on four (scaling 1.0). Memory 16 B x 8B = 128 GB > 72 GB usable on one TA."""
    run = {"kind": "training", "name": "tune", "model": "tiny-8b", "train_tokens": 1.5e9,
           "deadline_days": 2, "accelerator_counts": [1, 2, 4, 8], "mfu": 0.5,
           "scaling_efficiency": 1.0, "allow_spot": False}
    run.update(fields)
    return run


def test_training_count_meets_deadline(solve_document) -> None:  # type: ignore[no-untyped-def]
    """48 h deadline: 2 TAs take 66.7 h, 4 take 33.3 h -> 4 TAs on demand: 33.3 h x 4 x $1 =
    $133.3 per run, one run over 12 months = $11.11/month. TB (150 TFLOPS, $0.6/h) needs 8 for
    33.3 h: $160."""
    document = tiny_problem()
    document["workloads"] = [training()]
    _, _, plan = solve_document(document)
    (run,) = plan.allocations
    assert (run.accelerator, run.instances, run.pricing) == ("TA", 4, "on_demand")
    assert run.run_hours == pytest.approx(400 / 12)
    assert plan.objective_usd_per_month == pytest.approx(400 / 3 / 12)
    assert any("deadline" in line for line in plan.workloads[0].why)
    document["quotas"] = [{"accelerator": "TA", "max_accelerators": 2}]
    _, _, plan = solve_document(document)
    assert plan.allocations[0].accelerator == "TB"
    assert plan.objective_usd_per_month == pytest.approx(8 * 0.6 * 400 / 12 / 12)


def test_training_on_spot_pays_checkpoint_overhead(solve_document) -> None:  # type: ignore[no-untyped-def]
    """Spot TA ($0.4/h, no published rate: 0.2/month assumed) on 4 instances: interruptions
    every M = 730 / (0.2 x 4) = 912.5 h, checkpoints every sqrt(2 x 5/60 x 912.5) = 12.33 h,
    overhead 0.0833/12.33 + (12.33/2 + 10/60)/912.5 = 1.37 %."""
    document = tiny_problem()
    document["workloads"] = [training(allow_spot=True)]
    _, _, plan = solve_document(document)
    (run,) = plan.allocations
    interval = (2 * 5 / 60 * 912.5) ** 0.5
    overhead = (5 / 60) / interval + (interval / 2 + 10 / 60) / 912.5
    assert run.pricing == "spot"
    assert run.run_hours == pytest.approx(400 / 12 * (1 + overhead))
    assert plan.objective_usd_per_month == pytest.approx(run.run_hours * 4 * 0.4 / 12)


def test_infeasible_deadline_names_the_fastest_run(solve_document) -> None:  # type: ignore[no-untyped-def]
    """4 hours is less than the 16.7 h that 8 TAs need."""
    document = tiny_problem()
    document["workloads"] = [training(deadline_days=4 / 24)]
    _, _, plan = solve_document(document)
    assert plan.status == "infeasible"
    assert "fastest run" in "\n".join(plan.diagnosis)


def pool_brute_force(needs: list[int], hourly: float, monthly: float) -> float:
    """One workload, one offer: try every pool size; the rest of each hour on demand."""
    return min(size * monthly + sum(max(0, need - size) for need in needs) * HOUR * hourly
               for size in range(max(needs) + 1))


@pytest.mark.parametrize("seed", range(12))
def test_pool_size_matches_brute_force(solve_document, seed: int) -> None:  # type: ignore[no-untyped-def]
    rng = random.Random(seed)
    needs = [rng.choice([0, 1, 1, 2, 3, 4]) for _ in range(24)]
    if not any(needs):
        needs[0] = 1
    document = time_problem(["on_demand", "reserved_1y"],
                            workload={"profile_rps": [8.0 * n for n in needs]})
    del document["workloads"][0]["rate_rps"]
    _, _, plan = solve_document(document)
    assert plan.objective_usd_per_month == pytest.approx(pool_brute_force(needs, 1.0, 438))


@pytest.mark.parametrize("solver", ["cbc", "scip", "cpsat"])
def test_solvers_agree_on_a_day(solve_document, solver: str) -> None:  # type: ignore[no-untyped-def]
    profile = [8.0 * (1 + (hour % 5)) for hour in range(24)]
    document = time_problem(["on_demand", "spot", "reserved_1y"],
                            workload={"profile_rps": profile, "max_spot_share": 0.3})
    del document["workloads"][0]["rate_rps"]
    _, _, reference = solve_document(document)
    _, _, plan = solve_document(document, solver)
    assert plan.objective_usd_per_month == pytest.approx(reference.objective_usd_per_month)


@pytest.mark.parametrize(("pricing", "expected"), [
    (["on_demand"], 120 / 168 * HOURS_PER_MONTH),        # 120 busy hours of 168
    (["on_demand", "reserved_1y"], 438.0),               # busy 71 % > break-even 60 %
])
def test_weekly_profile_with_idle_weekends(solve_document, pricing: list[str],  # type: ignore[no-untyped-def]
                                           expected: float) -> None:
    """8 req/s Monday to Friday, nothing at the weekend: one instance for 120 of 168 hours.
    A nightly batch job of one instance-night joins it; its window 22:00-06:00 runs from
    Sunday night into Monday morning (day 6 wraps to day 0)."""
    profile = [8.0] * 120 + [0.0] * 48
    document = time_problem(pricing, workload={"profile_rps": profile})
    del document["workloads"][0]["rate_rps"]
    _, _, plan = solve_document(document)
    assert plan.periods == 168
    assert plan.objective_usd_per_month == pytest.approx(expected)
    document["workloads"].append(nightly_batch())
    _, _, plan = solve_document(document)
    busy = [sum(column) for column in zip(*(a.instances_by_period for a in plan.allocations
                                            if a.workload == "nightly"), strict=True)]
    assert sum(busy) == pytest.approx(7 * 8)
    assert sum(busy[6 * 24 + 22:] + busy[:6]) == pytest.approx(8)  # Sunday night into Monday
