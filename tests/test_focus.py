"""FOCUS billing reader: rows mapped onto catalog offers, unmapped ones listed, totals that add up."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest

from conftest import ROOT, SHARED_DATA
from planner.catalog import Catalog, load_catalog
from planner.errors import InputError
from planner.focus import Billing, Pricing, RowKind, provider_name, read_focus

DATA = ROOT / "tests" / "data" / "audit"
FOCUS_SAMPLE = SHARED_DATA / "pricing-formats" / "focus_sample.csv"
HEADER = ("BilledCost,EffectiveCost,ChargePeriodStart,ChargePeriodEnd,ProviderName,RegionId,"
          "PricingCategory,CommitmentDiscountStatus,ConsumedQuantity,ConsumedUnit,ChargeDescription,"
          "x_SkuMeterName\n")


@pytest.fixture(scope="module")
def test_catalog() -> Catalog:
    return load_catalog([str(DATA / "catalog.yaml")])


@pytest.fixture(scope="module")
def default_catalog() -> Catalog:
    return load_catalog(["default"])


def billed_sum(path: Path) -> tuple[int, float]:
    """Rows and BilledCost sum read independently with the csv module."""
    with path.open(encoding="utf-8-sig", newline="") as stream:
        values = [float(row["BilledCost"]) for row in csv.DictReader(stream)]
    return len(values), math.fsum(values)


def test_fixture_rows_by_kind(test_catalog: Catalog) -> None:
    billing = read_focus(DATA / "focus.csv", test_catalog)
    assert billing.rows_read == 125
    # chat 48 + embed 48 + the untagged hour 1 + the unused reservation 24
    assert billing.row_count(RowKind.accelerator) == 121
    assert billing.row_count(RowKind.unmapped) == 1  # p4d.24xlarge is not in the test catalog
    assert billing.row_count(RowKind.other) == 3  # c5.large, S3, a credit
    assert billing.billed(RowKind.accelerator) == pytest.approx(192 + 24 + 1 + 14.4)
    assert billing.billed(RowKind.unmapped) == pytest.approx(32.77)
    assert billing.billed(RowKind.other) == pytest.approx(0.085 + 2.3 - 5)
    assert billing.billed_total_usd == pytest.approx(261.555)
    assert billing.span_hours == 48 and billing.monthly_factor == pytest.approx(730 / 48)


def test_instance_type_from_each_source(test_catalog: Catalog) -> None:
    billing = read_focus(DATA / "focus.csv", test_catalog)
    by_line = {row.line: row for row in billing.rows}
    assert by_line[2].offer_key == "aws/us-east-1/g6.xlarge"  # x_UsageType
    assert by_line[2].instance_hours == 4 and by_line[2].tags == {"workload": "chat"}
    assert by_line[3].offer_key == "aws/us-east-1/g5.xlarge"  # SkuPriceDetails
    assert by_line[98].offer_key == "aws/us-east-1/g6.xlarge"  # ResourceType
    unused = [row for row in billing.rows if row.commitment_unused]
    assert len(unused) == 24 and all(row.pricing is Pricing.committed for row in unused)
    assert {row.offer_key for row in unused} == {"aws/us-east-1/g6.xlarge"}  # description
    [group] = billing.unmapped_groups()
    assert group.what == "aws/us-east-1/p4d.24xlarge" and group.lines == (123,)
    assert "not in the catalog" in group.reason


def test_pricing_categories_providers_and_meter_names(tmp_path: Path, default_catalog: Catalog) -> None:
    path = tmp_path / "azure.csv"
    period = "2024-09-02T00:00:00Z,2024-09-02T01:00:00Z"
    path.write_text(HEADER + "".join([
        f"3.0,3.0,{period},Microsoft,eastus,Standard,,1,Hours,,NC24ads A100 v4\n",
        f"1.0,1.0,{period},Microsoft,eastus,Dynamic,,1,Hours,,NC24ads A100 v4 Spot\n",
        f"0.0,2.0,{period},Microsoft,eastus,Committed,Used,1,Hours,Standard_NC24ads_A100_v4,\n",
        f"5.0,5.0,{period},Microsoft,brazilsouth,Standard,,1,Hours,,ND96isr H100 v5\n",
        f"2.0,2.0,{period},Google Cloud,us-central1,Standard,,1,Hours,Nvidia Tesla T4 GPU running "
        f"in Americas,\n",
        f"0.5,0.5,{period},Microsoft,eastus,Standard,,1,Hours,,D4s v5\n",
        f"9.0,9.0,{period},AWS,us-east-1,Standard,,1,Hours,$9.00 per Spot Linux p4d.24xlarge "
        f"Instance Hour,\n",
        f"1.5,1.5,{period},Google Cloud,us-central1,Standard,,1,Hours,A2 Instance Core running in "
        f"Americas,\n",
        f"2.5,2.5,{period},Lambda,us-east-1,Standard,,1,Hours,On-demand gpu_1x_h100_pcie,\n",
    ]))
    billing = read_focus(path, default_catalog)
    rows = billing.rows
    assert [row.kind for row in rows] == [RowKind.accelerator] * 3 + [RowKind.unmapped] * 2 + [
        RowKind.accelerator, RowKind.unmapped, RowKind.accelerator]
    assert rows[7].offer_key == "lambda/us-east-1/gpu_1x_h100_pcie"  # a name only the catalog knows
    assert {row.offer_key for row in rows[:3]} == {"azure/eastus/Standard_NC24ads_A100_v4"}
    assert [row.pricing for row in rows[:3]] == [Pricing.on_demand, Pricing.spot, Pricing.committed]
    assert rows[2].cost_usd == 2.0 and rows[0].cost_usd == 3.0  # EffectiveCost on commitments only
    assert rows[3].instance_type == "Standard_ND96isr_H100_v5"
    assert rows[3].reason == "no catalog offer for Standard_ND96isr_H100_v5 in brazilsouth"
    assert rows[4].reason == rows[6].reason == "accelerator charge without an instance type"
    assert rows[5].offer_key == "aws/us-east-1/p4d.24xlarge" and rows[5].pricing is Pricing.spot
    assert billing.row_count(RowKind.other) == 1  # a D-series VM is not an accelerator
    assert provider_name("Amazon Web Services, Inc.") == "aws"
    assert provider_name("Oracle") == "oci"


def test_real_focus_sample_every_row_accounted(default_catalog: Catalog) -> None:
    if not FOCUS_SAMPLE.is_file():
        pytest.skip("shared FOCUS sample not available (../shared/data)")
    billing = read_focus(FOCUS_SAMPLE, default_catalog)
    rows, total = billed_sum(FOCUS_SAMPLE)
    assert billing.rows_read == rows == 163
    assert sum(billing.row_count(kind) for kind in RowKind) == rows
    assert billing.billed_total_usd == pytest.approx(total, abs=1e-9)
    assert math.fsum(billing.billed(kind) for kind in RowKind) == pytest.approx(total, abs=1e-9)
    # every accelerator instance row of the sample (g5.4xlarge, g3.4xlarge) is listed, not dropped
    with FOCUS_SAMPLE.open(encoding="utf-8-sig", newline="") as stream:
        gpu_lines = {index + 2 for index, row in enumerate(csv.DictReader(stream))
                     if " g5." in row["ChargeDescription"] or " g3." in row["ChargeDescription"]}
    listed = {line for group in billing.unmapped_groups() for line in group.lines}
    mapped = {row.line for row in billing.of_kind(RowKind.accelerator)}
    assert gpu_lines and gpu_lines <= listed | mapped
    assert {group.what for group in billing.unmapped_groups()} >= {"aws/us-east-1/g5.4xlarge"}


def read_error(path: Path, catalog: Catalog) -> str:
    with pytest.raises(InputError) as raised:
        read_focus(path, catalog)
    return str(raised.value)


@pytest.mark.parametrize(("name", "expected"), [
    ("focus_missing_column.csv", ":1: BilledCost: required FOCUS column missing"),
    ("focus_bad_cost.csv", ":3:1: BilledCost: not a number (got '12,5')"),
    ("focus_bad_period.csv", ":2:2: ChargePeriodStart: not an ISO 8601 time"),
])
def test_bad_billing_files(name: str, expected: str, test_catalog: Catalog) -> None:
    path = DATA / "bad" / name
    assert f"{path}{expected}" in read_error(path, test_catalog)


def test_empty_and_missing_billing_files(tmp_path: Path, test_catalog: Catalog) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    assert "the billing file is empty" in read_error(empty, test_catalog)
    header_only = tmp_path / "header.csv"
    header_only.write_text(HEADER)
    assert "has no rows" in read_error(header_only, test_catalog)
    assert "billing file not found" in read_error(tmp_path / "nope.csv", test_catalog)
    ragged = tmp_path / "ragged.csv"
    ragged.write_text(HEADER + "1.0,1.0\n")
    assert f"{ragged}:2: 2 fields, the header has 12" in read_error(ragged, test_catalog)


def test_monthly_factor_from_the_charge_periods() -> None:
    billing = Billing("x", start_s=0.0, end_s=24 * 3600.0)
    assert billing.monthly_factor == pytest.approx(730 / 24)
