"""`plan diff`: allocations added/removed/changed, cost deltas recomputed from the two plans,
fields the diff does not know still compared, and kubectl-style exit codes (0 same, 1 different,
2 error naming the file)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from clirun import invoke
from conftest import tiny_problem
from planner.diff import diff_plans
from planner.explain import money


@pytest.fixture
def plans(solve_document: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """The tiny problem at 20 req/s and at 40 req/s, as plan files would hold them."""
    _, _, before = solve_document(tiny_problem())
    _, _, after = solve_document(tiny_problem(workload={"rate_rps": 40}))
    return before.to_dict(), after.to_dict()


def write(folder: Path, name: str, plan: dict[str, Any]) -> Path:
    path = folder / name
    path.write_text(json.dumps(plan))
    return path


def test_same_plan_is_empty_diff(plans: tuple[dict[str, Any], dict[str, Any]]) -> None:
    before, _ = plans
    diff = diff_plans(before, copy.deepcopy(before))
    assert diff.same
    assert not diff.allocations and not diff.workloads and not diff.other
    assert diff.total.delta == 0


def test_cost_deltas_come_from_the_plans(plans: tuple[dict[str, Any], dict[str, Any]]) -> None:
    before, after = plans
    diff = diff_plans(before, after)
    assert not diff.same
    objective = "objective_usd_per_month"
    assert diff.total.delta == pytest.approx(after[objective] - before[objective])
    for name, field in (("pricing mode", "cost_by_pricing"), ("provider", "cost_by_provider"),
                        ("component", "cost_components")):
        rows = {row.name: row for row in diff.costs[name]}
        assert set(rows) == set(before[field]) | set(after[field])
        for key, row in rows.items():
            assert row.delta == pytest.approx(after[field].get(key, 0.0) - before[field].get(key, 0.0))
    chat = {row.name: row for row in diff.costs["workload"]}["chat"]
    assert chat.after == after["workloads"][0]["cost_usd_per_month"]
    # the allocation changes add up to the change in total cost (no commitments in this plan)
    assert sum(item.cost_delta for item in diff.allocations) == pytest.approx(diff.total.delta)


def test_allocations_added_removed_and_changed(plans: tuple[dict[str, Any], dict[str, Any]]) -> None:
    before, after = plans
    diff = diff_plans(before, after)
    kinds = {(item.change, item.label.split()[1].split("/")[-1], item.label.split()[-1])
             for item in diff.allocations}
    # 20 req/s: TA on demand + TA spot + TB; 40 req/s: 3 TA on demand + 2 TA spot
    assert ("removed", "tb.1", "on_demand") in kinds
    assert ("changed", "ta.1", "on_demand") in kinds
    changed = next(item for item in diff.allocations
                   if item.change == "changed" and "on_demand" in item.label)
    instances = next(field for field in changed.fields if field.path == "instances")
    assert (instances.before, instances.after) == (1, 3)
    assert all(item.group == "chat" for item in diff.allocations)


def test_unknown_fields_are_compared(plans: tuple[dict[str, Any], dict[str, Any]]) -> None:
    before, _ = plans
    after = copy.deepcopy(before)
    after["allocations"][0]["instances_by_period"] = [1, 2]
    after["carbon_tonnes_per_month"] = 1.5
    after["reservations"] = [{"offer": "cloud/r1/ta.1", "count": 2}]
    diff = diff_plans(before, after)
    assert not diff.same
    assert [f.path for f in diff.allocations[0].fields] == ["instances_by_period"]
    assert [(f.path, f.after) for f in diff.other] == [("carbon_tonnes_per_month", 1.5)]
    assert [item.change for item in diff.records["reservations"]] == ["added"]


def test_solve_metadata_does_not_make_plans_differ(plans: tuple[dict[str, Any], dict[str, Any]]) -> None:
    before, _ = plans
    after = copy.deepcopy(before)
    after["solver"], after["candidates"] = "cbc", 999
    after["workloads"][0]["why"] = ["another explanation"]
    diff = diff_plans(before, after)
    assert diff.same
    assert {f.path for f in diff.metadata} == {"solver", "candidates"}


def test_repeated_configuration_is_told_apart_by_batch(plans: tuple[dict[str, Any], dict[str, Any]]) -> None:
    before, _ = plans
    after = copy.deepcopy(before)
    twin = dict(after["allocations"][0], batch=16)
    after["allocations"].append(twin)
    diff = diff_plans(before, after)
    assert [(item.change, item.after["batch"] if item.after else None) for item in diff.allocations] == [
        ("removed", None), ("added", 8), ("added", 16)]


def test_cli_exit_codes_follow_kubectl(tmp_path: Path, plans: tuple[dict[str, Any], dict[str, Any]]) -> None:
    before, after = plans
    a, b = write(tmp_path, "a.json", before), write(tmp_path, "b.json", after)
    same = invoke(["diff", str(a), str(a)])
    assert same.exit_code == 0, same.output
    assert "No changes" in same.stdout
    different = invoke(["diff", str(a), str(b)])
    assert different.exit_code == 1
    delta = after["objective_usd_per_month"] - before["objective_usd_per_month"]
    assert f"+{money(delta)}" in different.stdout
    assert "removed" in different.stdout and "changed" in different.stdout


@pytest.mark.parametrize("content, message", [
    (None, "plan file not found"),
    ("{not json", "not valid JSON"),
    ('{"schema_version": 1, "problem": "x"}', "not a plan file"),
    ("[1, 2]", "not a plan file"),
])
def test_bad_file_exits_2_naming_it(tmp_path: Path, plans: tuple[dict[str, Any], dict[str, Any]],
                                    content: str | None, message: str) -> None:
    good = write(tmp_path, "good.json", plans[0])
    bad = tmp_path / "bad.json"
    if content is not None:
        bad.write_text(content)
    result = invoke(["diff", str(good), str(bad)])
    assert result.exit_code == 2
    assert str(bad) in result.stderr and message in result.stderr
    assert "Traceback" not in result.output
    assert len(result.stderr.strip().splitlines()) == 1


def test_existing_output_is_an_error(tmp_path: Path, plans: tuple[dict[str, Any], dict[str, Any]]) -> None:
    a = write(tmp_path, "a.json", plans[0])
    out = tmp_path / "diff.md"
    out.write_text("keep me")
    result = invoke(["diff", str(a), str(a), "-o", str(out), "--format", "markdown"])
    assert result.exit_code == 2 and "--force" in result.stderr
    assert out.read_text() == "keep me"


def test_json_format(tmp_path: Path, plans: tuple[dict[str, Any], dict[str, Any]]) -> None:
    before, after = plans
    a, b = write(tmp_path, "a.json", before), write(tmp_path, "b.json", after)
    result = invoke(["diff", str(a), str(b), "--format", "json"])
    assert result.exit_code == 1
    document = json.loads(result.stdout)
    assert document["same"] is False and document["schema_version"] == 1
    assert document["total"]["delta"] == pytest.approx(
        after["objective_usd_per_month"] - before["objective_usd_per_month"])
    assert {item["change"] for item in document["allocations"]} == {"removed", "changed"}
    assert set(document["costs"]) == {"workload", "pricing mode", "provider", "component"}
