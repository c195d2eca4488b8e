"""Defect checks for catalog files (`plan catalog validate`).

Schema errors come from `planner.catalog.load_catalog`; these checks look for the defects
public price data is known to have, each located at its row (file:line):

| check | severity |
|---|---|
| spot above on-demand | error |
| spot equal to on-demand (no real spot data) | warning |
| placeholder price (exactly 700.0, or >= 10x the median $/accelerator-hour of its accelerator) | error |
| missing on-demand price | warning |
| reserved above on-demand, reserved_3y above reserved_1y | error |
| accelerator count that disagrees with the instance name | error |
| accelerator memory_gb > 1000 or < 1 (MiB or TB, not GB) | error |
| offer as_of older than --max-age-days | warning |
| owned server: purchase price per accelerator outside $1k-$200k | error |
| owned server: power below the accelerators' total TDP or above 3x it (W or MW instead of kW?) | error |
| owned server: lifetime outside 2-10 years | warning |
| owned server in a region without an energy row (it cannot be priced) | error |
| spot_interruption_rate without a spot price | warning |
| energy row: PUE below 1.0 or above 2.5, price outside $0.01-1.0 per kWh | warning |
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from planner.catalog import Catalog, CatalogFile, Energy, Offer, did_you_mean
from planner.importers.common import OUTLIER_FACTOR, PLACEHOLDER_PRICE, same_price
from planner.importers.instances import expected_count
from planner.yamlio import LoadedYaml, read_yaml

DEFAULT_MAX_AGE_DAYS = 730
PURCHASE_USD_PER_ACCELERATOR = (1_000.0, 200_000.0)
"""Plausible server price per accelerator: an L4 card is ~$2k, a DGX H100 ~$25k per GPU."""
LIFETIME_YEARS = (2.0, 10.0)
POWER_PER_TDP = (1.0, 3.0)
"""Server power at full load relative to the accelerators' total board power (DGX H100: 1.8x)."""
PUE_RANGE = (1.0, 2.5)
USD_PER_KWH = (0.01, 1.0)


@dataclass(frozen=True)
class Finding:
    severity: str  # "error" or "warning"
    file: str
    line: int | None
    row: str  # "offers[3]" or the row's key
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        return f"{where}: {self.severity}: {self.row}: {self.message}"


@dataclass
class _Row:
    loaded: LoadedYaml
    index: int
    offer: Offer

    def finding(self, severity: str, message: str) -> Finding:
        line, _ = self.loaded.position(("offers", self.index))
        return Finding(severity, self.loaded.file, line, self.offer.key, message)


def check_files(files: list[Path], catalog: Catalog, max_age_days: int = DEFAULT_MAX_AGE_DAYS,
                today: dt.date | None = None) -> tuple[list[Finding], int]:
    """Findings for every row of `files` (already schema-checked), and the number of rows."""
    today = today or dt.date.today()
    findings: list[Finding] = []
    offers: list[_Row] = []
    rows = 0
    for file in files:
        loaded = read_yaml(file, "catalog file")
        if not isinstance(loaded.data, dict):
            continue
        try:
            parsed = CatalogFile.model_validate(loaded.data)
        except ValidationError:  # reported by the schema check already
            continue
        rows += (len(parsed.accelerators) + len(parsed.offers) + len(parsed.models) + len(parsed.variants)
                 + len(parsed.energy))
        for index, accelerator in enumerate(parsed.accelerators):
            if accelerator.memory_gb > 1000 or accelerator.memory_gb < 1:
                line, _ = loaded.position(("accelerators", index, "memory_gb"))
                findings.append(Finding("error", loaded.file, line, accelerator.name,
                                        f"memory_gb {accelerator.memory_gb:g} is not plausible per "
                                        "accelerator (MiB or TB instead of GB?)"))
        offers += [_Row(loaded, index, offer) for index, offer in enumerate(parsed.offers)]
        for index, energy in enumerate(parsed.energy):
            line, _ = loaded.position(("energy", index))
            findings += [Finding("warning", loaded.file, line, f"energy/{energy.region}", message)
                         for message in _energy_defects(energy)]
    medians = _medians(offers, catalog)
    for row in offers:
        findings += _check_offer(row, catalog, medians, max_age_days, today)
    return findings, rows


def _canonical(catalog: Catalog, name: str) -> str:
    return catalog.resolve_accelerator(name) or name


def _medians(offers: list[_Row], catalog: Catalog) -> dict[str, float]:
    """Median on-demand $/accelerator-hour per accelerator over the checked rows and the catalog."""
    values: dict[str, list[float]] = defaultdict(list)
    seen: set[str] = set()
    for offer in [row.offer for row in offers] + list(catalog.offers):
        if offer.key in seen:
            continue
        seen.add(offer.key)
        on_demand = offer.prices_usd_per_hour.on_demand
        if on_demand is not None:
            values[_canonical(catalog, offer.accelerator)].append(on_demand / offer.count)
    return {name: statistics.median(v) for name, v in values.items() if len(v) >= 3}


def _check_offer(row: _Row, catalog: Catalog, medians: dict[str, float], max_age_days: int,
                 today: dt.date) -> list[Finding]:
    offer = row.offer
    prices = offer.prices_usd_per_hour
    out: list[Finding] = []
    on_demand, spot = prices.on_demand, prices.spot
    if on_demand is None:
        if offer.owned is None:  # owned servers are priced from their purchase, not by the hour
            out.append(row.finding("warning", "no on-demand price"))
    elif spot is not None:
        if same_price(spot, on_demand):
            out.append(row.finding("warning", f"spot equal to on-demand ({spot:g}): no real spot data"))
        elif spot > on_demand:
            out.append(row.finding("error", f"spot {spot:g} above on-demand {on_demand:g}"))
    named = {"on_demand": on_demand, "spot": spot, "reserved_1y": prices.reserved_1y,
             "reserved_3y": prices.reserved_3y}
    median = medians.get(_canonical(catalog, offer.accelerator))
    for mode, value in named.items():
        if value is None:
            continue
        if value == PLACEHOLDER_PRICE:
            out.append(row.finding("error", f"placeholder price: {mode} = {value:g}"))
        elif median is not None and value / offer.count >= OUTLIER_FACTOR * median:
            out.append(row.finding("error", f"placeholder price? {mode} {value / offer.count:g} "
                                            f"$/accelerator-hour is >= {OUTLIER_FACTOR:g}x the median "
                                            f"{median:g} of {_canonical(catalog, offer.accelerator)}"))
    for mode in ("reserved_1y", "reserved_3y"):
        value = named[mode]
        if value is not None and on_demand is not None and value > on_demand \
                and not same_price(value, on_demand):
            out.append(row.finding("error", f"{mode} {value:g} above on-demand {on_demand:g}"))
    r1, r3 = prices.reserved_1y, prices.reserved_3y
    if r1 is not None and r3 is not None and r3 > r1 and not same_price(r3, r1):
        out.append(row.finding("error", f"reserved_3y {prices.reserved_3y:g} above reserved_1y "
                                        f"{prices.reserved_1y:g}"))
    expected = expected_count(offer.provider, offer.instance_type)
    if expected is not None and expected != offer.count:
        out.append(row.finding("error", f"count {offer.count} disagrees with the instance name "
                                        f"{offer.instance_type} ({expected})"))
    if offer.spot_interruption_rate is not None and spot is None:
        out.append(row.finding("warning", f"spot_interruption_rate {offer.spot_interruption_rate:g} "
                                          "but no spot price"))
    out += [row.finding(severity, message) for severity, message in _ownership_defects(offer, catalog)]
    age = (today - offer.as_of).days
    if age > max_age_days:
        out.append(row.finding("warning", f"as_of {offer.as_of} is {age} days old "
                                          f"(over --max-age-days {max_age_days}): prices may be stale"))
    return out


def _ownership_defects(offer: Offer, catalog: Catalog) -> list[tuple[str, str]]:
    """(severity, message) for an owned server's implausible economics."""
    owned = offer.owned
    if owned is None:
        return []
    out: list[tuple[str, str]] = []
    per_accelerator = owned.purchase_usd / offer.count
    low, high = PURCHASE_USD_PER_ACCELERATOR
    if not low <= per_accelerator <= high:
        out.append(("error", f"purchase_usd {owned.purchase_usd:g} is {per_accelerator:,.0f} $ per "
                             f"accelerator, outside {low:,.0f}-{high:,.0f} (per server, in USD?)"))
    low, high = LIFETIME_YEARS
    if not low <= owned.lifetime_years <= high:
        out.append(("warning", f"lifetime_years {owned.lifetime_years:g} is outside {low:g}-{high:g} years"))
    accelerator = catalog.accelerators.get(_canonical(catalog, offer.accelerator))
    if accelerator is not None and accelerator.tdp_w is not None:
        tdp_kw = accelerator.tdp_w * offer.count / 1000
        low, high = POWER_PER_TDP
        if not low * tdp_kw <= owned.power_kw <= high * tdp_kw:
            out.append(("error", f"power_kw {owned.power_kw:g} is outside {low:g}-{high:g}x the "
                                 f"accelerators' total TDP {tdp_kw:g} kW (W or MW instead of kW?)"))
    if offer.region not in catalog.energy:
        hint = did_you_mean(offer.region, catalog.energy)
        out.append(("error", f"no energy row for region '{offer.region}': an owned server cannot be "
                             f"priced without its electricity{hint}"))
    return out


def _energy_defects(energy: Energy) -> list[str]:
    out: list[str] = []
    low, high = PUE_RANGE
    if not low <= energy.pue <= high:
        out.append(f"pue {energy.pue:g} is outside {low:g}-{high:g}")
    low, high = USD_PER_KWH
    if not low <= energy.usd_per_kwh <= high:
        out.append(f"usd_per_kwh {energy.usd_per_kwh:g} is outside {low:g}-{high:g} "
                   "(cents or MWh instead of USD/kWh?)")
    return out
