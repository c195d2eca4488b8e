"""`plan audit`: every finding on the fixtures against a hand computation (see
tests/data/audit/make_fixtures.py for what the fixtures hold).

The billing fixture spans 48 hours, so an amount over the period is $/month times 730 / 48.
chat runs 4 on-demand g6.xlarge all the time at $1.00/h; its busiest hour (54 requests) is
0.015 req/s and one instance serves 0.01 req/s, so 2 are needed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from clirun import invoke
from conftest import ROOT, SHARED_DATA
from planner.audit import match_log, observed_problem
from planner.errors import InputError
from planner.problem import load_problem
from planner.requestlog import summarise_log

DATA = ROOT / "tests" / "data" / "audit"
MONTH = 730 / 48
BILLING = ["--billing", str(DATA / "focus.csv"), "--problem", str(DATA / "problem.yaml")]
REQUESTS = ["--requests", str(DATA / "requests.csv")]


def run_audit(*extra: str) -> dict[str, Any]:
    result = invoke(["audit", *BILLING, *extra, "--format", "json"])
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


@pytest.fixture(scope="module")
def audited() -> dict[str, Any]:
    return run_audit(*REQUESTS)


def findings(result: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [f for f in result["findings"] if f["kind"] == kind]


def test_over_provisioned_by_hand(audited: dict[str, Any]) -> None:
    [finding] = findings(audited, "over_provisioned")
    # 4 running - 2 needed = 2 instances x 48 h x $1.00
    assert finding["savings_usd_per_month"] == pytest.approx(2 * 48 * 1.0 * MONTH)
    assert finding["workload"] == "chat" and finding["offer"] == "aws/us-east-1/g6.xlarge"


def test_spot_eligible_on_what_over_provisioning_left(audited: dict[str, Any]) -> None:
    [finding] = findings(audited, "spot_eligible")
    # max_spot_share 0.5 of the 2 remaining instances: 1 x 48 h x ($1.00 - $0.40 catalog spot)
    assert finding["savings_usd_per_month"] == pytest.approx(48 * 0.6 * MONTH)
    assert finding["problem_change"].startswith("none: the problem allows spot")


def test_reserve_baseline_on_what_spot_left(audited: dict[str, Any]) -> None:
    [finding] = findings(audited, "reserve_baseline")
    # 1 on-demand instance in every hour, reserved_1y at $0.60: 730 h x $0.40
    assert finding["savings_usd_per_month"] == pytest.approx(730 * 0.4)
    assert "pricing: reserved_1y, instances: 1" in finding["problem_change"]


def test_unused_commitment_by_hand(audited: dict[str, Any]) -> None:
    [finding] = findings(audited, "unused_commitment")
    assert finding["savings_usd_per_month"] == pytest.approx(24 * 0.6 * MONTH)
    assert finding["offer"] == "aws/us-east-1/g6.xlarge" and finding["in_gap"]


def test_slo_and_repeated_requests(audited: dict[str, Any]) -> None:
    [slo] = findings(audited, "slo_violations")
    assert slo["savings_usd_per_month"] == 0 and "61 of 618 requests" in slo["detail"]
    [repeats] = findings(audited, "repeated_requests")
    plan_cost = audited["plan"]["cost_by_workload"]["chat"]
    assert plan_cost > 0
    assert repeats["savings_usd_per_month"] == pytest.approx(123 / 618 * plan_cost)
    assert not repeats["in_gap"] and "scale by 0.801" in repeats["problem_change"]
    assert all(f["workload"] != "embed" for f in audited["findings"])  # TTFT 50 ms, no reserved price


def test_findings_ranked_and_gap_consistent(audited: dict[str, Any]) -> None:
    savings = [f["savings_usd_per_month"] for f in audited["findings"]]
    assert savings == sorted(savings, reverse=True)
    assert [f["kind"] for f in audited["findings"]][:4] == [
        "over_provisioned", "spot_eligible", "reserve_baseline", "unused_commitment"]
    objective = audited["plan"]["objective_usd_per_month"]
    assert audited["plan"]["status"] == "optimal"
    assert audited["gap_usd_per_month"] == pytest.approx(audited["actual_usd_per_month"] - objective)
    assert audited["explained_usd_per_month"] == pytest.approx((96 + 28.8 + 14.4) * MONTH + 292)


def test_spend_breakdowns_by_hand(audited: dict[str, Any]) -> None:
    assert audited["billed_total_usd"] == pytest.approx(261.555)
    assert audited["rows"] == {"accelerator": 121, "unmapped": 1, "other": 3, "read": 125}
    assert audited["by_workload"] == pytest.approx({
        "chat": 192 * MONTH,  # the workload tag
        "embed": 24 * MONTH,  # the resource name embed-worker-1
        "(unattributed)": (1 + 14.4 + 32.77) * MONTH})
    assert audited["by_pricing"] == pytest.approx({
        "on_demand": (192 + 24 + 1 + 32.77) * MONTH, "committed (unused)": 14.4 * MONTH})
    assert audited["by_offer"]["aws/us-east-1/p4d.24xlarge (unmapped)"] == pytest.approx(32.77 * MONTH)
    assert audited["actual_usd_per_month"] == pytest.approx((192 + 24 + 1 + 14.4 + 32.77) * MONTH)
    assert [group["what"] for group in audited["unmapped"]] == ["aws/us-east-1/p4d.24xlarge"]


def test_observed_demand_goes_into_the_plan(audited: dict[str, Any]) -> None:
    problem, _ = load_problem(DATA / "problem.yaml")
    log = summarise_log(DATA / "requests.csv")
    observed, notes = match_log(problem, log)
    assert notes == []
    copy = observed_problem(problem, observed)
    chat, embed = copy.online()
    assert chat.rate_rps is None and len(chat.hourly) == 24
    assert chat.peak_rps == pytest.approx(66 / 7200)
    assert embed.hourly == pytest.approx((1 / 3600,) * 24)
    assert problem.online()[0].rate_rps == 0.01  # the original is untouched
    assert audited["plan"]["demand"].startswith("observed hourly profiles")


def test_without_requests_spot_and_reservation_take_the_excess() -> None:
    """No log: no demand to size against, so over-provisioning is not claimed, and the
    instances it would have removed go to spot and reservations instead."""
    result = run_audit()
    assert not findings(result, "over_provisioned") and not findings(result, "repeated_requests")
    [spot] = findings(result, "spot_eligible")
    assert spot["savings_usd_per_month"] == pytest.approx(2 * 48 * 0.6 * MONTH)  # half of 4
    [reserve] = findings(result, "reserve_baseline")
    assert reserve["savings_usd_per_month"] == pytest.approx(2 * 730 * 0.4)
    assert result["plan"]["demand"].startswith("the problem's own demand")


def test_reserved_price_not_allowed_asks_for_it(tmp_path: Path) -> None:
    problem = (DATA / "problem.yaml").read_text()
    problem = problem.replace("pricing: [on_demand, spot, reserved_1y]", "pricing: [on_demand, spot]")
    problem = problem.replace("catalogs: [catalog.yaml]", f"catalogs: [{DATA / 'catalog.yaml'}]")
    path = tmp_path / "problem.yaml"
    path.write_text(problem)
    result = invoke(["audit", "--billing", str(DATA / "focus.csv"), "--problem", str(path),
                     *REQUESTS, "--format", "json"])
    assert result.exit_code == 0, result.output
    [reserve] = findings(json.loads(result.stdout), "reserve_baseline")
    assert reserve["problem_change"] == "allow.pricing: add reserved_1y"


def test_text_and_markdown_reports() -> None:
    table = invoke(["audit", *BILLING, *REQUESTS])
    assert table.exit_code == 0, table.output
    assert "1. $1,460/month: chat: more instances than the busiest hour needs" in table.stdout
    assert "accelerator instance p4d.24xlarge is not in the catalog" in table.stdout
    markdown = invoke(["audit", *BILLING, *REQUESTS, "--format", "markdown"])
    assert markdown.stdout.startswith("# audit of 'audit-fixture'")
    assert "| chat | $2,920 | 73% |" in markdown.stdout


def test_output_file_is_not_overwritten(tmp_path: Path) -> None:
    target = tmp_path / "audit.json"
    first = invoke(["audit", *BILLING, "--format", "json", "-o", str(target)])
    assert first.exit_code == 0 and json.loads(target.read_text())["schema_version"] == 1
    second = invoke(["audit", *BILLING, "--format", "json", "-o", str(target)])
    assert second.exit_code == 1 and "--force" in second.stderr


def test_log_without_workloads_needs_one_online_workload(tmp_path: Path) -> None:
    log = tmp_path / "requests.csv"
    log.write_text("timestamp\n2024-09-02T00:00:00Z\n")
    result = invoke(["audit", *BILLING, "--requests", str(log)])
    assert result.exit_code == 1
    assert f"error: {log}:1: workload: the log has no workload or model column" in result.stderr
    problem, _ = load_problem(DATA / "problem.yaml")
    with pytest.raises(InputError, match="add a workload column"):
        match_log(problem, summarise_log(log))


def test_unknown_log_workloads_are_noted(tmp_path: Path) -> None:
    log = tmp_path / "requests.csv"
    log.write_text("timestamp,workload\n2024-09-02T00:00:00Z,chat\n2024-09-02T00:00:00Z,search\n")
    problem, _ = load_problem(DATA / "problem.yaml")
    observed, notes = match_log(problem, summarise_log(log))
    assert list(observed) == ["chat"]
    assert any("'search' match no online workload" in note for note in notes)
    assert any("no requests of workload 'embed'" in note for note in notes)


@pytest.mark.parametrize(("args", "expected"), [
    (["--billing", str(DATA / "bad" / "focus_missing_column.csv")],
     "focus_missing_column.csv:1: BilledCost: required FOCUS column missing"),
    (["--billing", str(DATA / "bad" / "focus_bad_cost.csv")], "focus_bad_cost.csv:3:1: BilledCost"),
    (["--billing", str(DATA / "focus.csv"), "--requests", str(DATA / "bad" / "requests_bad_tokens.csv")],
     "requests_bad_tokens.csv:2:3: prompt_tokens"),
])
def test_bad_input_exits_1_with_location(args: list[str], expected: str) -> None:
    result = invoke(["audit", "--problem", str(DATA / "problem.yaml"), *args])
    assert result.exit_code == 1
    assert result.stderr.startswith("error: ") and expected in result.stderr


def test_real_focus_sample_through_audit() -> None:
    sample = SHARED_DATA / "pricing-formats" / "focus_sample.csv"
    if not sample.is_file():
        pytest.skip("shared FOCUS sample not available (../shared/data)")
    result = invoke(["audit", "--billing", str(sample), "--problem", str(DATA / "problem.yaml"),
                     "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["rows"]["read"] == 163
    assert sum(data["rows"][kind] for kind in ("accelerator", "unmapped", "other")) == 163
    assert sum(data["billed_by_kind_usd"].values()) == pytest.approx(data["billed_total_usd"])
    assert data["billed_total_usd"] == pytest.approx(18.37051264959)
