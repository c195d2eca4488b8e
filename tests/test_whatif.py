"""`plan whatif`: settings applied to the problem (workloads by name, multipliers, prices),
validated like a problem file, both problems solved and the plans diffed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from clirun import invoke
from conftest import ROOT, tiny_problem, write_problem
from planner.catalog import PricingMode
from planner.errors import InputError
from planner.explain import money
from planner.problem import load_problem
from planner.whatif import parse_setting, run_whatif, scale_prices

QUICKSTART = ROOT / "problems" / "quickstart.yaml"


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    return write_problem(tmp_path, tiny_problem(workload={"slo": {"ttft_ms": 500}}))


def test_no_changes_is_an_empty_diff(tiny: Path) -> None:
    result = run_whatif(tiny, [])
    assert result.changes == ()
    assert result.diff.same
    assert result.base.to_dict() == result.changed.to_dict()
    cli = invoke(["whatif", str(tiny)])
    assert cli.exit_code == 0, cli.output
    assert "No changes given." in cli.stdout and "No changes: the same configurations" in cli.stdout


def test_rate_change_by_workload_name(tiny: Path) -> None:
    result = run_whatif(tiny, ["workloads.chat.rate_rps=40"])
    assert [(c.path, c.before, c.after) for c in result.changes] == [("workloads.chat.rate_rps", 20, 40)]
    assert result.changed.workloads[0].rate_rps == 40
    assert not result.diff.same
    assert result.diff.total.delta == pytest.approx(
        (result.changed.objective_usd_per_month or 0) - (result.base.objective_usd_per_month or 0))
    assert (result.diff.total.delta or 0) > 0


def test_multiplier_and_wildcard_match_the_explicit_value(tiny: Path) -> None:
    scaled = run_whatif(tiny, ["workloads.*.rate_rps=x2"])
    explicit = run_whatif(tiny, ["workloads.chat.rate_rps=40"])
    assert scaled.changed.objective_usd_per_month == explicit.changed.objective_usd_per_month
    assert scaled.changes[0].after == 40


def test_nested_field_and_budget(tiny: Path) -> None:
    result = run_whatif(tiny, ["workloads.chat.slo.ttft_ms=150", "budget_usd_per_month=100000"])
    assert {c.path for c in result.changes} == {"workloads.chat.slo.ttft_ms", "budget_usd_per_month"}
    # TTFT 150 ms rules out TB (200 ms measured): fewer, dearer instances
    assert all(a.accelerator == "TA" for a in result.changed.allocations)
    assert result.changed.budget_usd_per_month == 100000


def test_all_prices_doubled_doubles_the_cost(tiny: Path) -> None:
    result = run_whatif(tiny, ["prices.all=x2"])
    base = result.base.objective_usd_per_month or 0
    assert result.changed.objective_usd_per_month == pytest.approx(2 * base)
    assert [(c.path, c.after) for c in result.changes] == [("prices.all", "x2")]


def test_scale_prices_by_mode(tiny: Path) -> None:
    _, catalog = load_problem(tiny)
    scaled = scale_prices(catalog, {"spot": 1.5, "all": 2.0})
    for old, new in zip(catalog.offers, scaled.offers, strict=True):
        for mode in PricingMode:
            before, after = old.prices_usd_per_hour.get(mode), new.prices_usd_per_hour.get(mode)
            factor = 3.0 if mode is PricingMode.spot else 2.0
            assert after == (None if before is None else pytest.approx(before * factor))


def test_infeasible_change_exits_2_with_diagnosis(tiny: Path) -> None:
    result = invoke(["whatif", str(tiny), "--set", "budget_usd_per_month=100"])
    assert result.exit_code == 2
    assert "optimal -> infeasible" in result.stdout and "has no plan" in result.stdout


@pytest.mark.parametrize("setting, expected", [
    ("workloads.chat.rte_rps=8", ["--set: workloads.chat.rte_rps: unknown key 'rte_rps'",
                                  "did you mean 'rate_rps'", "valid: ", "max_spot_share"]),
    ("workloads.chatt.rate_rps=8", ["unknown workload 'chatt'", "did you mean 'chat'", "valid: chat"]),
    ("budget=5", ["--set: budget: unknown key 'budget'", "budget_usd_per_month", "prices"]),
    ("prices.spt=x2", ["--set: prices.spt: unknown pricing mode 'spt'", "did you mean 'spot'"]),
    ("prices.spot=3", ["--set: prices.spot: prices take a multiplier such as x1.5 (got 3)"]),
    ("workloads.chat.rate_rps=x0", ["multiplier must be a number above 0"]),
    ("workloads.chat.model=x2", ["a multiplier needs a number to scale"]),
    ("workloads.chat.slo.ttft_ms=[1", ["--set: workloads.chat.slo.ttft_ms: value is not valid YAML"]),
    ("quotas.0.max_accelerators=2", ["'quotas' is empty"]),
    ("rate_rps", ["expected PATH=VALUE"]),
    ("name=", ["needs a value after '='"]),
])
def test_bad_setting_names_option_and_path(tiny: Path, setting: str, expected: list[str]) -> None:
    result = invoke(["whatif", str(tiny), "--set", setting])
    assert result.exit_code == 1
    assert "Traceback" not in result.output and "solving" not in result.stderr  # before any solve
    for text in expected:
        assert text in result.stderr


@pytest.mark.parametrize("setting, expected", [
    ("workloads.chat.rate_rps=-5", "workloads[0].rate_rps: must be greater than 0 (got -5)"),
    ("workloads.chat.min_replicas=x1.25", "workloads[0].min_replicas: must be a whole number (got 2.5)"),
    ("workloads.chat.model=tiny-9b", "workloads[0].model: unknown model 'tiny-9b'; did you mean 'tiny-8b'?"),
    ("horizon_months=0", "horizon_months: must be greater than 0"),
])
def test_bad_value_gives_the_located_schema_error(tiny: Path, setting: str, expected: str) -> None:
    result = invoke(["whatif", str(tiny), "--set", setting])
    assert result.exit_code == 1
    assert f"{tiny}:" in result.stderr and expected in result.stderr
    assert f"(from --set {setting})" in result.stderr


def test_parse_setting_reads_yaml_values() -> None:
    assert parse_setting("allow.pricing=[on_demand, spot]").value == ["on_demand", "spot"]
    assert parse_setting("budget_usd_per_month=null").value is None
    assert parse_setting("workloads.a.slo={ttft_ms: 500}").value == {"ttft_ms": 500}
    assert parse_setting("prices.spot=x1.5").multiplier == 1.5
    with pytest.raises(InputError):
        parse_setting("prices.spot=1.5")


def test_quickstart_report_formats(tmp_path: Path) -> None:
    out = tmp_path / "whatif.json"
    result = invoke(["whatif", str(QUICKSTART), "--set", "workloads.support-chat.rate_rps=12",
                                       "--set", "prices.spot=x1.5", "--format", "json", "-o", str(out)])
    assert result.exit_code == 0, result.output
    document = json.loads(out.read_text())
    assert [change["path"] for change in document["changes"]] == [
        "workloads.support-chat.rate_rps", "prices.spot"]
    total = document["diff"]["total"]
    assert total["before"] == document["base"]["objective_usd_per_month"]
    assert total["after"] == document["changed"]["objective_usd_per_month"]
    assert "solving quickstart as written" in result.stderr
    markdown = invoke(["whatif", str(QUICKSTART), "--set", "workloads.support-chat.rate_rps=12",
                                         "--format", "markdown"])
    assert markdown.exit_code == 0
    assert "# What if: quickstart" in markdown.stdout
    assert f"| total | {money(total['before'])} |" in markdown.stdout
