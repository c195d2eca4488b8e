"""Catalog: accelerators, offers (instance prices), models and compression variants.

A catalog is one or more YAML files with any of the top-level lists `accelerators`, `offers`,
`models`, `variants`. The default catalog is the folder `catalogs/default/`. Later files override
earlier rows with the same key (accelerator/model/variant name; offer provider+region+instance).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

from pydantic import Field, ValidationError, model_validator

from planner.catalog_contradictions import raise_self_contradictions
from planner.errors import InputError, Issue
from planner.schema import (
    HOURS_PER_MONTH,
    Fraction,
    Name,
    NonNegativeFloat,
    PositiveFloat,
    PositiveInt,
    Sourced,
    Strict,
)
from planner.validation import issues_from_validation_error
from planner.yamlio import LoadedYaml, read_yaml

CATALOG_ROOT = Path(__file__).resolve().parent.parent / "catalogs"


class Precision(str, Enum):
    """Tensor-core precision a variant computes its matrix products in."""

    bf16 = "bf16"
    fp8 = "fp8"
    int8 = "int8"
    int4 = "int4"


class PricingMode(str, Enum):
    on_demand = "on_demand"
    spot = "spot"
    reserved_1y = "reserved_1y"
    reserved_3y = "reserved_3y"
    owned = "owned"

    @property
    def committed(self) -> bool:
        """Paid for every hour of the horizon whether used or not (a shared pool)."""
        return self in COMMITTED_MODES


COMMITTED_MODES = frozenset({PricingMode.reserved_1y, PricingMode.reserved_3y, PricingMode.owned})


class Accelerator(Sourced):
    name: Name = Field(description="Canonical name, e.g. H100-SXM.")
    aliases: tuple[Name, ...] = Field(default=(), description="Other names users write.")
    vendor: Name
    architecture: Name = Field(description="e.g. hopper, ampere, ada, cdna3, tpu-v5e, cpu.")
    memory_gb: PositiveFloat = Field(description="Device memory per accelerator, GB (1e9 bytes).")
    bandwidth_gb_s: PositiveFloat = Field(description="Memory bandwidth per accelerator, GB/s.")
    tflops: dict[Precision, PositiveFloat] = Field(
        description="Dense (non-sparse) peak TFLOPS/TOPS per precision the hardware supports."
    )
    tdp_w: PositiveFloat | None = Field(default=None, description="Board power, W.")

    @model_validator(mode="after")
    def _needs_bf16(self) -> Accelerator:
        if Precision.bf16 not in self.tflops:
            raise ValueError("tflops must give at least bf16 (16-bit) throughput")
        return self


class Prices(Strict):
    """Effective $/hour for the whole instance per pricing mode; absent means not offered."""

    on_demand: PositiveFloat | None = None
    spot: PositiveFloat | None = None
    reserved_1y: PositiveFloat | None = None
    reserved_3y: PositiveFloat | None = None

    def get(self, mode: PricingMode) -> float | None:
        if mode is PricingMode.owned:
            return None
        value: float | None = getattr(self, mode.value)
        return value


class Ownership(Strict):
    """Buying the server instead of renting it: amortised purchase plus running costs."""

    purchase_usd: PositiveFloat = Field(description="Purchase price of one server, USD.")
    lifetime_years: PositiveFloat = Field(le=15, description="Depreciation period, years.")
    operations_usd_per_month: NonNegativeFloat = Field(
        default=0.0, description="Colocation space, support, staff share per server, USD/month.")
    power_kw: PositiveFloat = Field(lt=1000, description="Server power at full load, kW.")
    idle_power_fraction: Fraction = Field(
        default=0.3, description="Share of full-load power drawn while idle.")

    @property
    def fixed_usd_per_month(self) -> float:
        return self.purchase_usd / (self.lifetime_years * 12) + self.operations_usd_per_month


class Offer(Sourced):
    provider: Name
    region: Name
    instance_type: Name
    accelerator: Name
    count: PositiveInt = Field(description="Accelerators per instance.")
    prices_usd_per_hour: Prices = Prices()
    owned: Ownership | None = Field(
        default=None, description="Set for hardware you buy; priced with the region's energy.")
    spot_interruption_rate: Fraction | None = Field(
        default=None, description="Share of spot instances interrupted per month (upper edge of "
        "the published band, e.g. AWS Spot Advisor '5-10%' -> 0.10).")

    @property
    def key(self) -> str:
        return f"{self.provider}/{self.region}/{self.instance_type}"


class Model(Sourced):
    name: Name
    family: Name = Field(description="Models of one family may stand in for each other.")
    params_b: PositiveFloat = Field(description="Parameters, billions.")
    layers: PositiveInt
    hidden: PositiveInt = Field(description="Hidden (model) dimension.")
    kv_heads: PositiveInt = Field(description="Key/value heads (GQA groups).")
    head_dim: PositiveInt
    context: PositiveInt = Field(description="Maximum context length, tokens.")
    quality: Fraction = Field(description="Quality score at bf16 (e.g. MMLU 5-shot, 0-1).")
    hf_repo: str | None = Field(default=None, description="Hugging Face repository of the "
                                "weights, e.g. meta-llama/Llama-3.1-8B-Instruct (for exports).")
    distillation_gpu_hours: NonNegativeFloat = Field(
        default=0.0, description="One-time GPU-hours to make this model (distilling it from a "
        "larger model of its family) before it can be served; 0 for a released model. Paid "
        "once, spread over the horizon, when a plan serves it.")


class Variant(Sourced):
    name: Name
    weight_bytes_per_param: PositiveFloat
    compute: Precision = Field(description="Precision of the matrix products.")
    quality_retention: Fraction = Field(description="Quality relative to the bf16 model.")
    architectures: tuple[Name, ...] | None = Field(
        default=None, description="Accelerator architectures with kernels for it; null = any."
    )
    bandwidth_efficiency: PositiveFloat = Field(
        default=1.0,
        description="Achieved fraction of the bf16 kernels' memory bandwidth (dequantisation "
        "overhead), from measured batch-1 decode speedups; 1.0 for bf16.",
    )
    preparation_gpu_hours_per_b_params: NonNegativeFloat = Field(
        default=0.0, description="One-time GPU-hours to produce the variant, per billion "
        "parameters (calibration/quantisation run); 0 when no run is needed.")


class Energy(Sourced):
    """Electricity where hardware runs: priced for owned servers, counted for carbon."""

    region: Name
    usd_per_kwh: PositiveFloat = Field(lt=100, description="Electricity price, USD/kWh.")
    pue: float = Field(default=1.4, ge=1, le=5, description="Power usage effectiveness.")
    grid_gco2_per_kwh: NonNegativeFloat = Field(lt=5000, description="Grid carbon intensity.")


class CatalogFile(Strict):
    accelerators: tuple[Accelerator, ...] = ()
    offers: tuple[Offer, ...] = ()
    models: tuple[Model, ...] = ()
    variants: tuple[Variant, ...] = ()
    energy: tuple[Energy, ...] = ()


@dataclass(frozen=True)
class Catalog:
    """The merged catalog the planner reads; lookups are by canonical name."""

    accelerators: dict[str, Accelerator]
    offers: tuple[Offer, ...]
    models: dict[str, Model]
    variants: dict[str, Variant]
    files: tuple[str, ...] = field(default=())
    aliases: dict[str, str] = field(default_factory=dict)
    energy: dict[str, Energy] = field(default_factory=dict)
    """Region -> electricity price, PUE and grid intensity."""

    def resolve_accelerator(self, name: str) -> str | None:
        """Canonical accelerator name for `name` or an alias (case-insensitive), else None."""
        return self.aliases.get(name.lower())

    def monthly_price(self, offer: Offer, mode: PricingMode) -> float | None:
        """What one instance costs per month in this mode, used or idle; None if not offered.

        Owned servers: amortised purchase, operations and idle power (the power drawn while
        busy is a usage cost, see `busy_energy_usd_per_hour`)."""
        if mode is PricingMode.owned:
            if offer.owned is None or offer.region not in self.energy:
                return None
            energy = self.energy[offer.region]
            idle_kw = offer.owned.power_kw * offer.owned.idle_power_fraction * energy.pue
            return offer.owned.fixed_usd_per_month + idle_kw * energy.usd_per_kwh * HOURS_PER_MONTH
        hourly = offer.prices_usd_per_hour.get(mode)
        return None if hourly is None else hourly * HOURS_PER_MONTH

    def busy_energy_usd_per_hour(self, offer: Offer, mode: PricingMode) -> float:
        """Extra electricity of one owned server per busy hour (above its idle draw)."""
        if mode is not PricingMode.owned or offer.owned is None or offer.region not in self.energy:
            return 0.0
        energy = self.energy[offer.region]
        busy_kw = offer.owned.power_kw * (1 - offer.owned.idle_power_fraction) * energy.pue
        return busy_kw * energy.usd_per_kwh

    def kg_co2_per_busy_hour(self, offer: Offer) -> float | None:
        """Carbon of one busy instance-hour, from board power (or the owned server's power),
        the region's PUE and grid intensity; None when the region or power is unknown."""
        energy = self.energy.get(offer.region)
        if energy is None:
            return None
        if offer.owned is not None:
            kw = offer.owned.power_kw
        else:
            tdp = self.accelerators[offer.accelerator].tdp_w
            if tdp is None:
                return None
            kw = tdp * offer.count / 1000
        return kw * energy.pue * energy.grid_gco2_per_kwh / 1000

    def providers(self) -> list[str]:
        return sorted({offer.provider for offer in self.offers})

    def regions(self) -> list[str]:
        return sorted({offer.region for offer in self.offers})


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """A ' (did you mean X?)' hint, or '' when nothing is close."""
    options = sorted(set(choices))
    lowered = {option.lower(): option for option in options}
    close = difflib.get_close_matches(name.lower(), list(lowered), n=1, cutoff=0.6)
    return f"; did you mean '{lowered[close[0]]}'?" if close else ""


def resolve_catalog_path(entry: str, relative_to: Path | None) -> Path:
    """`default` (or any folder name under catalogs/) or a path to a file or folder."""
    builtin = CATALOG_ROOT / entry
    if "/" not in entry and not entry.endswith((".yaml", ".yml")) and builtin.is_dir():
        return builtin
    path = Path(entry)
    if not path.is_absolute() and relative_to is not None:
        path = relative_to / path
    return path


def catalog_files(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml"))
    return [path]


def _parse_file(loaded: LoadedYaml) -> CatalogFile:
    if loaded.data is None:
        return CatalogFile()
    if not isinstance(loaded.data, dict):
        raise InputError([loaded.issue((), "a catalog file must be a mapping with lists "
                                            "'accelerators', 'offers', 'models', 'variants'")])
    try:
        parsed = CatalogFile.model_validate(loaded.data)
    except ValidationError as exc:
        raise InputError(issues_from_validation_error(exc, loaded, CatalogFile)) from None
    raise_self_contradictions(loaded, parsed)
    return parsed


def load_catalog(entries: Iterable[str], relative_to: Path | None = None) -> Catalog:
    """Load and merge catalog files; checks cross-references (offer -> accelerator)."""
    accelerators: dict[str, Accelerator] = {}
    offers: dict[str, Offer] = {}
    models: dict[str, Model] = {}
    variants: dict[str, Variant] = {}
    energy: dict[str, Energy] = {}
    files: list[str] = []
    offer_origin: dict[str, tuple[LoadedYaml, int]] = {}
    issues: list[Issue] = []
    for entry in entries:
        path = resolve_catalog_path(entry, relative_to)
        if not path.exists():
            known = [p.name for p in CATALOG_ROOT.iterdir() if p.is_dir()] if CATALOG_ROOT.is_dir() else []
            issues.append(Issue(str(path), None, None, "catalogs",
                                f"catalog '{entry}' not found{did_you_mean(entry, known)}"))
            continue
        for file in catalog_files(path):
            loaded = read_yaml(file, "catalog file")
            try:
                parsed = _parse_file(loaded)
            except InputError as exc:
                issues.extend(exc.issues)
                continue
            files.append(str(file))
            accelerators.update({row.name: row for row in parsed.accelerators})
            models.update({row.name: row for row in parsed.models})
            variants.update({row.name: row for row in parsed.variants})
            energy.update({row.region: row for row in parsed.energy})
            for index, offer in enumerate(parsed.offers):
                offers[offer.key] = offer
                offer_origin[offer.key] = (loaded, index)
    aliases: dict[str, str] = {}
    for accelerator in accelerators.values():
        for alias in (accelerator.name, *accelerator.aliases):
            aliases[alias.lower()] = accelerator.name
    for key, offer in offers.items():
        if offer.accelerator.lower() not in aliases:
            loaded, index = offer_origin[key]
            hint = did_you_mean(offer.accelerator, aliases.values())
            issues.append(loaded.issue(("offers", index, "accelerator"),
                                       f"unknown accelerator '{offer.accelerator}'{hint}"))
    if issues:
        raise InputError(issues)
    resolved_offers = tuple(
        offer.model_copy(update={"accelerator": aliases[offer.accelerator.lower()]})
        for offer in offers.values()
    )
    return Catalog(accelerators, resolved_offers, models, variants, tuple(files), aliases, energy)
