"""budget_mode serve_most_value: when the budget cannot cover every workload's demand, the most
valuable demand is served. Hand-computed on the tiny catalog, TA only, on demand: one TA
serves 8 req/s at $730/month; a request/s for a month is 3,600 x 730 = 2,628,000 requests.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from clirun import invoke
from conftest import tiny_problem, write_problem
from planner.plan import plan_from_dict
from planner.problem import load_problem
from planner.schema import HOURS_PER_MONTH
from planner.solve import solve
from planner.verify import check_plan

TA = 730.0
REQUESTS_PER_RPS_MONTH = 3600 * HOURS_PER_MONTH


def two_workloads(budget: float, values: tuple[float, float] | None = (2.0, 1.0),
                  priorities: tuple[int, int] | None = None, **extra: Any) -> dict[str, Any]:
    """chat and `other`, 8 req/s each, one TA each ($730)."""
    document = tiny_problem(allow={"pricing": ["on_demand"], "accelerators": ["TA"]},
                            workload={"rate_rps": 8, "min_replicas": 1},
                            budget_usd_per_month=budget, budget_mode="serve_most_value", **extra)
    chat = document["workloads"][0]
    other = copy.deepcopy(chat)
    other["name"] = "other"
    if values is not None:
        chat["value_usd_per_1k_requests"], other["value_usd_per_1k_requests"] = values
    if priorities is not None:
        chat["priority"], other["priority"] = priorities
    document["workloads"].append(other)
    return document


def results(plan: Any) -> dict[str, Any]:
    return {w.name: w for w in plan.workloads}


@pytest.mark.parametrize(("values", "served", "shed"), [((2.0, 1.0), "chat", "other"),
                                                        ((1.0, 2.0), "other", "chat")])
def test_budget_for_one_serves_the_more_valuable(solve_document,  # type: ignore[no-untyped-def]
                                                 values: tuple[float, float], served: str,
                                                 shed: str) -> None:
    """$1,000 buys one TA: the workload worth more per request gets it. Its value: 8 req/s x
    2,628,000 / 1,000 x $2 = $42,048/month; the other sheds all 21,024,000 requests."""
    _, _, plan = solve_document(two_workloads(1000, values))
    assert plan.status == "optimal"
    assert plan.objective_usd_per_month == pytest.approx(TA)
    found = results(plan)
    assert found[served].admitted_rps_by_period == (8.0,)
    assert found[shed].admitted_rps_by_period == (0.0,)
    assert found[shed].shed_requests_per_month == pytest.approx(8 * REQUESTS_PER_RPS_MONTH)
    assert found[served].value_usd_per_month == pytest.approx(8 * REQUESTS_PER_RPS_MONTH / 1000 * 2)
    assert plan.value_usd_per_month == pytest.approx(8 * REQUESTS_PER_RPS_MONTH / 1000 * 2)
    assert {a.workload for a in plan.allocations} == {served}
    assert found[shed].why[0].startswith("admitted 0 of 8 req/s (0%), 8 req/s shed")


def test_priority_comes_before_value(solve_document) -> None:  # type: ignore[no-untyped-def]
    """other is worth twice as much per request, but chat has the higher priority."""
    _, _, plan = solve_document(two_workloads(1000, (1.0, 2.0), priorities=(1, 0)))
    assert results(plan)["chat"].admitted_rps_by_period == (8.0,)
    assert results(plan)["other"].admitted_rps_by_period == (0.0,)


def test_without_values_the_most_requests_are_served(solve_document) -> None:  # type: ignore[no-untyped-def]
    """No values: every request counts the same. other asks 4 req/s, chat 8: one TA serves
    either, so chat's 8 are admitted."""
    document = two_workloads(1000, None)
    document["workloads"][1]["rate_rps"] = 4
    _, _, plan = solve_document(document)
    assert results(plan)["chat"].admitted_rps_by_period == (8.0,)
    assert plan.value_usd_per_month is None


def test_partial_admission_up_to_what_the_budget_buys(solve_document) -> None:  # type: ignore[no-untyped-def]
    """One workload of 20 req/s, $1,600: two TA ($1,460) serve 16 req/s; 4 req/s are shed."""
    document = two_workloads(1600, (1.0, 1.0))
    document["workloads"] = document["workloads"][:1]
    document["workloads"][0]["rate_rps"] = 20
    _, _, plan = solve_document(document)
    chat = results(plan)["chat"]
    assert plan.objective_usd_per_month == pytest.approx(2 * TA)
    assert chat.admitted_rps_by_period == (16.0,)
    assert chat.shed_requests_per_month == pytest.approx(4 * REQUESTS_PER_RPS_MONTH)
    assert "admitted 16 of 20 req/s (80%), 4 req/s shed" in chat.why[0]


def test_hourly_demand_is_admitted_by_period(solve_document) -> None:  # type: ignore[no-untyped-def]
    """8 req/s for 12 hours, 16 for 12: 36 TA-hours a day, $30.42 each ($1,095). $800 buys
    26 of them (26 x $30.42 = $791): 26 x 8 = 208 req/s-hours admitted of 288."""
    document = two_workloads(800, None)
    document["workloads"] = document["workloads"][:1]
    chat = document["workloads"][0]
    del chat["rate_rps"]
    chat["profile_rps"] = [8.0] * 12 + [16.0] * 12
    chat["min_replicas"] = 0
    _, _, plan = solve_document(document)
    hour = HOURS_PER_MONTH / 24
    admitted = results(plan)["chat"].admitted_rps_by_period
    assert len(admitted) == 24 and sum(admitted) == pytest.approx(26 * 8)
    assert plan.objective_usd_per_month == pytest.approx(26 * hour)
    assert results(plan)["chat"].shed_requests_per_month == pytest.approx(80 * 3600 * hour)


def test_a_budget_that_covers_everything_sheds_nothing(solve_document) -> None:  # type: ignore[no-untyped-def]
    _, _, plan = solve_document(two_workloads(1500))
    assert plan.objective_usd_per_month == pytest.approx(2 * TA)
    assert all(w.admitted_rps_by_period == (8.0,) and w.shed_requests_per_month == 0
               for w in plan.workloads)
    assert all(w.why[0] == "admitted: the whole demand (8 req/s)" for w in plan.workloads)


def test_meet_all_mode_is_unchanged(solve_document) -> None:  # type: ignore[no-untyped-def]
    document = two_workloads(1000)
    del document["budget_mode"]
    _, _, plan = solve_document(document)
    assert plan.status == "infeasible" and plan.budget_mode is None


def test_check_plan_holds_the_plan_to_its_admitted_demand(tmp_path: Path) -> None:
    problem, catalog = load_problem(write_problem(tmp_path, two_workloads(1000)))
    plan = solve(problem, catalog)
    assert check_plan(problem, catalog, plan).valid
    chat = results(plan)["chat"]
    overclaimed = dataclasses.replace(plan, workloads=tuple(
        dataclasses.replace(w, admitted_rps_by_period=(9.0,)) if w.name == "chat" else w
        for w in plan.workloads))
    violations = check_plan(problem, catalog, overclaimed).violations
    assert any("chat: admitted rate outside 0 to the demand" in v for v in violations)
    assert any("chat: capacity 8.000 req/s < demand 9" in v for v in violations)
    assert any("chat: states value 42048" in v for v in violations)
    understated = dataclasses.replace(plan, workloads=tuple(
        dataclasses.replace(w, shed_requests_per_month=0.0) for w in plan.workloads))
    assert check_plan(problem, catalog, understated).violations == (
        "other: states 0 shed requests/month, the admitted rates give 21,024,000",)
    strict = problem.model_copy(update={"budget_mode": "meet_all"})
    violations = check_plan(strict, catalog, plan).violations
    assert any("other: sheds 21,024,000 requests/month but budget_mode is meet_all" in v
               for v in violations)
    assert chat.admitted_rps_by_period == (8.0,)


def test_plans_without_the_new_fields_still_load(tmp_path: Path) -> None:
    problem, catalog = load_problem(write_problem(tmp_path, tiny_problem()))
    data = solve(problem, catalog).to_dict()
    for key in ("budget_mode", "value_usd_per_month"):
        data.pop(key)
    for workload in data["workloads"]:
        for key in ("admitted_rps_by_period", "shed_requests_per_month", "value_usd_per_month"):
            workload.pop(key)
    plan = plan_from_dict(data)
    assert plan.budget_mode is None and plan.workloads[0].admitted_rps_by_period == ()
    assert check_plan(problem, catalog, plan).valid


def test_cli_solve_and_check_round_trip(tmp_path: Path) -> None:
    path = write_problem(tmp_path, two_workloads(1000))
    run = invoke(["solve", str(path), "--format", "json"])
    assert run.exit_code == 0, run.output
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(run.stdout)
    assert json.loads(run.stdout)["workloads"][1]["admitted_rps_by_period"] == [0.0]
    check = invoke(["check", str(path), str(plan_file)])
    assert check.exit_code == 0, check.output


@pytest.mark.parametrize(("change", "message"), [
    ({"budget_usd_per_month": None}, "budget_mode: serve_most_value needs budget_usd_per_month"),
    ({"drop_value": True}, "give value_usd_per_1k_requests to every online workload or to none"),
])
def test_incomplete_budget_mode_is_bad_input(tmp_path: Path, change: dict[str, Any], message: str) -> None:
    document = two_workloads(1000)
    if change.pop("drop_value", False):
        del document["workloads"][1]["value_usd_per_1k_requests"]
    document.update(change)
    run = invoke(["solve", str(write_problem(tmp_path, document))])
    assert run.exit_code == 1 and message in run.stderr and "Traceback" not in run.output


def test_explain_what_one_percent_more_budget_admits(tmp_path: Path) -> None:
    """The hourly profile above with $818: 818 / 30.42 = 26.9, so 26 TA-hours a day. 1 % more
    ($826) buys a 27th: 8 req/s for one more hour a day, 8 x 3,600 x 30.42 = 876,000 requests
    a month, for $30.42 more."""
    from planner.explanation import explain_plan

    document = two_workloads(818, None)
    document["workloads"] = document["workloads"][:1]
    chat = document["workloads"][0]
    del chat["rate_rps"]
    chat.update(profile_rps=[8.0] * 12 + [16.0] * 12, min_replicas=0)
    problem, catalog = load_problem(write_problem(tmp_path, document))
    explanation = explain_plan(problem, catalog, max_resolves=0)
    hour = HOURS_PER_MONTH / 24
    assert explanation.plan.objective_usd_per_month == pytest.approx(26 * hour)
    budget = next(limit for limit in explanation.limits if limit.limit == "budget")
    assert budget.change == "+1% ($818 -> $826)"
    assert budget.resolved_admitted_requests_per_month == pytest.approx(8 * 3600 * hour)
    assert budget.resolved_usd_per_month == pytest.approx(-hour)
    assert explanation.budget_note is None  # in this mode the budget binds
