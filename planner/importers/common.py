"""Shared machinery of the importers: price rows, defect checks, accelerator mapping, output.

Every importer turns its format into `PriceRow`s (one per source row and, where the source
splits them, per zone), then `build_offers` checks each row for the known defects of public
price data, merges the zones of one (provider, region, instance type) and renders catalog
offers. Nothing defective is kept silently: each skipped row is reported with its reason.
"""

from __future__ import annotations

import datetime as dt
import json
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from planner.catalog import Catalog
from planner.importers.instances import expected_count, instance_accelerator

PLACEHOLDER_PRICE = 700.0
"""A price public catalogs use for "unknown" (GCP TPU rows in SkyPilot's catalog)."""
OUTLIER_FACTOR = 10.0
"""A $/accelerator-hour this many times the median for its accelerator is a placeholder."""
HOURS_PER_YEAR = 8760.0

PRICE_FIELDS = ("on_demand", "spot", "reserved_1y", "reserved_3y")


@dataclass
class PriceRow:
    """One priced row of a source file (a zone, a SKU, or an assembled host + GPU)."""

    ref: str  # "vms.csv:12" (file:line) or "prices.json:Items[3]"
    provider: str
    region: str
    instance_type: str
    accelerator: str  # the source's own name, mapped later
    count: int | None
    on_demand: float | None = None
    spot: float | None = None
    reserved_1y: float | None = None
    reserved_3y: float | None = None
    memory_gib: float | None = None  # per accelerator, when the source says
    zone: str = ""
    hint: str = ""  # e.g. the source's GPU model name ("A100 PCIe")


@dataclass
class ImportReport:
    """What an import read, wrote and skipped (and why)."""

    format: str
    file: str
    rows_read: int = 0
    offers_written: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (row ref, reason)
    warnings: list[tuple[str, str]] = field(default_factory=list)
    ignored: Counter[str] = field(default_factory=Counter)  # not offers at all (CPU-only ...)

    def skip(self, ref: str, reason: str) -> None:
        self.skipped.append((ref, reason))

    def warn(self, ref: str, message: str) -> None:
        self.warnings.append((ref, message))

    def skipped_by_reason(self) -> Counter[str]:
        return Counter(_reason_kind(reason) for _, reason in self.skipped)

    def lines(self) -> list[str]:
        """The report as stderr lines: each skip and warning, then the summary."""
        out = [f"skipped: {ref}: {reason}" for ref, reason in self.skipped]
        out += [f"warning: {ref}: {message}" for ref, message in self.warnings]
        out.append(self.summary())
        return out

    def summary(self) -> str:
        text = (f"{self.format} {self.file}: {self.rows_read} rows read, "
                f"{self.offers_written} offers written, {len(self.skipped)} skipped")
        by_reason = self.skipped_by_reason()
        if by_reason:
            text += " (" + ", ".join(f"{reason}: {n}" for reason, n in sorted(by_reason.items())) + ")"
        if self.ignored:
            text += "; ignored " + ", ".join(f"{reason}: {n}" for reason, n in sorted(self.ignored.items()))
        if self.warnings:
            text += f"; {len(self.warnings)} warnings"
        return text


def _reason_kind(reason: str) -> str:
    """The reason without its row-specific detail (the part in parentheses)."""
    return reason.split(" (")[0]


SKYPILOT_NAMES = {"A100": "A100-40GB"}
"""SkyPilot's names, which the importers' instance tables use too: plain "A100" is the 40 GB part.
The default catalog's alias says the same; the override keeps imports right with a user catalog
that reads "A100" otherwise."""


class AcceleratorMapper:
    """Maps a source's accelerator names to the catalog's canonical names through its aliases.

    `overrides` are format-specific meanings (SkyPilot's plain "A100" is the 40 GB part, whatever
    the catalog's aliases say). When the source gives per-accelerator memory, an alias whose
    memory disagrees by more than 20 % is swapped for a same-named accelerator with the right
    memory; "PCIe" in the instance or GPU name picks the PCIe part.
    """

    def __init__(self, catalog: Catalog, overrides: dict[str, str] | None = None) -> None:
        self.catalog = catalog
        chosen = SKYPILOT_NAMES if overrides is None else overrides
        self.overrides = {k.lower(): v for k, v in chosen.items()}

    def map(self, raw: str, memory_gib: float | None = None, hint: str = "") -> str | None:
        name = raw.strip()
        if not name:
            return None
        tpu = name.lower()
        if tpu.startswith("tpu-v"):  # tpu-v6e-8 -> TPU-v6e
            version = tpu.split("-")[1]
            version = "v5e" if version == "v5litepod" else version
            return self.catalog.resolve_accelerator(f"TPU-{version}")
        target = self.overrides.get(name.lower(), name)
        canonical = self.catalog.resolve_accelerator(target) or self.catalog.resolve_accelerator(name)
        if canonical is None:
            return None
        if memory_gib is not None and memory_gib >= 1:
            canonical = self._by_memory(name, canonical, memory_gib * 1.073741824)
        if "pcie" in hint.lower() and "pcie" not in canonical.lower():
            for candidate in (f"{canonical}-PCIe", f"{name}-PCIe"):
                resolved = self.catalog.resolve_accelerator(candidate)
                if resolved:
                    return resolved
        return canonical

    def refine(self, canonical: str | None, provider: str, instance_type: str) -> str | None:
        """The instance's own accelerator when its name fixes a more precise part of the same
        kind (Azure NC40ads_H100_v5 is an H100 NVL, not the SXM part the alias "H100" means)."""
        named = instance_accelerator(provider, instance_type)
        precise = self.map(named) if named else None
        if canonical and precise and precise != canonical and precise[:4].lower() == canonical[:4].lower():
            return precise
        return canonical

    def _by_memory(self, raw: str, canonical: str, memory_gb: float) -> str:
        def close(name: str) -> bool:
            return abs(self.catalog.accelerators[name].memory_gb - memory_gb) <= 0.2 * memory_gb

        if close(canonical):
            return canonical
        prefix = raw.lower()
        for accelerator in self.catalog.accelerators.values():
            names = (accelerator.name, *accelerator.aliases)
            if any(n.lower().startswith(prefix) for n in names) and close(accelerator.name) \
                    and "pcie" not in accelerator.name.lower():
                return accelerator.name
        return canonical


def row_defect(row: PriceRow) -> str | None:
    """Why a row must be skipped, or None. Spot equal to on-demand is handled by the caller."""
    prices = {name: getattr(row, name) for name in PRICE_FIELDS}
    for name, value in prices.items():
        if value is not None and value == PLACEHOLDER_PRICE:
            return f"placeholder price ({name} = {value})"
    if row.on_demand is None or row.on_demand <= 0:
        return "no on-demand price"
    if row.spot is not None and row.spot > row.on_demand and not same_price(row.spot, row.on_demand):
        return f"spot above on-demand (spot {row.spot:g} > on-demand {row.on_demand:g})"
    for name in ("reserved_1y", "reserved_3y"):
        value = prices[name]
        if value is not None and value > row.on_demand:
            return f"reserved above on-demand ({name} {value:g} > on-demand {row.on_demand:g})"
    if row.reserved_1y is not None and row.reserved_3y is not None and row.reserved_3y > row.reserved_1y:
        return f"reserved_3y above reserved_1y ({row.reserved_3y:g} > {row.reserved_1y:g})"
    if row.count is None or row.count <= 0:
        return "no accelerator count"
    expected = expected_count(row.provider, row.instance_type)
    if expected is not None and expected != row.count:
        return (f"count disagrees with instance name ({row.count} listed; {row.instance_type} has "
                f"{expected})")
    return None


def same_price(a: float, b: float) -> bool:
    """Equal to 0.01 % (30.0978 vs 30.09784 is the same price, rounded)."""
    return abs(a - b) <= 1e-4 * max(abs(a), abs(b))


@dataclass
class _Merged:
    rows: list[PriceRow]
    accelerator: str


def build_offers(
    rows: list[PriceRow], mapper: AcceleratorMapper, report: ImportReport, as_of: dt.date,
    source_label: str,
) -> list[dict[str, object]]:
    """Check rows, map accelerators, merge zones, drop outliers; return catalog offer dicts."""
    spot_seen = any(row.spot is not None for row in rows)
    groups: dict[tuple[str, str, str], _Merged] = {}
    for row in rows:
        defect = row_defect(row)
        if defect:
            if row.spot is not None and row.on_demand and same_price(row.spot, row.on_demand) \
                    and "spot" not in defect:
                defect += "; also spot equal to on-demand (no real spot data)"
            report.skip(row.ref, defect)
            continue
        accelerator = mapper.map(row.accelerator, row.memory_gib, f"{row.instance_type} {row.hint}")
        accelerator = mapper.refine(accelerator, row.provider, row.instance_type)
        if accelerator is None:
            report.skip(row.ref, f"unknown accelerator ('{row.accelerator}' is not a name or alias in the "
                                 "catalog)")
            continue
        if row.spot is not None and row.on_demand is not None and same_price(row.spot, row.on_demand):
            report.warn(row.ref, f"spot equal to on-demand ({row.spot:g}): no real spot data; spot dropped")
            row.spot = None
        elif row.spot is None and spot_seen:
            report.warn(row.ref, "no spot price; offer kept without spot")
        key = (row.provider, row.region, row.instance_type)
        merged = groups.get(key)
        if merged is None:
            groups[key] = _Merged([row], accelerator)
        elif merged.accelerator != accelerator or merged.rows[0].count != row.count:
            report.skip(row.ref, f"count or accelerator disagrees with another row (row "
                                 f"{merged.rows[0].ref}, same instance type)")
        else:
            merged.rows.append(row)
    offers: list[tuple[_Merged, dict[str, object]]] = []
    for (provider, region, instance_type), merged in groups.items():
        prices: dict[str, float] = {}
        for name in PRICE_FIELDS:
            values = [getattr(r, name) for r in merged.rows if getattr(r, name) is not None]
            if values:
                # on-demand and commitments: the highest a zone lists; spot: the cheapest zone
                prices[name] = round(min(values) if name == "spot" else max(values), 6)
        refs = ", ".join(r.ref.rsplit(":", 1)[-1] for r in merged.rows)
        several = len(merged.rows) > 1 and "spot" in prices
        zones = f"; spot = min over {len(merged.rows)} rows" if several else ""
        offers.append((merged, {
            "provider": provider, "region": region, "instance_type": instance_type,
            "accelerator": merged.accelerator, "count": merged.rows[0].count,
            "prices_usd_per_hour": prices,
            "source": f"{source_label} row {refs}{zones}" if "," not in refs
            else f"{source_label} rows {refs}{zones}",
            "as_of": as_of,
        }))
    return _drop_outliers(offers, report)


def _drop_outliers(
    offers: list[tuple[_Merged, dict[str, object]]], report: ImportReport
) -> list[dict[str, object]]:
    per_accelerator: dict[str, list[float]] = defaultdict(list)
    for _, offer in offers:
        prices = offer["prices_usd_per_hour"]
        assert isinstance(prices, dict) and isinstance(offer["count"], int)
        per_accelerator[str(offer["accelerator"])].append(prices["on_demand"] / offer["count"])
    kept = []
    for merged, offer in offers:
        prices = offer["prices_usd_per_hour"]
        assert isinstance(prices, dict) and isinstance(offer["count"], int)
        values = per_accelerator[str(offer["accelerator"])]
        if len(values) >= 3:
            median = statistics.median(values)
            worst = max(prices.values()) / offer["count"]
            if worst >= OUTLIER_FACTOR * median:
                refs = ", ".join(r.ref for r in merged.rows)
                report.skip(refs, f"outlier price (a placeholder? {worst:g} $/accelerator-hour >= "
                                  f"{OUTLIER_FACTOR:g}x the median {median:g} of {offer['accelerator']})")
                continue
        kept.append(offer)
    kept.sort(key=lambda o: (str(o["provider"]), str(o["region"]), str(o["instance_type"])))
    return kept


def render_catalog(offers: list[dict[str, object]], header: str) -> str:
    """Catalog YAML text: a comment header and an `offers:` list, one flow mapping per row."""
    import json

    lines = [f"# {line}" for line in header.splitlines()]
    lines.append("offers:")
    for offer in offers:
        prices = offer["prices_usd_per_hour"]
        assert isinstance(prices, dict)
        price_text = ", ".join(f"{k}: {v!r}" for k, v in prices.items())
        lines.append(
            f"  - {{provider: {_scalar(offer['provider'])}, region: {_scalar(offer['region'])}, "
            f"instance_type: {_scalar(offer['instance_type'])}, "
            f"accelerator: {_scalar(offer['accelerator'])}, count: {offer['count']},\n"
            f"     prices_usd_per_hour: {{{price_text}}},\n"
            f"     source: {json.dumps(offer['source'])}, as_of: {offer['as_of']}}}"
        )
    if not offers:
        lines[-1] = "offers: []"
    return "\n".join(lines) + "\n"


def _scalar(value: object) -> str:
    import json

    text = str(value)
    plain = text.replace("-", "").replace("_", "").replace(".", "").isalnum() and not text[0].isdigit()
    return text if plain and text.lower() not in ("yes", "no", "true", "false", "null", "on", "off") \
        else json.dumps(text)


def parse_price(text: object) -> float | None:
    """A price cell: '' / None / non-numbers -> None."""
    if text is None:
        return None
    try:
        value = float(str(text).strip())
    except ValueError:
        return None
    return value if value == value and value not in (float("inf"), float("-inf")) else None


def parse_count(text: object) -> int | str | None:
    """'8' / '8.0' -> 8; '' -> None; '0.5' -> 'not an integer'."""
    value = parse_price(text)
    if value is None:
        return None
    if value != int(value):
        return "not an integer"
    return int(value)


def json_items(text: str, key: str, report: ImportReport, what: str) -> list[Any]:
    """The list under `key` of a JSON price document (or the document itself if it is a list);
    counts the rows read.

    Raises:
        ValueError: when there is no such list.
    """
    data: Any = json.loads(text)
    items = data.get(key) if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise ValueError(f"not {what}: no '{key}' list")
    report.rows_read = len(items)
    return items
