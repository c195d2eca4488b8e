"""FinOps FOCUS cost-and-usage exports: accelerator usage mapped onto catalog offers.

FOCUS (1.0 and later) is one CSV row per charge: `ChargePeriodStart`/`End`, `BilledCost`,
`EffectiveCost`, `PricingCategory` (Standard / Dynamic / Committed / Other),
`CommitmentDiscountStatus` (Used / Unused), `ConsumedQuantity` and `ConsumedUnit`, the
provider, region, SKU and resource, plus provider columns prefixed `x_`.

Each row is classified:

- `accelerator`: an instance type found in the row (an `x_` column, `SkuPriceDetails`,
  `ResourceType`, `SkuId` or the charge description) that is a catalog offer in the row's
  provider and region;
- `unmapped`: accelerator usage (an accelerator instance family, or a GPU/TPU charge) with no
  catalog offer; listed with the reason, never dropped;
- `other`: everything else (storage, networking, CPU instances, credits), summed by service
  category.

The three add up to the file's `BilledCost` sum. A row's cost is its `BilledCost`, or on rows a
commitment applies to its `EffectiveCost` (the commitment fee amortised over the hours it
covered, and the unused part on its own row). Only `Usage` rows count instance-hours.
"""

from __future__ import annotations

import csv
import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

from planner.catalog import Catalog, Offer
from planner.errors import InputError, Issue
from planner.importers.instances import expected_count, instance_accelerator
from planner.requestlog import MAX_LISTED_ISSUES, PROGRESS_EVERY, SECONDS_PER_HOUR, parse_timestamp
from planner.schema import HOURS_PER_MONTH

REQUIRED = ("BilledCost", "ChargePeriodStart", "ChargePeriodEnd")
NULLS = ("", "null", "none", "nan")
HOUR_UNITS = ("hour", "hours", "hr", "hrs", "1 hour", "instance hours", "instance-hours")


class RowKind(str, Enum):
    accelerator = "accelerator"
    unmapped = "unmapped"
    other = "other"


class Pricing(str, Enum):
    """FOCUS `PricingCategory` in the catalog's terms."""

    on_demand = "on_demand"  # Standard
    spot = "spot"  # Dynamic
    committed = "committed"  # Committed: a reservation, savings plan or CUD
    other = "other"  # Other or empty (credits, fees)


PRICING_CATEGORIES = {"standard": Pricing.on_demand, "dynamic": Pricing.spot,
                      "committed": Pricing.committed}
"""FOCUS PricingCategory -> pricing; a Standard row whose usage type or meter says spot is spot."""


@dataclass(frozen=True)
class BillingRow:
    """One accelerator row (mapped or not), or a commitment's unused part."""

    line: int
    kind: RowKind
    billed_usd: float
    cost_usd: float
    """BilledCost, or EffectiveCost where a commitment applies."""
    start_s: float
    end_s: float
    provider: str
    region: str
    pricing: Pricing
    instance_type: str | None
    offer_key: str | None
    accelerator: str | None
    accelerators_per_instance: int | None
    instance_hours: float
    commitment: str | None
    commitment_unused: bool
    sku: str
    description: str
    resource: str
    tags: dict[str, str]
    reason: str = ""
    """Why an accelerator row has no offer."""

    @property
    def label(self) -> str:
        """The offer key, or what identifies an unmapped row."""
        if self.offer_key:
            return self.offer_key
        return f"{self.provider}/{self.region or '-'}/{self.instance_type or self.sku or '?'}"


@dataclass(frozen=True)
class UnmappedGroup:
    """Unmapped rows of one instance type (or SKU) and reason."""

    what: str
    reason: str
    description: str
    lines: tuple[int, ...]
    billed_usd: float
    cost_usd: float


@dataclass
class Billing:
    """A whole export: accelerator rows (and unused commitments) kept, the rest summed."""

    file: str
    rows: list[BillingRow] = field(default_factory=list)
    rows_read: int = 0
    billed_total_usd: float = 0.0
    other_summed_rows: int = 0
    other_by_category: dict[str, float] = field(default_factory=dict)
    start_s: float = math.inf
    end_s: float = -math.inf
    _billed: list[float] = field(default_factory=list, repr=False)
    _other_billed: list[float] = field(default_factory=list, repr=False)

    @property
    def span_hours(self) -> float:
        """Hours from the earliest charge period's start to the latest one's end."""
        return max((self.end_s - self.start_s) / SECONDS_PER_HOUR, 1.0)

    @property
    def monthly_factor(self) -> float:
        """Multiply an amount over the file's charge periods by this to get $/month."""
        return HOURS_PER_MONTH / self.span_hours

    def of_kind(self, kind: RowKind) -> list[BillingRow]:
        return [row for row in self.rows if row.kind is kind]

    def billed(self, kind: RowKind) -> float:
        """BilledCost of one kind of row; the three kinds add up to `billed_total_usd`."""
        kept = [row.billed_usd for row in self.of_kind(kind)]
        return math.fsum(kept + (self._other_billed if kind is RowKind.other else []))

    def row_count(self, kind: RowKind) -> int:
        summed = self.other_summed_rows if kind is RowKind.other else 0
        return len(self.of_kind(kind)) + summed

    def unmapped_groups(self) -> list[UnmappedGroup]:
        """Unmapped rows grouped by what they are, biggest cost first."""
        grouped: dict[tuple[str, str], list[BillingRow]] = {}
        for row in self.of_kind(RowKind.unmapped):
            grouped.setdefault((row.label, row.reason), []).append(row)
        groups = [UnmappedGroup(what, reason, rows[0].description, tuple(r.line for r in rows),
                                math.fsum(r.billed_usd for r in rows), math.fsum(r.cost_usd for r in rows))
                  for (what, reason), rows in grouped.items()]
        return sorted(groups, key=lambda g: (-g.billed_usd, g.what, g.reason))


# instance names inside free text: AWS `g5.4xlarge`, `p4d.24xlarge`, `m7i.metal-48xl`
_AWS = re.compile(r"\b([a-z][a-z0-9]*(?:-[a-z0-9]+)?\.(?:\d*x?large|metal(?:-\d+xl)?|medium|small|"
                  r"micro|nano|\d+xl))\b")
_AZURE = re.compile(r"\bStandard_[A-Za-z0-9_]+\b")
# Azure meter names: "NC24ads A100 v4", "ND96isr H100 v5 Spot", "NC6s v3 Low Priority"
_AZURE_METER = re.compile(r"\b(N[A-Z]?\d+[a-z]*(?:[ _](?:A100|H100|H200|A10|T4|MI300X))?[ _]v\d)\b")
_GCP = re.compile(r"\b([a-z]\d+[a-z]?-(?:highgpu|megagpu|ultragpu|edgegpu|standard|highmem|highcpu)"
                  r"-\d+g?|tpu-v\w+-\d+)\b")
_ACCELERATOR_FAMILY = {
    "aws": re.compile(r"^(p\d\w*|g\d\w*|gr\d\w*|inf\d\w*|trn\d\w*|dl\d\w*)\."),
    "azure": re.compile(r"^Standard_N", re.IGNORECASE),
    "gcp": re.compile(r"^(a2|a3|a4|g2|ct\d\w*)-|^tpu-", re.IGNORECASE),
}
# accelerator charges without an instance name (GCP bills GPUs and A2/A3/G2 hosts apart)
_ACCELERATOR_WORDS = re.compile(r"\b(GPU|GPUs|TPU|Nvidia|Tesla|Gaudi|Inferentia|Trainium|"
                                r"(A2|A3|A4|G2) Instance)\b", re.IGNORECASE)
# spot usage some exports price as Standard: AWS `SpotUsage:`, Azure `... Spot` / `Low Priority`
_SPOT_WORDS = re.compile(r"SpotUsage|\b(Spot|Low Priority|Preemptible)\b", re.IGNORECASE)
_INSTANCE_KEYS = ("instancetype", "instance_type", "vmsize", "machinetype", "armskuname",
                  "meter", "usagetype")


def provider_name(raw: str) -> str:
    """FOCUS provider names in the catalog's terms (`AWS` -> aws, `Microsoft` -> azure)."""
    lowered = raw.strip().lower()
    for needle, name in (("amazon", "aws"), ("aws", "aws"), ("microsoft", "azure"),
                         ("azure", "azure"), ("google", "gcp"), ("gcp", "gcp"),
                         ("oracle", "oci"), ("lambda", "lambda"), ("runpod", "runpod")):
        if needle in lowered:
            return name
    return re.sub(r"[^a-z0-9]+", "-", lowered).strip("-")


def _instance_names(provider: str, text: str) -> list[str]:
    if provider == "aws":
        return _AWS.findall(text)
    if provider == "azure":
        found = _AZURE.findall(text)
        return found + ["Standard_" + m.replace(" ", "_") for m in _AZURE_METER.findall(text)]
    if provider == "gcp":
        return _GCP.findall(text)
    return _AWS.findall(text) + _AZURE.findall(text) + _GCP.findall(text)


def _detail_texts(raw: str) -> list[str]:
    """Values of instance-like keys in a JSON object (SkuPriceDetails), else the raw text."""
    try:
        document = json.loads(raw)
    except json.JSONDecodeError:
        return [raw]
    if not isinstance(document, dict):
        return [raw]
    return [str(value) for key, value in document.items()
            if any(k in key.lower().replace("x_", "") for k in _INSTANCE_KEYS)]


class _Offers:
    """Catalog offers by (provider, region, instance type), case-insensitive."""

    def __init__(self, catalog: Catalog) -> None:
        self.by_key = {(o.provider, o.region, o.instance_type.lower()): o for o in catalog.offers}
        self.instance_types = {(o.provider, o.instance_type.lower()) for o in catalog.offers}
        self.by_provider: dict[str, set[str]] = {}
        for offer in catalog.offers:
            self.by_provider.setdefault(offer.provider, set()).add(offer.instance_type)

    def find(self, provider: str, region: str, instance_type: str) -> Offer | None:
        return self.by_key.get((provider, region, instance_type.lower()))

    def knows(self, provider: str, instance_type: str) -> bool:
        return (provider, instance_type.lower()) in self.instance_types

    def named_in(self, provider: str, text: str) -> list[str]:
        """The provider's catalog instance types that appear in `text` (longest first), for
        names no pattern knows (Lambda's `gpu_8x_h100_sxm5`, RunPod's `2x_H100-SXM_SECURE`)."""
        lowered = text.lower()
        found = [name for name in self.by_provider.get(provider, ()) if name.lower() in lowered]
        return sorted(found, key=lambda name: (-len(name), name))


def _is_accelerator_instance(offers: _Offers, provider: str, instance_type: str) -> bool:
    if offers.knows(provider, instance_type):
        return True
    if instance_accelerator(provider, instance_type) or (
            provider in ("aws", "azure", "gcp") and expected_count(provider, instance_type)):
        return True
    family = _ACCELERATOR_FAMILY.get(provider)
    return bool(family and family.match(instance_type))


def find_instance_type(offers: _Offers, provider: str, fields: dict[str, str]) -> str | None:
    """The instance type a row names: provider columns first, then SkuPriceDetails,
    ResourceType, SkuId and the description. An accelerator instance wins over another."""
    texts: list[str] = []
    for name, value in fields.items():
        lowered = name.lower()
        if lowered.startswith("x_") and any(key in lowered for key in _INSTANCE_KEYS):
            texts.append(value)
    texts += _detail_texts(fields.get("SkuPriceDetails", "") or "{}")
    texts += [fields.get(name, "") for name in ("ResourceType", "SkuId", "SkuMeter",
                                                 "ChargeDescription", "x_SkuMeterName")]
    names = [n for text in texts if text for n in _instance_names(provider, text)]
    if not names:
        names = [n for text in texts if text for n in offers.named_in(provider, text)]
    for name in names:
        if _is_accelerator_instance(offers, provider, name):
            return name
    return names[0] if names else None


def _value(row: list[str], columns: dict[str, int], name: str) -> str:
    index = columns.get(name)
    if index is None or index >= len(row):
        return ""
    value = row[index].strip()
    return "" if value.lower() in NULLS else value


def _usage_text(fields: dict[str, str]) -> str:
    """What the row says it is: description, meter and the provider's usage-type columns."""
    parts = [fields.get("ChargeDescription", ""), fields.get("SkuMeter", "")]
    parts += [value for name, value in fields.items()
              if name.lower().startswith("x_") and any(k in name.lower() for k in ("usagetype", "meter"))]
    return " ".join(parts)


def _tags(raw: str) -> dict[str, str]:
    if not raw:
        return {}
    try:
        document = json.loads(raw)
    except json.JSONDecodeError:
        return {}
    if not isinstance(document, dict):
        return {}
    return {str(k).strip(): str(v).strip() for k, v in document.items() if v is not None}


class _RowReader:
    """Turns one CSV row into numbers and a classification, or a located issue."""

    def __init__(self, file: str, header: list[str], catalog: Catalog) -> None:
        self.file = file
        self.columns = {name.strip(): i for i, name in enumerate(header)}
        self.offers = _Offers(catalog)
        self.issues: list[Issue] = []
        self.more_issues = 0

    def issue(self, line: int, column: str, message: str) -> None:
        if len(self.issues) >= MAX_LISTED_ISSUES:
            self.more_issues += 1
            return
        index = self.columns.get(column)
        self.issues.append(Issue(self.file, line, None if index is None else index + 1, column,
                                 message))

    def number(self, line: int, row: list[str], name: str, required: bool = False) -> float | None:
        text = _value(row, self.columns, name)
        if not text:
            if required:
                self.issue(line, name, "empty; a number is required")
            return None
        try:
            value = float(text)
        except ValueError:
            self.issue(line, name, f"not a number (got {text!r})")
            return None
        if not math.isfinite(value):
            self.issue(line, name, f"not a finite number (got {text!r})")
            return None
        return value

    def time(self, line: int, row: list[str], name: str) -> float | None:
        text = _value(row, self.columns, name)
        try:
            return parse_timestamp(text)
        except ValueError as exc:
            self.issue(line, name, str(exc))
            return None

    def hours(self, row: list[str], start_s: float, end_s: float) -> float:
        """Instance-hours: the consumed (or priced) quantity when counted in hours, else the
        charge period's length."""
        for quantity, unit in (("ConsumedQuantity", "ConsumedUnit"), ("PricingQuantity", "PricingUnit")):
            text = _value(row, self.columns, quantity)
            if text and _value(row, self.columns, unit).lower() in HOUR_UNITS:
                try:
                    return float(text)
                except ValueError:
                    break
        return max(end_s - start_s, 0.0) / SECONDS_PER_HOUR

    def read(self, line: int, row: list[str], billing: Billing) -> None:
        billed = self.number(line, row, "BilledCost", required=True)
        effective = self.number(line, row, "EffectiveCost")
        start_s = self.time(line, row, "ChargePeriodStart")
        end_s = self.time(line, row, "ChargePeriodEnd")
        if billed is None or start_s is None or end_s is None:
            return
        if end_s < start_s:
            self.issue(line, "ChargePeriodEnd", "before ChargePeriodStart")
            return
        billing._billed.append(billed)
        billing.start_s = min(billing.start_s, start_s)
        billing.end_s = max(billing.end_s, end_s)
        fields = {name: _value(row, self.columns, name) for name in self.columns}
        provider = provider_name(fields.get("ProviderName") or fields.get("ServiceProviderName") or "")
        region = fields.get("RegionId", "")
        pricing = PRICING_CATEGORIES.get(fields.get("PricingCategory", "").lower(), Pricing.other)
        unused = fields.get("CommitmentDiscountStatus", "").lower() == "unused"
        if pricing is Pricing.on_demand and _SPOT_WORDS.search(_usage_text(fields)):
            pricing = Pricing.spot
        # EffectiveCost differs from BilledCost by the amortised commitment fee, so it is the
        # row's cost only where a commitment applies (some exports fill it with noise elsewhere)
        committed = pricing is Pricing.committed or bool(fields.get("CommitmentDiscountStatus"))
        cost = effective if committed and effective is not None else billed
        usage = fields.get("ChargeCategory", "Usage").lower() in ("usage", "")
        instance_type = find_instance_type(self.offers, provider, fields)
        kind, offer, reason = self.classify(provider, region, instance_type, fields)
        if kind is RowKind.other and not unused:
            billing.other_summed_rows += 1
            billing._other_billed.append(billed)
            category = fields.get("ServiceCategory") or "(none)"
            billing.other_by_category[category] = billing.other_by_category.get(category, 0.0) + billed
            return
        named = instance_accelerator(provider, instance_type) if instance_type else None
        billing.rows.append(BillingRow(
            line=line, kind=kind, billed_usd=billed, cost_usd=cost, start_s=start_s, end_s=end_s,
            provider=provider, region=region, pricing=pricing, instance_type=instance_type,
            offer_key=offer.key if offer else None,
            accelerator=offer.accelerator if offer else named,
            accelerators_per_instance=offer.count if offer else (
                expected_count(provider, instance_type) if instance_type else None),
            instance_hours=self.hours(row, start_s, end_s) if usage else 0.0,
            commitment=fields.get("CommitmentDiscountName") or fields.get("CommitmentDiscountId") or None,
            commitment_unused=unused, sku=fields.get("SkuId", ""),
            description=fields.get("ChargeDescription", ""),
            resource=" ".join(filter(None, (fields.get("ResourceName"), fields.get("ResourceId")))),
            tags=_tags(fields.get("Tags", "")), reason=reason))

    def classify(self, provider: str, region: str, instance_type: str | None,
                 fields: dict[str, str]) -> tuple[RowKind, Offer | None, str]:
        if instance_type is not None:
            offer = self.offers.find(provider, region, instance_type)
            if offer is not None:
                return RowKind.accelerator, offer, ""
            if not _is_accelerator_instance(self.offers, provider, instance_type):
                return RowKind.other, None, ""
            if self.offers.knows(provider, instance_type):
                return (RowKind.unmapped, None,
                        f"no catalog offer for {instance_type} in {region or '(no region)'}")
            return RowKind.unmapped, None, f"accelerator instance {instance_type} is not in the catalog"
        if _ACCELERATOR_WORDS.search(_usage_text(fields) + " " + fields.get("ResourceType", "")):
            return RowKind.unmapped, None, "accelerator charge without an instance type"
        return RowKind.other, None, ""


def read_focus(path: Path, catalog: Catalog,
               progress: Callable[[int], None] | None = None) -> Billing:
    """Read a FOCUS export, streamed, and map its accelerator rows onto `catalog`'s offers.

    Raises:
        InputError: a missing file or required column, or bad values (line, column, field).
    """
    file = str(path)
    if path.is_dir() or not path.is_file():
        raise InputError([Issue(file, None, None, "", "billing file "
                                + ("is a directory" if path.is_dir() else "not found"))])
    billing = Billing(file)
    try:
        with path.open(encoding="utf-8-sig", newline="") as stream:
            reader = csv.reader(stream)
            header = next(reader, None)
            if header is None:
                raise InputError([Issue(file, None, None, "", "the billing file is empty")])
            missing = [name for name in REQUIRED if name not in {h.strip() for h in header}]
            if missing:
                raise InputError([Issue(file, 1, None, name, "required FOCUS column missing "
                                        f"(is this a FOCUS export? columns: {', '.join(header[:8])}"
                                        f"{', ...' if len(header) > 8 else ''})") for name in missing])
            rows = _RowReader(file, header, catalog)
            for row in reader:
                if not any(cell.strip() for cell in row):
                    continue
                billing.rows_read += 1
                if progress is not None and billing.rows_read % PROGRESS_EVERY == 0:
                    progress(billing.rows_read)
                if len(row) != len(header):
                    rows.issue(reader.line_num, "", f"{len(row)} fields, the header has {len(header)}")
                    continue
                rows.read(reader.line_num, row, billing)
    except (csv.Error, UnicodeDecodeError) as exc:
        raise InputError([Issue(file, None, None, "", f"cannot read the CSV ({exc})")]) from None
    if rows.issues:
        extra = [Issue(file, None, None, "", f"... and {rows.more_issues} more bad values")] \
            if rows.more_issues else []
        raise InputError(rows.issues + extra)
    if billing.rows_read == 0:
        raise InputError([Issue(file, None, None, "", "the billing file has no rows")])
    billing.billed_total_usd = math.fsum(billing._billed)
    billing._billed.clear()
    return billing
