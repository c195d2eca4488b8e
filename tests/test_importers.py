"""Importers: known outputs and known defects on small fixtures, and on the real shared samples."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
import yaml

from clirun import invoke
from conftest import ROOT, SHARED_DATA
from planner.catalog import Catalog, load_catalog
from planner.importers import run_import
from planner.importers.instances import expected_count

DATA = ROOT / "tests" / "data" / "importers"
AS_OF = dt.date(2025, 11, 1)


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog(["default"])


def offers_by_key(result) -> dict[str, dict]:  # type: ignore[no-untyped-def,type-arg]
    return {f"{o['provider']}/{o['region']}/{o['instance_type']}": o for o in result.offers}


def reasons(result) -> dict[str, str]:  # type: ignore[no-untyped-def,type-arg]
    return {ref: reason for ref, reason in result.report.skipped}


def test_skypilot_aws_known_output_and_defects(catalog: Catalog) -> None:
    result = run_import("skypilot", DATA / "skypilot_aws_v8.csv", catalog, AS_OF)
    offers = offers_by_key(result)
    assert set(offers) == {"aws/us-east-1/g6.xlarge", "aws/us-east-2/p4d.24xlarge",
                           "aws/eu-west-2/p5.48xlarge"}
    l4 = offers["aws/us-east-1/g6.xlarge"]
    assert l4["accelerator"] == "L4" and l4["count"] == 1
    assert l4["prices_usd_per_hour"] == {"on_demand": 0.05, "spot": 0.02}  # spot = cheapest zone
    assert "rows 2, 3" in str(l4["source"]) and l4["as_of"] == AS_OF
    assert offers["aws/us-east-2/p4d.24xlarge"]["accelerator"] == "A100-40GB"  # SkyPilot A100 = 40 GB
    # spot equal to on-demand is dropped
    assert offers["aws/eu-west-2/p5.48xlarge"]["prices_usd_per_hour"] == {"on_demand": 55.04}
    skipped = reasons(result)
    assert skipped["skypilot_aws_v8.csv:5"].startswith("count disagrees")  # p4d with 4 GPUs
    assert skipped["skypilot_aws_v8.csv:6"].startswith("spot above on-demand")
    assert skipped["skypilot_aws_v8.csv:8"] == "no on-demand price"
    assert skipped["skypilot_aws_v8.csv:9"].startswith("placeholder price")
    assert skipped["skypilot_aws_v8.csv:10"].startswith("unknown accelerator")
    assert any("spot equal to on-demand" in m for _, m in result.report.warnings)
    assert result.report.rows_read == 10 and result.report.offers_written == 3


def test_skypilot_output_is_a_valid_catalog(catalog: Catalog, tmp_path: Path) -> None:
    result = run_import("skypilot", DATA / "skypilot_aws_v8.csv", catalog, AS_OF)
    path = tmp_path / "prices.yaml"
    path.write_text(result.text)
    merged = load_catalog(["default", str(path)])
    offer = next(o for o in merged.offers if o.key == "aws/us-east-1/g6.xlarge")
    assert offer.prices_usd_per_hour.on_demand == 0.05


def test_skypilot_azure_v6(catalog: Catalog) -> None:
    result = run_import("skypilot", DATA / "skypilot_azure_v6.csv", catalog, AS_OF)
    offers = offers_by_key(result)
    assert offers["azure/eastus/Standard_NC24ads_A100_v4"]["accelerator"] == "A100-80GB-PCIe"
    assert offers["azure/eastus/Standard_NC40ads_H100_v5"]["accelerator"] == "H100-NVL"
    assert offers["azure/eastus/Standard_NC40ads_H100_v5"]["prices_usd_per_hour"] == {"on_demand": 6.98}
    assert "azure/eastus/Standard_ND96isr_H100_v5" not in offers
    assert "count disagrees" in reasons(result)["skypilot_azure_v6.csv:4"]
    assert result.report.ignored  # the fractional A10 row without an accelerator


def test_skypilot_gcp_pairs_host_and_gpu_rows(catalog: Catalog) -> None:
    result = run_import("skypilot", DATA / "skypilot_gcp_v8.csv", catalog, AS_OF)
    offers = offers_by_key(result)
    a2 = offers["gcp/us-central1/a2-highgpu-8g"]
    assert a2["accelerator"] == "A100-40GB" and a2["count"] == 8
    # host + GPU per zone: a = 5.9 + 23.5 on-demand, spot 2.9 + 11.5; b = spot 2.5 + 11.0 (the cheapest)
    assert a2["prices_usd_per_hour"] == {"on_demand": 29.4, "spot": 13.5}
    tpu = offers["gcp/us-central1/tpu-v6e-8"]
    assert (tpu["accelerator"], tpu["count"]) == ("TPU-v6e", 8)
    skipped = reasons(result)
    assert skipped["skypilot_gcp_v8.csv:9"].startswith("spot above on-demand")  # A100-80GB GPU row
    assert skipped["skypilot_gcp_v8.csv:12"].startswith("placeholder price")  # TPU 700.0
    assert skipped["skypilot_gcp_v8.csv:10"].startswith("no matching host VM row")  # T4 without n1 host
    assert skipped["skypilot_gcp_v8.csv:4"].startswith("no matching GPU row")  # its GPU row was defective


def test_skypilot_runpod_spot_equal_and_memory_unit(catalog: Catalog) -> None:
    result = run_import("skypilot", DATA / "skypilot_runpod_v8.csv", catalog, AS_OF)
    offers = offers_by_key(result)
    assert all("spot" not in o["prices_usd_per_hour"] for o in offers.values())
    assert offers["runpod/US/1x_A100-80GB_SECURE"]["accelerator"] == "A100-80GB-PCIe"
    assert "count disagrees" in reasons(result)["skypilot_runpod_v8.csv:4"]
    messages = [m for _, m in result.report.warnings]
    assert sum("spot equal to on-demand" in m for m in messages) == 2
    assert any("GB in a MiB field" in m for m in messages)


def test_azure_retail_prices(catalog: Catalog) -> None:
    result = run_import("azure", DATA / "azure_retail.json", catalog, AS_OF)
    offers = offers_by_key(result)
    assert list(offers) == ["azure/eastus/Standard_NC24ads_A100_v4"]
    # reservation totals: 17,520 / 8,760 = 2.0 per hour (1 year); 39,420 / 26,280 = 1.5 (3 years)
    assert offers["azure/eastus/Standard_NC24ads_A100_v4"]["prices_usd_per_hour"] == {
        "on_demand": 3.673, "spot": 0.7345, "reserved_1y": 2.0, "reserved_3y": 1.5}
    assert any(reason.startswith("spot above on-demand") for reason in reasons(result).values())
    ignored = result.report.ignored
    assert ignored["DevTestConsumption"] == ignored["Low Priority meter"] == ignored["Windows"] == 1


def test_aws_offer_json(catalog: Catalog) -> None:
    result = run_import("aws", DATA / "aws_offer.json", catalog, AS_OF)
    offers = offers_by_key(result)
    # 1yr: min(no upfront 20.0, all upfront 157,680 / 8,760 = 18.0); 3yr: 5.0 + 262,800 / 26,280 = 15.0
    assert offers["aws/us-east-1/p4d.24xlarge"]["prices_usd_per_hour"] == {
        "on_demand": 32.7726, "reserved_1y": 18.0, "reserved_3y": 15.0}
    assert offers["aws/us-east-1/p4d.24xlarge"]["accelerator"] == "A100-40GB"
    assert reasons(result) == {"aws_offer.json:products.SKUG5": "no on-demand price"}


def test_aws_bulk_csv(catalog: Catalog) -> None:
    result = run_import("aws", DATA / "aws_price_list.csv", catalog)
    offers = offers_by_key(result)
    # 1yr partial: 0.3 + 1,752 / 8,760 = 0.5; 3yr all upfront: 7,884 / 26,280 = 0.3
    assert offers["aws/us-east-1/g6.xlarge"]["prices_usd_per_hour"] == {
        "on_demand": 0.8048, "reserved_1y": 0.5, "reserved_3y": 0.3}
    assert offers["aws/us-east-1/g6.xlarge"]["as_of"] == dt.date(2025, 9, 12)  # the publication date
    assert list(reasons(result).values()) == ["no on-demand price"]  # p5.4xlarge, no price


def test_gcp_skus_assembled(catalog: Catalog) -> None:
    result = run_import("gcp", DATA / "gcp_skus.json", catalog, AS_OF)
    offers = offers_by_key(result)
    one = offers["gcp/us-central1/a2-highgpu-1g"]
    # 12 vCPU x 0.031611 + 85 GiB x 0.004237 + 1 x 2.933908 = 3.673385; spot 0.12 + 0.085 + 0.88
    assert one["prices_usd_per_hour"] == {"on_demand": 3.673385, "spot": 1.085}
    assert (one["accelerator"], one["count"]) == ("A100-40GB", 1)
    assert offers["gcp/us-central1/a2-megagpu-16g"]["count"] == 16
    assert all(r.startswith("no matching host SKUs") for r in reasons(result).values())  # L4, Commit1Yr


def test_expected_counts() -> None:
    assert expected_count("aws", "p4d.24xlarge") == 8
    assert expected_count("aws", "g5.12xlarge") == 4
    assert expected_count("azure", "Standard_ND96isr_H100_v5") == 8
    assert expected_count("gcp", "a3-highgpu-8g") == 8
    assert expected_count("gcp", "tpu-v5p-8") == 4
    assert expected_count("lambda", "gpu_8x_h100_sxm5") == 8
    assert expected_count("runpod", "2x_H100-SXM_SECURE") == 2
    assert expected_count("aws", "m7i.metal-48xl") is None


def test_import_cli_then_solve_uses_imported_prices(tmp_path: Path) -> None:
    """Done-when: import a SkyPilot vms.csv, use it in a problem's catalogs, solve."""
    (tmp_path / "vms.csv").write_text((DATA / "skypilot_aws_v8.csv").read_text())
    result = invoke(["catalog", "import", "--from", "skypilot", str(tmp_path / "vms.csv"),
                                  "-o", str(tmp_path / "prices.yaml")])
    assert result.exit_code == 0, result.output
    assert "skipped: vms.csv:6: spot above on-demand" in result.stderr
    assert "10 rows read, 3 offers written, 5 skipped" in result.stderr
    again = invoke(["catalog", "import", "--from", "skypilot", str(tmp_path / "vms.csv"),
                                 "-o", str(tmp_path / "prices.yaml")])
    assert again.exit_code == 1 and "--force" in again.stderr
    problem = {
        "name": "imported-prices", "catalogs": ["default", "prices.yaml"],
        "allow": {"providers": ["aws"], "pricing": ["on_demand"]},
        "workloads": [{"name": "chat", "model": "llama-3.2-1b", "rate_rps": 2,
                       "tokens": {"prompt": 200, "output": 100}, "slo": {"ttft_ms": 2000, "tpot_ms": 100}}],
    }
    (tmp_path / "problem.yaml").write_text(yaml.safe_dump(problem, sort_keys=False))
    solved = invoke(["solve", str(tmp_path / "problem.yaml"), "--format", "json"])
    assert solved.exit_code == 0, solved.output
    plan = json.loads(solved.stdout)
    [allocation] = plan["allocations"]
    # the imported g6.xlarge (0.05 $/h, the default catalog lists 0.8048) wins
    assert (allocation["region"], allocation["instance_type"]) == ("us-east-1", "g6.xlarge")
    assert allocation["cost_usd_per_month"] == pytest.approx(allocation["instances"] * 0.05 * 730)
    assert plan["objective_usd_per_month"] == pytest.approx(allocation["cost_usd_per_month"])


def test_import_errors_are_messages(tmp_path: Path) -> None:
    missing = invoke(["catalog", "import", "--from", "azure", str(tmp_path / "nope.json"),
                                   "-o", str(tmp_path / "out.yaml")])
    assert missing.exit_code == 1 and "not found" in missing.stderr and "Traceback" not in missing.output
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    broken = invoke(["catalog", "import", "--from", "gcp", str(bad),
                                  "-o", str(tmp_path / "o.yaml")])
    assert broken.exit_code == 1 and "not valid JSON" in broken.stderr
    wrong = invoke(["catalog", "import", "--from", "skypilot", str(DATA / "azure_retail.json"),
                                 "-o", str(tmp_path / "o.yaml")])
    assert wrong.exit_code == 1 and "not a SkyPilot catalog CSV" in wrong.stderr
    assert not (tmp_path / "o.yaml").exists()


# --- the real public samples in ../shared/data (skipped in a fresh clone) -------------------

SKYPILOT = SHARED_DATA / "skypilot-catalog"
FORMATS = SHARED_DATA / "pricing-formats"


def shared(path: Path) -> Path:
    if not path.is_file():
        pytest.skip(f"{path} not present (shared reference data)")
    return path


def test_real_gcp_sample_defects(catalog: Catalog) -> None:
    result = run_import("skypilot", shared(SKYPILOT / "gcp_vms_gpu_sample.csv"), catalog, AS_OF)
    skipped = reasons(result)
    spot_above = [ref for ref, reason in skipped.items() if reason.startswith("spot above on-demand")]
    # A100-80GB x1 us-central1 / europe-west4, x8 us-central1 (and H200 x8 europe-west1)
    assert {f"gcp_vms_gpu_sample.csv:{line}" for line in (14, 15, 16, 30)} == set(spot_above)
    assert skipped["gcp_vms_gpu_sample.csv:45"].startswith("placeholder price")  # tpu-v6e-1 700.0
    assert result.offers  # the a2 / a3 hosts that do pair


def test_real_aws_sample_rows_without_price(catalog: Catalog) -> None:
    result = run_import("skypilot", shared(SKYPILOT / "aws_vms_gpu_sample.csv"), catalog, AS_OF)
    no_spot = [ref for ref, message in result.report.warnings if message.startswith("no spot price")]
    assert len(no_spot) == 2  # p5.48xlarge ap-northeast-2, p5.4xlarge us-east-1 (capacity blocks)
    offers = offers_by_key(result)
    assert "spot" not in offers["aws/us-east-1/p5.4xlarge"]["prices_usd_per_hour"]
    assert offers["aws/us-east-1/p5.48xlarge"]["prices_usd_per_hour"]["spot"] == 17.6289


def test_real_azure_sample_defects(catalog: Catalog) -> None:
    result = run_import("skypilot", shared(SKYPILOT / "azure_vms_gpu_sample_v6.csv"), catalog, AS_OF)
    count_defects = [ref for ref, reason in result.report.skipped if reason.startswith("count disagrees")]
    assert len(count_defects) == 2  # ND96isr_H100_v5 with 12 GPUs, eastus and westus
    assert all("also spot equal to on-demand" in reason for _, reason in result.report.skipped)
    assert "azure/eastus/Standard_ND96isr_H100_v5" not in offers_by_key(result)
    assert sum("spot equal to on-demand" in m for _, m in result.report.warnings) == 3  # NC H100 v5
    retail = run_import("azure", shared(FORMATS / "azure_retail_prices_sample.json"), catalog, AS_OF)
    assert retail.offers[0]["prices_usd_per_hour"] == {"on_demand": 3.673, "spot": 0.7345}
    assert retail.report.ignored["DevTestConsumption"] == 1


def test_real_runpod_sample_spot_equal(catalog: Catalog) -> None:
    result = run_import("skypilot", shared(SKYPILOT / "runpod_vms_gpu_sample.csv"), catalog, AS_OF)
    assert sum("spot equal to on-demand" in m for _, m in result.report.warnings) == 17
    assert sum("GB in a MiB field" in m for _, m in result.report.warnings) == 17
    assert all("spot" not in o["prices_usd_per_hour"] for o in result.offers)


def test_real_lambda_sample(catalog: Catalog) -> None:
    result = run_import("skypilot", shared(SKYPILOT / "lambda_vms_gpu_sample.csv"), catalog, AS_OF)
    assert offers_by_key(result)["lambda/us-east-1/gpu_1x_h100_pcie"]["accelerator"] == "H100-PCIe"
    assert {r for r in result.report.skipped_by_reason()} == {"unknown accelerator"}  # B200, GH200, ...


def test_real_price_list_samples(catalog: Catalog) -> None:
    offer = run_import("aws", shared(FORMATS / "aws_price_list_offer_sample.json"), catalog, AS_OF)
    assert offer.report.rows_read == 1 and not offer.offers  # c4.large: no accelerator
    bulk = run_import("aws", shared(FORMATS / "aws_price_list_sample.csv"), catalog, AS_OF)
    assert bulk.report.rows_read == 2 and not bulk.offers  # Windows, dedicated
    gcp = run_import("gcp", shared(FORMATS / "gcp_billing_catalog_skus_sample.json"), catalog, AS_OF)
    one = offers_by_key(gcp)["gcp/us-central1/a2-highgpu-1g"]
    assert one["prices_usd_per_hour"]["on_demand"] == pytest.approx(3.673385)
    assert len(gcp.offers) == 15  # 5 a2-highgpu/megagpu shapes x 3 regions
