"""`plan catalog list / show / validate`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from clirun import invoke
from conftest import ROOT

DATA = ROOT / "tests" / "data" / "importers"


def run(*args: str):  # type: ignore[no-untyped-def]
    return invoke(["catalog", *args])


def test_list_offers_by_default_with_filters() -> None:
    result = run("list", "--provider", "aws", "--region", "us-east-1")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split()[:4] == ["provider", "region", "instance_type", "accelerator"]
    assert all(line.startswith("aws ") for line in lines[2:])
    assert any("p5.48xlarge" in line for line in lines)


def test_list_json_and_other_kinds() -> None:
    for kind, key in (("--accelerators", "accelerators"), ("--models", "models"), ("--variants", "variants")):
        result = run("list", kind, "--format", "json")
        assert result.exit_code == 0, result.output
        document = json.loads(result.stdout)
        assert document["schema_version"] == 1 and document[key]
    offers = json.loads(run("list", "--format", "json", "--provider", "gcp").stdout)["offers"]
    assert offers and {o["provider"] for o in offers} == {"gcp"}


def test_list_unknown_provider_suggests() -> None:
    result = run("list", "--provider", "awz")
    assert result.exit_code == 1 and "did you mean 'aws'" in result.stderr


def test_list_with_extra_catalog_file(tmp_path: Path) -> None:
    extra = tmp_path / "mine.yaml"
    extra.write_text("offers:\n  - {provider: aws, region: us-east-1, instance_type: g6.xlarge,\n"
                     "     accelerator: L4, count: 1, prices_usd_per_hour: {on_demand: 0.05},"
                     " source: test fixture, as_of: 2026-01-01}\n")
    result = run("list", "--catalog", "default", "--catalog", str(extra), "--format", "json",
                 "--region", "us-east-1")
    offers = {o["instance_type"]: o for o in json.loads(result.stdout)["offers"]}
    assert offers["g6.xlarge"]["prices_usd_per_hour"]["on_demand"] == 0.05


def test_show_alias_model_variant_offer() -> None:
    accelerator = run("show", "H100", "--format", "json")
    assert accelerator.exit_code == 0
    assert json.loads(accelerator.stdout)["name"] == "H100-SXM"
    assert "kind: model" in run("show", "llama-3.1-8b").stdout
    assert "kind: variant" in run("show", "fp8").stdout
    offer = run("show", "aws/us-east-1/p5.48xlarge", "--format", "json")
    assert json.loads(offer.stdout)["count"] == 8


def test_show_unknown_suggests() -> None:
    result = run("show", "llama-3.1-8c")
    assert result.exit_code == 1
    assert "did you mean 'llama-3.1-8b'" in result.stderr and "Traceback" not in result.output


def test_default_catalog_validates() -> None:
    result = run("validate")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1].startswith("0 errors, ")


def test_defective_catalog_fails_with_locations() -> None:
    path = DATA / "broken_prices.yaml"
    result = run("validate", str(path), "--format", "json")
    assert result.exit_code == 1
    document = json.loads(result.stdout)
    found = {(f["line"], f["severity"], f["message"].split(" ")[0]) for f in document["findings"]}
    assert (3, "error", "spot") in found  # spot above on-demand
    assert (5, "warning", "spot") in found  # spot equal to on-demand
    assert (7, "error", "placeholder") in found  # 700.0
    assert (9, "error", "count") in found and (9, "error", "reserved_3y") in found  # ND96 with 12
    assert (11, "warning", "no") in found and (11, "warning", "as_of") in found  # no on-demand, stale
    assert (13, "error", "placeholder") in found and (13, "error", "reserved_1y") in found  # 10x median
    assert (19, "error", "memory_gb") in found  # MiB instead of GB
    text = run("validate", str(path))
    assert f"{path}:3: error:" in text.stdout
    assert text.stdout.splitlines()[-1] == "8 errors, 3 warnings in 7 rows"


def test_schema_error_is_located() -> None:
    path = DATA / "broken_schema.yaml"
    result = run("validate", str(path))
    assert result.exit_code == 1
    assert f"{path}:4: error: offers[1].count:" in result.stdout


def test_warnings_only_exit_zero_and_max_age() -> None:
    path = DATA / "broken_prices.yaml"
    strict = run("validate", str(path), "--max-age-days", "100000", "--format", "json")
    assert not any("as_of" in f["message"] for f in json.loads(strict.stdout)["findings"])
    clean = run("validate", str(DATA / "broken_schema.yaml").replace("broken_schema", "missing"))
    assert clean.exit_code == 1 and "not found" in clean.stderr


def test_list_shows_owned_servers_with_monthly_cost() -> None:
    result = run("list", "--provider", "owned")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert "owned_per_month" in lines[0].split()
    assert any("dgx-h100" in line and "6,948" in line for line in lines)
    offers = json.loads(run("list", "--provider", "owned", "--format", "json").stdout)["offers"]
    assert offers and all(o["owned_usd_per_month"] > 0 for o in offers)


def test_list_energy_rows_with_region_filter() -> None:
    result = run("list", "--energy")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0].split() == ["region", "usd_per_kwh", "pue", "grid_gco2_per_kwh",
                                                     "as_of"]
    rows = json.loads(run("list", "--energy", "--region", "us-east-1", "--format", "json").stdout)["energy"]
    assert [row["region"] for row in rows] == ["us-east-1"]
    unknown = run("list", "--energy", "--region", "us-east-9")
    assert unknown.exit_code == 1 and "did you mean" in unknown.stderr


def test_show_owned_offer_has_its_economics() -> None:
    result = run("show", "owned/onprem-us/dgx-h100", "--format", "json")
    assert result.exit_code == 0, result.output
    ownership = json.loads(result.stdout)["ownership"]
    assert ownership["amortised_usd_per_month"] == round(199000 / 60, 2)
    assert ownership["total_usd_per_month"] == pytest.approx(
        ownership["amortised_usd_per_month"] + ownership["operations_usd_per_month"]
        + ownership["idle_energy_usd_per_month"], abs=0.02)
    # 10.2 kW x 0.7 busy share x PUE 1.58 x 0.0892 $/kWh
    assert ownership["busy_energy_usd_per_hour"] == pytest.approx(10.2 * 0.7 * 1.58 * 0.0892, abs=1e-3)
    assert ownership["energy"]["region"] == "onprem-us"
    assert "ownership" not in json.loads(run("show", "aws/us-east-1/p5.48xlarge", "--format", "json").stdout)


def test_show_energy_region() -> None:
    result = run("show", "onprem-eu")
    assert result.exit_code == 0, result.output
    assert "kind: energy" in result.stdout and "pue: 1.58" in result.stdout
