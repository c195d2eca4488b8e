"""`plan explain`: every figure checked against arithmetic done by hand on the tiny catalog.

Per instance and month (730 h): TA on-demand $730, TA spot $292, TB on-demand $438.
Capacity per instance at the 0.8 utilisation cap: TA bf16 8 req/s, TB bf16 4 req/s, TA int8
16 req/s (measured points in `tiny_problem`). TTFT: TA bf16 100 ms, TB bf16 200 ms.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from test_time_and_pools import HOUR, time_problem

from clirun import invoke
from conftest import tiny_problem, write_problem
from planner.baselines import EACH_ALONE, ONE_ACCELERATOR
from planner.explanation import Explanation, explain_plan
from planner.pinning import Pin
from planner.problem import load_problem
from planner.sensitivity import UNCHANGED
from planner.solve import solve
from planner.verify import check_plan

TA, TA_SPOT, TB = 730.0, 292.0, 438.0


def explained(tmp_path: Path, document: dict[str, Any], **options: Any) -> Explanation:
    problem, catalog = load_problem(write_problem(tmp_path, document))
    return explain_plan(problem, catalog, **options)


def by_name(explanation: Explanation) -> dict[str, Any]:
    return {b.name: b for b in explanation.baselines}


def test_baselines_single_accelerator_and_each_alone(tmp_path: Path) -> None:
    """TA only, 16 req/s, one replica, bf16 or int8 (quality 0.98 >= 0.95), spot at most half.
    One accelerator on demand at bf16: 16 / 8 = 2 TA = $1,460. Each alone: the cheapest single
    configuration is TA int8 on demand, 16 / 16 = 1 instance = $730, which is also the optimum
    (a spot instance alone would be 100 % spot; spot plus on-demand costs $1,022)."""
    document = tiny_problem(allow={"accelerators": ["TA"]}, workload={
        "rate_rps": 16, "min_replicas": 1, "variants": ["bf16", "int8"], "min_quality": 0.95})
    explanation = explained(tmp_path, document)
    assert explanation.plan.objective_usd_per_month == pytest.approx(TA)
    baselines = by_name(explanation)
    one = baselines[ONE_ACCELERATOR]
    assert one.cost_usd_per_month == pytest.approx(2 * TA)
    assert one.saving_usd_per_month == pytest.approx(2 * TA - TA)
    assert "TA" in one.description and not one.violations
    assert {(a.accelerator, a.pricing, a.variant, a.instances) for a in one.plan.allocations} == {
        ("TA", "on_demand", "bf16", 2)}
    alone = baselines[EACH_ALONE]
    assert alone.cost_usd_per_month == pytest.approx(TA)
    assert alone.saving_usd_per_month == pytest.approx(0)
    assert "int8" in alone.description and not alone.violations


def test_each_alone_pays_for_its_own_pools(tmp_path: Path) -> None:
    """Online 8 req/s from 09:00 to 18:00 and a nightly batch of 288,000 requests in 22:00-06:00
    (test_time_and_pools): together one reserved TA busy 17 h a day costs $438; each alone is
    cheapest on demand (9 h x $30.42 = $274 < $438, 8 h = $243 < $438): 17 x $30.42 = $517.
    One accelerator on demand at bf16 is the same $517 (there is only TA)."""
    document = time_problem(["on_demand", "reserved_1y"], workload={
        "profile_rps": [8.0 if 9 <= hour < 18 else 0.0 for hour in range(24)]})
    del document["workloads"][0]["rate_rps"]
    chat = document["workloads"][0]
    document["workloads"].append({
        "kind": "batch", "name": "nightly", "requests_per_day": 288000,
        "window": {"start_hour": 22, "end_hour": 6},
        **{key: chat[key] for key in ("model", "tokens", "variants", "batch_sizes", "measured")}})
    explanation = explained(tmp_path, document, max_resolves=0)
    assert explanation.plan.objective_usd_per_month == pytest.approx(438)
    baselines = by_name(explanation)
    for name in (ONE_ACCELERATOR, EACH_ALONE):
        assert baselines[name].cost_usd_per_month == pytest.approx(17 * HOUR)
        assert baselines[name].saving_usd_per_month == pytest.approx(17 * HOUR - 438)
        assert baselines[name].plan.periods == 24 and not baselines[name].violations


def test_baseline_over_the_budget_is_flagged(tmp_path: Path) -> None:
    """The spot mix of test_spot_share_mix costs $1,460; the bf16 on-demand baseline 3 TA =
    $2,190 (5 TB is also $2,190) breaks a $1,500 budget, and the re-check says by how much."""
    explanation = explained(tmp_path, tiny_problem(budget_usd_per_month=1500), max_resolves=0)
    one = by_name(explanation)[ONE_ACCELERATOR]
    assert one.cost_usd_per_month == pytest.approx(3 * TA)
    assert one.violations == ("budget: $2,190.00 > $1,500.00",)


def test_cost_breakdown_by_offer_pricing_and_workload(tmp_path: Path) -> None:
    """The spot mix: TA on demand $730 + TA spot $292 on offer ta.1, one TB $438 on tb.1."""
    breakdown = explained(tmp_path, tiny_problem(), max_resolves=0).cost_breakdown
    assert breakdown["offer"] == {"cloud/r1/ta.1": pytest.approx(TA + TA_SPOT),
                                  "cloud/r1/tb.1": pytest.approx(TB)}
    assert breakdown["pricing mode"] == {"on_demand": pytest.approx(TA + TB),
                                         "spot": pytest.approx(TA_SPOT)}
    assert breakdown["workload"] == {"chat": pytest.approx(TA + TA_SPOT + TB)}


def test_quota_shadow_price_equals_the_re_solve(tmp_path: Path) -> None:
    """On demand, 16 req/s, at most 1 TA: 1 TA + 2 TB = $1,606. One more TA accelerator lets
    a second TA replace the two TB: saves 2 x $438 - $730 = $146, in the LP (one accelerator
    moves 8 req/s from TB to TA) and in the re-solve ($1,460).
    Demand 1 req/s less: the LP drops a quarter TB ($109.50); whole instances save nothing."""
    document = tiny_problem(allow={"pricing": ["on_demand"]}, workload={"rate_rps": 16},
                            quotas=[{"accelerator": "TA", "max_accelerators": 1}])
    explanation = explained(tmp_path, document, max_resolves=0)
    assert explanation.plan.objective_usd_per_month == pytest.approx(TA + 2 * TB)
    limits = {limit.limit: limit for limit in explanation.limits}
    quota = limits["quota[0] TA"]
    assert quota.change == "+1 accelerators (1 -> 2)"
    assert quota.lp_estimate_usd_per_month == pytest.approx(2 * TB - TA)
    assert quota.resolved_usd_per_month == pytest.approx(2 * TB - TA)
    demand = limits["chat demand"]
    assert demand.lp_estimate_usd_per_month == pytest.approx(TB / 4)
    assert demand.resolved_usd_per_month == pytest.approx(0)
    assert [limit.limit for limit in explanation.limits] == ["quota[0] TA", "chat demand"]
    assert explanation.budget_note is None  # no budget


def test_budget_never_binds_a_cost_minimum(tmp_path: Path) -> None:
    explanation = explained(tmp_path, tiny_problem(budget_usd_per_month=2000), max_resolves=0)
    assert explanation.budget_note is not None
    assert "$1,460/month" in explanation.budget_note and "$540 under" in explanation.budget_note
    assert all(limit.limit != "budget" for limit in explanation.limits)


def test_policy_costs_and_the_re_solve_cap(tmp_path: Path) -> None:
    """20 req/s, TTFT 150 ms (TB's 200 ms is out), spot at most half, 2 replicas: 2 TA + 1 TA
    spot = $1,752. Spot 100 %: 3 TA spot = $876 (saves $876). SLO x1.5 lets TB in: TA + TA spot
    + TB = $1,460 (saves $292). min_replicas 1: 3 instances are needed anyway (saves $0)."""
    document = tiny_problem(workload={"slo": {"ttft_ms": 150}})
    explanation = explained(tmp_path, document)
    assert explanation.plan.objective_usd_per_month == pytest.approx(2 * TA + TA_SPOT)
    found = {p.policy: p for p in explanation.policies}
    assert found["spot share 100%"].saving_usd_per_month == pytest.approx(2 * TA + TA_SPOT - 3 * TA_SPOT)
    assert found["SLO x1.5"].saving_usd_per_month == pytest.approx(2 * TA - TA - TB)
    assert found["SLO x1.5"].detail == "TTFT 150 -> 225 ms"
    assert found["min_replicas 1"].saving_usd_per_month == pytest.approx(0)
    assert [p.policy for p in explanation.policies] == ["spot share 100%", "SLO x1.5", "min_replicas 1"]
    capped = explained(tmp_path, document, max_resolves=1)
    statuses = {p.policy: p.status for p in capped.policies}
    assert statuses == {"SLO x1.5": "optimal", "spot share 100%": "skipped", "min_replicas 1": "skipped"}


def test_policy_that_held_nothing_back_costs_nothing_without_a_re_solve(tmp_path: Path) -> None:
    """A quality floor every variant meets rejects no configuration: $0, status unchanged, and
    it takes none of the re-solves."""
    explanation = explained(tmp_path, tiny_problem(workload={"min_quality": 0.5}), max_resolves=0)
    floor = next(p for p in explanation.policies if p.policy == "quality floor removed")
    assert (floor.saving_usd_per_month, floor.status) == (0.0, UNCHANGED)


def test_force_delta_against_the_optimum(tmp_path: Path) -> None:
    """Pinning chat to TB: 20 / 4 = 5 TB = $2,190, $730 more than the $1,460 spot mix."""
    problem, catalog = load_problem(write_problem(tmp_path, tiny_problem()))
    explanation = explain_plan(problem, catalog, pins=[Pin("chat", accelerator="TB")], max_resolves=0)
    forced = explanation.forced
    assert forced is not None and forced.delta_usd_per_month == pytest.approx(5 * TB - 1460)
    assert {a.accelerator for a in forced.plan.allocations} == {"TB"}
    assert check_plan(problem, catalog, forced.plan).valid


def test_force_into_infeasibility_shows_the_diagnosis(tmp_path: Path) -> None:
    """Spot only with a 50 % spot cap leaves chat without a plan."""
    problem, catalog = load_problem(write_problem(tmp_path, tiny_problem()))
    from planner.catalog import PricingMode

    explanation = explain_plan(problem, catalog, pins=[Pin("chat", pricing=PricingMode.spot)],
                               max_resolves=0)
    assert explanation.forced is not None and explanation.forced.delta_usd_per_month is None
    assert "only spot configurations meet its limits" in "\n".join(explanation.forced.plan.diagnosis)


# -- diagnoses of coupled infeasibility ------------------------------------------------------

def diagnosis(tmp_path: Path, document: dict[str, Any]) -> str:
    problem, catalog = load_problem(write_problem(tmp_path, document))
    plan = solve(problem, catalog)
    assert plan.status == "infeasible"
    return "\n".join(plan.diagnosis)


def test_diagnosis_quota_short_by_a_known_number(tmp_path: Path) -> None:
    """TA only, on demand, 20 req/s needs 3 TA (8 each); the quota allows 1: 2 short."""
    text = diagnosis(tmp_path, tiny_problem(allow={"pricing": ["on_demand"], "accelerators": ["TA"]},
                                            quotas=[{"accelerator": "TA", "max_accelerators": 1}]))
    assert "1. allow 2 more TA accelerators (quota[0]: 1 -> 3) (+200%)" in text
    assert "not enough on its own: chat min_replicas" in text


def test_diagnosis_budget_short_by_a_known_amount(tmp_path: Path) -> None:
    """Least cost $1,460 (the spot mix), budget $1,000: $460 short (+46 %). All spot would do
    too: 3 TA spot = $876 within the budget, which needs a 100 % spot share (+50 points)."""
    text = diagnosis(tmp_path, tiny_problem(budget_usd_per_month=1000))
    assert "1. raise the budget by $460/month to $1,460/month (+46%)" in text
    assert "2. raise chat max_spot_share from 50% to 100% (+50 points)" in text


def test_diagnosis_ranks_an_slo_relaxation(tmp_path: Path) -> None:
    """On demand, TTFT 150 ms keeps TB (200 ms) out, one TA allowed, 20 req/s: relaxing TTFT to
    TB's 200 ms (+33 %) lets 1 TA + 3 TB serve it; or 2 more TA (+200 %)."""
    text = diagnosis(tmp_path, tiny_problem(allow={"pricing": ["on_demand"]},
                                            workload={"slo": {"ttft_ms": 150}},
                                            quotas=[{"accelerator": "TA", "max_accelerators": 1}]))
    assert "1. relax chat TTFT from 150 ms to 200 ms (+33%)" in text
    assert "2. allow 2 more TA accelerators (quota[0]: 1 -> 3) (+200%)" in text


def test_diagnosis_when_no_single_change_is_enough(tmp_path: Path) -> None:
    """On demand, TA only, 1 TA allowed, $1,000 budget: 3 TA ($2,190) need both 2 more TA and
    $1,190 more budget."""
    text = diagnosis(tmp_path, tiny_problem(allow={"pricing": ["on_demand"], "accelerators": ["TA"]},
                                            budget_usd_per_month=1000,
                                            quotas=[{"accelerator": "TA", "max_accelerators": 1}]))
    assert "no single change is enough; together: raise the budget by $1,190/month, allow 2 " \
           "more TA accelerators (quota[0])" in text


# -- command line ------------------------------------------------------------------------------

def test_cli_json_carries_every_section(tmp_path: Path) -> None:
    path = write_problem(tmp_path, tiny_problem(workload={"slo": {"ttft_ms": 150}}))
    run = invoke(["explain", str(path), "--format", "json", "--force",
                  "workload=chat,accelerator=TA,pricing=on_demand"])
    assert run.exit_code == 0, run.output
    document = json.loads(run.stdout)
    assert document["objective_usd_per_month"] == pytest.approx(2 * TA + TA_SPOT)
    assert [b["name"] for b in document["baselines"]] == [ONE_ACCELERATOR, EACH_ALONE]
    assert document["forced"]["delta_usd_per_month"] == pytest.approx(3 * TA - (2 * TA + TA_SPOT))
    assert {p["policy"] for p in document["policies"]} == {"spot share 100%", "SLO x1.5", "min_replicas 1"}
    assert document["plan"]["status"] == "optimal"


@pytest.mark.parametrize("output_format", ["table", "markdown", "html"])
def test_cli_reports(tmp_path: Path, output_format: str) -> None:
    path = write_problem(tmp_path, tiny_problem())
    run = invoke(["explain", str(path), "--format", output_format, "--max-resolves", "1"])
    assert run.exit_code == 0, run.output
    for section in ("Savings against simple baselines", "What each SLO, quality floor and policy costs",
                    "Binding limits and what relaxing each is worth", "Cost breakdown"):
        assert section in run.stdout
    assert "Skipped for time (--max-resolves 1 reached)" in run.stdout


@pytest.mark.parametrize(("force", "message"), [
    ("workload=nope,accelerator=TA", "unknown workload 'nope' (valid: chat)"),
    ("workload=chat,gpu=TA", "unknown key 'gpu'"),
    ("workload=chat,pricing=cheap", "unknown pricing 'cheap' (valid: on_demand, spot, reserved_1y"),
    ("workload=chat,accelerator=TZ", "unknown accelerator 'TZ' (valid: TA, TB)"),
    ("workload=chat", "names no field to pin"),
    ("accelerator=TA", "needs workload=NAME"),
])
def test_cli_bad_force_exits_1_naming_the_option(tmp_path: Path, force: str, message: str) -> None:
    run = invoke(["explain", str(write_problem(tmp_path, tiny_problem())), "--force", force])
    assert run.exit_code == 1
    assert run.stderr.startswith("error: --force: ") and message in run.stderr
    assert "Traceback" not in run.output


def test_cli_infeasible_exits_2_with_the_diagnosis(tmp_path: Path) -> None:
    run = invoke(["explain", str(write_problem(tmp_path, tiny_problem(budget_usd_per_month=1000)))])
    assert run.exit_code == 2
    assert "raise the budget by $460/month" in run.stdout


def test_cli_refuses_to_overwrite(tmp_path: Path) -> None:
    target = tmp_path / "explain.md"
    target.write_text("keep")
    run = invoke(["explain", str(write_problem(tmp_path, tiny_problem())), "-o", str(target)])
    assert run.exit_code == 1 and "--overwrite" in run.stderr and target.read_text() == "keep"
