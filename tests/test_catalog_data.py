"""The default catalog's data (owned servers, energy, spot interruption, variant preparation) and
the `plan catalog validate` checks that guard it, each fired on a crafted bad row."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from clirun import invoke
from planner.catalog import Catalog, PricingMode, load_catalog

ADVISOR_BAND_EDGES = {0.05, 0.10, 0.15, 0.20, 0.25}


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog(["default"])


def validate(*args: str) -> tuple[int, dict[str, Any]]:
    result = invoke(["catalog", "validate", *args, "--format", "json"])
    return result.exit_code, json.loads(result.stdout)


def test_default_catalog_has_no_errors() -> None:
    exit_code, document = validate()
    assert exit_code == 0 and document["errors"] == 0, document["findings"]


def test_owned_servers_include_h100_and_l40s_and_are_priced(catalog: Catalog) -> None:
    owned = [offer for offer in catalog.offers if offer.owned is not None]
    assert len(owned) >= 2
    assert {"H100-SXM", "L40S"} <= {offer.accelerator for offer in owned}
    for offer in owned:
        assert offer.prices_usd_per_hour.on_demand is None  # bought, not rented
        monthly = catalog.monthly_price(offer, PricingMode.owned)
        assert monthly is not None and monthly > offer.owned.fixed_usd_per_month  # type: ignore[union-attr]
        assert catalog.busy_energy_usd_per_hour(offer, PricingMode.owned) > 0
        assert catalog.kg_co2_per_busy_hour(offer) is not None


def test_owning_an_h100_server_costs_less_per_hour_than_renting_one(catalog: Catalog) -> None:
    """The point of owning: a fully used DGX H100 is cheaper than AWS p5 even on a 3-year term."""
    owned = next(o for o in catalog.offers if o.key == "owned/onprem-us/dgx-h100")
    rented = next(o for o in catalog.offers if o.key == "aws/us-east-1/p5.48xlarge")
    owned_busy_hour = (catalog.monthly_price(owned, PricingMode.owned) or 0) / 730 \
        + catalog.busy_energy_usd_per_hour(owned, PricingMode.owned)
    assert rented.prices_usd_per_hour.reserved_3y is not None
    assert owned_busy_hour < rented.prices_usd_per_hour.reserved_3y


def test_every_offer_region_has_an_energy_row(catalog: Catalog) -> None:
    missing = sorted({offer.region for offer in catalog.offers} - set(catalog.energy))
    assert missing == []
    for energy in catalog.energy.values():
        assert 0.01 <= energy.usd_per_kwh <= 1.0 and 1.0 <= energy.pue <= 2.5


def test_plain_a100_is_the_40gb_part(catalog: Catalog) -> None:
    assert catalog.resolve_accelerator("A100") == "A100-40GB"
    assert catalog.resolve_accelerator("A100-80GB") == "A100-80GB"
    by_type: dict[str, set[str]] = {}
    for offer in catalog.offers:
        by_type.setdefault(offer.instance_type, set()).add(offer.accelerator)
    assert by_type["p4d.24xlarge"] == {"A100-40GB"}
    assert by_type["p4de.24xlarge"] == {"A100-80GB"}


def test_spot_interruption_rates_are_advisor_band_edges_on_spot_offers(catalog: Catalog) -> None:
    rated = [offer for offer in catalog.offers if offer.spot_interruption_rate is not None]
    assert rated
    for offer in rated:
        assert offer.prices_usd_per_hour.spot is not None, offer.key
        assert offer.spot_interruption_rate in ADVISOR_BAND_EDGES, offer.key
        assert offer.provider == "aws"  # only AWS publishes per-instance bands


def test_variants_carry_their_preparation_cost(catalog: Catalog) -> None:
    prep = {name: v.preparation_gpu_hours_per_b_params for name, v in catalog.variants.items()}
    assert prep["bf16"] == 0 and prep["fp8"] == 0  # no run needed (dynamic FP8)
    assert all(prep[name] > 0 for name in ("int8", "int4-awq", "int4-gptq", "sparse-2of4"))
    assert prep["sparse-2of4"] > 100 * prep["int4-gptq"]  # recovery training, not a calibration pass


BAD_ROWS = """\
offers:
  - {provider: owned, region: onprem-us, instance_type: cheap, accelerator: H100, count: 8,
     owned: {purchase_usd: 4000, lifetime_years: 5, power_kw: 10}, source: fixture, as_of: 2026-01-01}
  - {provider: owned, region: onprem-us, instance_type: forever, accelerator: H100, count: 8,
     owned: {purchase_usd: 200000, lifetime_years: 12, power_kw: 10}, source: fixture, as_of: 2026-01-01}
  - {provider: owned, region: onprem-us, instance_type: watts, accelerator: H100, count: 8,
     owned: {purchase_usd: 200000, lifetime_years: 5, power_kw: 2}, source: fixture, as_of: 2026-01-01}
  - {provider: owned, region: onprem-us, instance_type: megawatts, accelerator: H100, count: 8,
     owned: {purchase_usd: 200000, lifetime_years: 5, power_kw: 100}, source: fixture, as_of: 2026-01-01}
  - {provider: owned, region: onprem-mars, instance_type: dark, accelerator: H100, count: 8,
     owned: {purchase_usd: 200000, lifetime_years: 5, power_kw: 10}, source: fixture, as_of: 2026-01-01}
  - {provider: aws, region: us-east-1, instance_type: g6.xlarge, accelerator: L4, count: 1,
     prices_usd_per_hour: {on_demand: 0.8}, spot_interruption_rate: 0.1, source: fixture, as_of: 2026-01-01}
energy:
  - {region: hot, usd_per_kwh: 0.1, pue: 3.0, grid_gco2_per_kwh: 300, source: fixture, as_of: 2026-01-01}
  - {region: cents, usd_per_kwh: 9.0, pue: 1.2, grid_gco2_per_kwh: 300, source: fixture, as_of: 2026-01-01}
  - {region: mwh, usd_per_kwh: 0.0001, pue: 1.2, grid_gco2_per_kwh: 300, source: fixture, as_of: 2026-01-01}
"""


def test_each_new_check_fires_on_a_crafted_row(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(BAD_ROWS)
    exit_code, document = validate(str(path))
    assert exit_code == 1
    found = {(f["line"], f["severity"], f["message"].split(" ")[0]) for f in document["findings"]}
    assert (2, "error", "purchase_usd") in found  # $500 per accelerator
    assert (4, "warning", "lifetime_years") in found  # 12 years
    assert (6, "error", "power_kw") in found  # below 8 x 700 W
    assert (8, "error", "power_kw") in found  # above 3x the TDP
    assert (10, "error", "no") in found  # no energy row for onprem-mars
    assert (12, "warning", "spot_interruption_rate") in found  # no spot price
    assert (15, "warning", "pue") in found
    assert (16, "warning", "usd_per_kwh") in found and (17, "warning", "usd_per_kwh") in found
    lines = {f["line"] for f in document["findings"]}
    assert lines == {2, 4, 6, 8, 10, 12, 15, 16, 17}  # nothing else fires on these rows
    assert document["rows"] == 9


def test_pue_below_one_is_a_located_schema_error(tmp_path: Path) -> None:
    path = tmp_path / "pue.yaml"
    path.write_text("energy:\n  - {region: magic, usd_per_kwh: 0.1, pue: 0.9, grid_gco2_per_kwh: 300,"
                    " source: test fixture, as_of: 2026-01-01}\n")
    exit_code, document = validate(str(path))
    assert exit_code == 1
    assert any(f["line"] == 2 and "pue" in f["row"] for f in document["findings"]), document["findings"]
