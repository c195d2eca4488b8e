"""`plan catalog list / show / validate`."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from conftest import ROOT
from planner.cli import main

DATA = ROOT / "tests" / "data" / "importers"


def run(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(main, ["catalog", *args])


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
