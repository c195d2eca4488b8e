"""The problem file: what the user wants planned, validated against the catalog.

Workloads carry a `kind`: `online` (the default: requests with latency SLOs), `batch` (a
daily number of requests within a window) or `training` (tokens to train on by a deadline).
Online demand is a flat `rate_rps`, a named `shape` scaled to `rate_rps` as the peak, or an
hourly `profile_rps` of 24 (a day) or 168 (a week, Monday 00:00 first) values. Unknown keys
are always rejected.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    Discriminator,
    Field,
    Tag,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from planner.catalog import (
    CATALOG_ROOT,
    Catalog,
    PricingMode,
    did_you_mean,
    load_catalog,
    resolve_catalog_path,
)
from planner.errors import InputError, Issue
from planner.schema import (
    Fraction,
    Name,
    NonNegativeFloat,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    Strict,
)
from planner.validation import issues_from_validation_error
from planner.yamlio import LoadedYaml, read_yaml


class Tokens(Strict):
    prompt: PositiveInt = Field(description="Prompt (input) tokens per request.")
    output: PositiveInt = Field(description="Generated (output) tokens per request.")


class Slo(Strict):
    """Latency objectives, each optional; they must hold at the planned load."""

    ttft_ms: PositiveFloat | None = Field(default=None, description="Time to first token, ms.")
    tpot_ms: PositiveFloat | None = Field(default=None, description="Time per output token, ms.")
    e2e_ms: PositiveFloat | None = Field(default=None, description="End-to-end latency, ms.")


class Measurement(Strict):
    """A measured operating point of the workload's model; wins over the roofline estimate."""

    accelerator: Name
    count: PositiveInt = Field(default=1, description="Accelerators per replica (tensor parallel).")
    variant: Name = "bf16"
    model: Name | None = Field(default=None, description="Model measured: the workload's model "
                               "(default) or one of its alternatives.")
    batch: PositiveInt
    throughput_rps: PositiveFloat = Field(description="Sustained requests/s of one replica.")
    ttft_ms: PositiveFloat
    tpot_ms: PositiveFloat


SHAPES = ("flat", "business-hours", "diurnal")
HOURS_PER_DAY = 24
HOURS_PER_WEEK = 168


@lru_cache(maxsize=1024)
def shape_profile(shape: str, peak: float, trough_fraction: float) -> tuple[float, ...]:
    """24 hourly rates of a named shape: `business-hours` is the peak from 09:00 to 18:00 and
    the trough otherwise; `diurnal` a cosine from the trough at 04:00 to the peak at 16:00."""
    trough = peak * trough_fraction
    if shape == "business-hours":
        return tuple(peak if 9 <= hour < 18 else trough for hour in range(HOURS_PER_DAY))
    if shape == "diurnal":
        return tuple(trough + (peak - trough) * (1 - math.cos(2 * math.pi * (hour - 4) / 24)) / 2
                     for hour in range(HOURS_PER_DAY))
    return (peak,) * HOURS_PER_DAY


class WorkloadBase(Strict):
    name: Name
    model: Name
    min_quality: Fraction | None = Field(
        default=None, description="Floor on quality relative to the model at bf16 (0-1)."
    )
    min_quality_score: Fraction | None = Field(
        default=None, description="Floor on the absolute quality score (e.g. MMLU 0-1)."
    )
    variants: tuple[Name, ...] | None = Field(
        default=None, description="Variants allowed for this workload; default: all."
    )

    @property
    def models(self) -> tuple[str, ...]:
        """Models that may run the workload: `model`, then any alternatives."""
        return (self.model,)


class ServingBase(WorkloadBase):
    """What online and batch workloads share: another model of the family may serve them."""

    alternatives: tuple[Name, ...] = Field(default=(), description=(
        "Other models of the same family that may serve the workload instead of `model` (a "
        "smaller or distilled sibling), each at its own quality. Quality floors apply to the "
        "model served: min_quality stays relative to `model` at bf16, so a sibling scoring "
        "0.694 where `model` scores 0.836 is at 0.830 before any compression."))

    @field_validator("alternatives")
    @classmethod
    def _distinct_alternatives(cls, alternatives: tuple[str, ...], info: ValidationInfo
                               ) -> tuple[str, ...]:
        model = info.data.get("model")
        if model in alternatives:
            raise ValueError(f"lists the workload's own model '{model}'")
        repeated = sorted({name for name in alternatives if alternatives.count(name) > 1})
        if repeated:
            raise ValueError(f"repeats {', '.join(repeated)}")
        return alternatives

    @property
    def models(self) -> tuple[str, ...]:
        return (self.model, *self.alternatives)


class OnlineWorkload(ServingBase):
    """Online inference: requests arrive at `rate_rps` and must meet the SLO."""

    kind: Literal["online"] = "online"
    # bounds spelt out here: a Field(lt=...) next to the PositiveFloat alias is overridden by
    # the alias's own lt=1e12
    rate_rps: float | None = Field(default=None, gt=0, lt=1e7,
                                   description="Request rate to serve (the peak with a shape).")
    shape: Literal["flat", "business-hours", "diurnal"] | None = Field(
        default=None, description="Named daily shape scaled so its peak is rate_rps.")
    trough_fraction: Fraction = Field(
        default=0.2, description="A shape's lowest rate as a share of its peak.")
    profile_rps: tuple[Annotated[float, Field(ge=0, lt=1e7)], ...] | None = Field(
        default=None, description="Hourly request rates: 24 values (a day) or 168 (a week).")
    tokens: Tokens
    slo: Slo = Slo()
    max_spot_share: Fraction = Field(
        default=1.0, description="Largest share of serving capacity that may run on spot."
    )
    min_replicas: NonNegativeInt = Field(default=1, description="Replicas kept for availability.")
    batch_sizes: tuple[PositiveInt, ...] | None = Field(
        default=None, description="Batch sizes the serving stack may use; default 1 to 256."
    )
    measured: tuple[Measurement, ...] = ()
    priority: int = Field(default=0, ge=-1_000_000, le=1_000_000, description=(
        "With budget_mode serve_most_value: demand of a higher priority is served before any "
        "of a lower one."))
    value_usd_per_1k_requests: NonNegativeFloat | None = Field(default=None, description=(
        "With budget_mode serve_most_value: what 1,000 served requests are worth; within a "
        "priority, the most valuable demand is served first."))

    @field_validator("rate_rps", mode="before")
    @classmethod
    def _rate_not_bool(cls, value: object) -> object:
        if isinstance(value, bool):  # YAML reads yes/no/on/off as booleans; never mean 1 or 0
            raise ValueError("must be a number, not true/false")
        return value

    @field_validator("profile_rps")
    @classmethod
    def _whole_day_or_week(cls, value: tuple[float, ...] | None) -> tuple[float, ...] | None:
        # checked on the field, so that the message points at its line
        if value is None:
            return value
        if len(value) not in (HOURS_PER_DAY, HOURS_PER_WEEK):
            raise ValueError(f"needs 24 (hourly, one day) or 168 (hourly, one week) values, "
                             f"not {len(value)}")
        if max(value) <= 0:
            raise ValueError("needs at least one rate above 0")
        return value

    @model_validator(mode="after")
    def _one_demand(self) -> OnlineWorkload:
        if self.profile_rps is not None:
            if self.rate_rps is not None or self.shape is not None:
                raise ValueError("give either profile_rps or rate_rps (with an optional shape), "
                                 "not both")
        elif self.rate_rps is None:
            raise ValueError("rate_rps (requests/s) or profile_rps (hourly rates) is required")
        return self

    @property
    def hourly(self) -> tuple[float, ...]:
        """The demand as given: 1 value (flat), 24 or 168."""
        if self.profile_rps is not None:
            return self.profile_rps
        assert self.rate_rps is not None
        if self.shape is None or self.shape == "flat":
            return (self.rate_rps,)
        return shape_profile(self.shape, self.rate_rps, self.trough_fraction)

    @property
    def peak_rps(self) -> float:
        return max(self.hourly)

    def rates(self, periods: int) -> tuple[float, ...]:
        """The demand on a grid of 1, 24 or 168 periods (shorter profiles repeat)."""
        return tile(self.hourly, periods)


def tile(values: tuple[float, ...], periods: int) -> tuple[float, ...]:
    if periods % len(values):
        raise ValueError(f"cannot spread {len(values)} values over {periods} periods")
    return values * (periods // len(values))


class Window(Strict):
    """Hours of the day a batch job may run, start inclusive, end exclusive; may wrap midnight."""

    start_hour: int = Field(default=0, ge=0, le=23)
    end_hour: int = Field(default=24, ge=1, le=24)

    def hours(self) -> tuple[int, ...]:
        if self.start_hour < self.end_hour:
            return tuple(range(self.start_hour, self.end_hour))
        return tuple(range(self.start_hour, 24)) + tuple(range(0, self.end_hour))


class BatchWorkload(ServingBase):
    """Offline inference: `requests_per_day` done within `window`, no latency SLO."""

    kind: Literal["batch"]
    requests_per_day: float = Field(gt=0, lt=1e12, description="Requests to finish each day.")
    tokens: Tokens
    window: Window = Window()
    max_spot_share: Fraction = Field(
        default=1.0, description="Largest share of the job's instance-hours that may run on spot.")
    batch_sizes: tuple[PositiveInt, ...] | None = None
    measured: tuple[Measurement, ...] = ()


class TrainingWorkload(WorkloadBase):
    """A training or fine-tuning run: `train_tokens` by `deadline_days`, repeated
    `runs_per_horizon` times; its cost is spread over the planning horizon."""

    kind: Literal["training"]
    train_tokens: float = Field(gt=0, lt=1e16, description="Tokens to train on per run.")
    deadline_days: float = Field(gt=0, le=3650, description="Each run must finish within this.")
    accelerator_counts: tuple[PositiveInt, ...] = Field(
        default=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512),
        description="Total accelerators the run may use.")
    runs_per_horizon: float = Field(default=1, gt=0, le=10000)
    mfu: Fraction = Field(default=0.4, gt=0, description="Model FLOPs utilisation at the "
                          "smallest count (share of dense bf16 peak).")
    scaling_efficiency: Fraction = Field(
        default=0.95, gt=0, description="Throughput kept per doubling of accelerators.")
    flops_per_param_token: PositiveFloat = Field(
        default=6.0, description="6 for full training (forward + backward); about 4 for LoRA.")
    bytes_per_param: PositiveFloat = Field(
        default=16.0, description="Training memory per parameter (16: bf16 weights, grads and "
        "fp32 Adam states, sharded across the accelerators).")
    allow_spot: bool = Field(default=True, description="May run on spot, with checkpoints.")
    checkpoint_minutes: PositiveFloat = Field(default=5, description="Time to write a checkpoint.")
    restart_minutes: PositiveFloat = Field(default=10, description="Time to resume after an "
                                           "interruption.")


def _workload_kind(value: Any) -> str:
    kind = value.get("kind", "online") if isinstance(value, dict) else getattr(value, "kind", "online")
    return f"kind:{kind}"


Workload = Annotated[
    Annotated[OnlineWorkload, Tag("kind:online")]
    | Annotated[BatchWorkload, Tag("kind:batch")]
    | Annotated[TrainingWorkload, Tag("kind:training")],
    Discriminator(_workload_kind),
]
AnyWorkload = OnlineWorkload | BatchWorkload | TrainingWorkload
ServingWorkload = OnlineWorkload | BatchWorkload



class Allow(Strict):
    """Policy: which parts of the catalog may be used at all."""

    providers: tuple[Name, ...] | None = None
    regions: tuple[Name, ...] | None = None
    accelerators: tuple[Name, ...] | None = None
    pricing: tuple[PricingMode, ...] = tuple(PricingMode)


class Quota(Strict):
    """At most `max_accelerators` matching accelerators in the whole plan."""

    accelerator: Name | None = None
    provider: Name | None = None
    region: Name | None = None
    max_accelerators: NonNegativeInt

    def covers(self, catalog: Catalog, accelerator: str, provider: str, region: str) -> bool:
        """Whether accelerators of this kind, provider and region count against the quota."""
        if self.accelerator and catalog.resolve_accelerator(self.accelerator) != accelerator:
            return False
        if self.provider and self.provider != provider:
            return False
        return not (self.region and self.region != region)


class Commitment(Strict):
    """Instances already reserved or owned: their cost is sunk, so the plan uses them first."""

    offer: Name = Field(description="provider/region/instance_type of a catalog offer.")
    pricing: Literal[PricingMode.reserved_1y, PricingMode.reserved_3y, PricingMode.owned]
    instances: PositiveInt


class Performance(Strict):
    utilisation_cap: Fraction = Field(
        default=0.8,
        gt=0,
        description="Plan each replica at most this busy, so queues stay short and SLOs hold "
        "under load and not only at the mean.",
    )
    preparation_usd_per_gpu_hour: PositiveFloat = Field(
        default=4.0, description="Price of the GPU-hours a one-time variant preparation "
        "(quantisation, sparsification) takes; about an H100-hour on demand.")


class Problem(Strict):
    name: Name
    horizon_months: int = Field(default=12, gt=0, le=120)  # not PositiveInt: its le wins
    currency: Literal["USD"] = "USD"
    catalogs: tuple[str, ...] = ("default",)
    allow: Allow = Allow()
    budget_usd_per_month: PositiveFloat | None = None
    budget_mode: Literal["meet_all", "serve_most_value"] = Field(
        default="meet_all", description=(
            "meet_all: every workload's whole demand or no plan. serve_most_value: when the "
            "budget (or a quota) cannot cover every online workload's demand, serve the most "
            "valuable part (by priority, then value_usd_per_1k_requests) and shed the rest."))
    quotas: tuple[Quota, ...] = ()
    commitments: tuple[Commitment, ...] = ()
    carbon_usd_per_tonne: NonNegativeFloat | None = Field(
        default=None, description="Carbon price added to the cost, USD per tonne CO2.")
    performance: Performance = Performance()
    workloads: tuple[Workload, ...] = Field(min_length=1)

    @cached_property
    def periods(self) -> int:
        """Planning periods per week-shaped cycle: 1 (flat demand), 24 (hours of a day) or 168
        (hours of a week); every hourly profile is spread over this grid."""
        lengths = {len(w.hourly) for w in self.workloads if isinstance(w, OnlineWorkload)}
        if any(isinstance(w, BatchWorkload) for w in self.workloads):
            lengths.add(HOURS_PER_DAY)
        return max(lengths | {1})

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False
                   ) -> Problem:
        """A copy with `update` applied; cached derived values are recomputed."""
        copied = super().model_copy(update=update, deep=deep)
        copied.__dict__.pop("periods", None)
        return copied

    def online(self) -> list[OnlineWorkload]:
        return [w for w in self.workloads if isinstance(w, OnlineWorkload)]

    @model_validator(mode="after")
    def _unique_workload_names(self) -> Problem:
        names = [workload.name for workload in self.workloads]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"workload names must be unique (repeated: {', '.join(duplicates)})")
        return self

    @field_validator("budget_mode")
    @classmethod
    def _budget_to_serve(cls, mode: str, info: ValidationInfo) -> str:
        if mode == "serve_most_value" and info.data.get("budget_usd_per_month") is None:
            raise ValueError("serve_most_value needs budget_usd_per_month")
        return mode

    @field_validator("workloads")
    @classmethod
    def _values_all_or_none(cls, workloads: tuple[AnyWorkload, ...], info: ValidationInfo
                            ) -> tuple[AnyWorkload, ...]:
        online = [w for w in workloads if isinstance(w, OnlineWorkload)]
        missing = [w.name for w in online if w.value_usd_per_1k_requests is None]
        if info.data.get("budget_mode") == "serve_most_value" and 0 < len(missing) < len(online):
            raise ValueError("with budget_mode serve_most_value, give value_usd_per_1k_requests "
                             f"to every online workload or to none (missing: {', '.join(missing)})")
        return workloads


def _check_references(problem: Problem, catalog: Catalog, loaded: LoadedYaml) -> list[Issue]:
    """Every name in the problem must exist in the catalog; suggest the closest on a typo."""
    issues: list[Issue] = []

    def unknown(path: tuple[str | int, ...], kind: str, name: str, choices: list[str]) -> None:
        issues.append(loaded.issue(path, f"unknown {kind} '{name}'{did_you_mean(name, choices)}"))

    accelerator_names = list(catalog.accelerators) + [
        alias for row in catalog.accelerators.values() for alias in row.aliases
    ]
    allow = problem.allow
    for field_name, known, kind in (
        ("providers", catalog.providers(), "provider"),
        ("regions", catalog.regions(), "region"),
    ):
        for index, value in enumerate(getattr(allow, field_name) or ()):
            if value not in known:
                unknown(("allow", field_name, index), kind, value, known)
    for index, value in enumerate(allow.accelerators or ()):
        if catalog.resolve_accelerator(value) is None:
            unknown(("allow", "accelerators", index), "accelerator", value, accelerator_names)
    for index, quota in enumerate(problem.quotas):
        if quota.accelerator and catalog.resolve_accelerator(quota.accelerator) is None:
            unknown(("quotas", index, "accelerator"), "accelerator", quota.accelerator,
                    accelerator_names)
        if quota.provider and quota.provider not in catalog.providers():
            unknown(("quotas", index, "provider"), "provider", quota.provider, catalog.providers())
        if quota.region and quota.region not in catalog.regions():
            unknown(("quotas", index, "region"), "region", quota.region, catalog.regions())
    offers = {offer.key: offer for offer in catalog.offers}
    for index, commitment in enumerate(problem.commitments):
        offer = offers.get(commitment.offer)
        if offer is None:
            unknown(("commitments", index, "offer"), "offer", commitment.offer, list(offers))
        elif catalog.monthly_price(offer, commitment.pricing) is None:
            issues.append(loaded.issue(("commitments", index, "pricing"),
                                       f"offer {offer.key} has no {commitment.pricing.value} price"))
    for index, workload in enumerate(problem.workloads):
        base: tuple[str | int, ...] = ("workloads", index)
        if workload.model not in catalog.models:
            unknown((*base, "model"), "model", workload.model, list(catalog.models))
        for v_index, variant in enumerate(workload.variants or ()):
            if variant not in catalog.variants:
                unknown((*base, "variants", v_index), "variant", variant, list(catalog.variants))
        if isinstance(workload, TrainingWorkload):
            continue
        issues += _check_alternatives(workload, catalog, loaded, base)
        for m_index, point in enumerate(getattr(workload, "measured", ())):
            if catalog.resolve_accelerator(point.accelerator) is None:
                unknown((*base, "measured", m_index, "accelerator"), "accelerator",
                        point.accelerator, accelerator_names)
            if point.variant not in catalog.variants:
                unknown((*base, "measured", m_index, "variant"), "variant", point.variant,
                        list(catalog.variants))
            if point.model is not None and point.model not in workload.models:
                issues.append(loaded.issue(
                    (*base, "measured", m_index, "model"),
                    f"'{point.model}' is neither the workload's model nor one of its "
                    f"alternatives ({', '.join(workload.models)})"))
        model = catalog.models.get(workload.model)
        if model and workload.tokens.prompt + workload.tokens.output > model.context:
            issues.append(loaded.issue(
                (*base, "tokens"),
                f"prompt + output = {workload.tokens.prompt + workload.tokens.output} tokens "
                f"exceeds {model.name}'s context of {model.context}"))
    return issues


def _check_alternatives(workload: ServingWorkload, catalog: Catalog, loaded: LoadedYaml,
                        base: tuple[str | int, ...]) -> list[Issue]:
    """Each alternative is a catalog model of the workload model's family that holds the
    workload's prompt and output."""
    issues: list[Issue] = []
    model = catalog.models.get(workload.model)
    tokens = workload.tokens.prompt + workload.tokens.output
    for index, name in enumerate(workload.alternatives):
        path = (*base, "alternatives", index)
        found = catalog.models.get(name)
        if found is None:
            issues.append(loaded.issue(path, f"unknown model '{name}'"
                                             f"{did_you_mean(name, catalog.models)}"))
        elif model is not None and found.family != model.family:
            siblings = sorted(m.name for m in catalog.models.values()
                              if m.family == model.family and m.name != model.name)
            choices = (f": {', '.join(siblings)}" if siblings
                       else "; the catalog has no other model of that family")
            issues.append(loaded.issue(path, (
                f"'{name}' is of family '{found.family}', not of {model.name}'s family "
                f"'{model.family}'; alternatives must be of the same family{choices}")))
        elif tokens > found.context:
            issues.append(loaded.issue(path, f"prompt + output = {tokens} tokens exceeds "
                                             f"{name}'s context of {found.context}"))
    return issues


def _duplicate_names(loaded: LoadedYaml) -> list[Issue]:
    """Repeated workload names, each located at its second use."""
    workloads = loaded.data.get("workloads")
    first: dict[str, int] = {}
    issues: list[Issue] = []
    for index, workload in enumerate(workloads if isinstance(workloads, list) else ()):
        name = workload.get("name") if isinstance(workload, dict) else None
        if not isinstance(name, str):
            continue
        if name in first:
            line, _ = loaded.position(("workloads", first[name], "name"))
            issues.append(loaded.issue(("workloads", index, "name"),
                                       f"duplicate workload name '{name}' (first used on line {line})"))
        else:
            first[name] = index
    return issues


PLAN_KEYS = frozenset({"allocations", "objective_usd_per_month", "status"})
"""Top-level keys of every plan `plan solve` writes, and of no problem file."""


def parse_problem(loaded: LoadedYaml) -> Problem:
    """Validate the structure of a loaded problem document."""
    if not isinstance(loaded.data, dict):
        got = "an empty file" if loaded.data is None else type(loaded.data).__name__
        raise InputError([loaded.issue((), f"a problem file must be a YAML mapping (got {got})")])
    if loaded.data.keys() >= PLAN_KEYS:
        raise InputError([loaded.issue((), "this is a plan (JSON from plan solve), not a problem "
                                           "file; give the problem's YAML here (plan check takes "
                                           "PROBLEM_FILE first, then PLAN_FILE)")])
    duplicates = _duplicate_names(loaded)
    try:
        problem = Problem.model_validate(loaded.data)
    except ValidationError as exc:
        issues = issues_from_validation_error(exc, loaded, Problem)
        if duplicates:  # replace the unlocated model-level message with the located ones
            issues = [issue for issue in issues if "workload names must be unique" not in issue.message]
        raise InputError(issues + duplicates) from None
    return problem


def _missing_catalogs(problem: Problem, loaded: LoadedYaml, folder: Path) -> list[Issue]:
    """Catalog entries that name no file or folder, located in the problem file."""
    known = sorted(p.name for p in CATALOG_ROOT.iterdir() if p.is_dir()) if CATALOG_ROOT.is_dir() else []
    issues = []
    for index, entry in enumerate(problem.catalogs):
        path = resolve_catalog_path(entry, folder)
        if not path.exists():
            issues.append(loaded.issue(("catalogs", index),
                                       f"catalog '{entry}' not found (looked for {path})"
                                       f"{did_you_mean(entry, known)}"))
    return issues


def load_problem(path: Path) -> tuple[Problem, Catalog]:
    """Read, validate and cross-check a problem file; returns it with its merged catalog.

    Raises:
        InputError: listing every problem found, each with file, line and field.
    """
    loaded = read_yaml(path, "problem file")
    problem = parse_problem(loaded)
    missing = _missing_catalogs(problem, loaded, path.parent)
    if missing:
        raise InputError(missing)
    try:
        catalog = load_catalog(problem.catalogs, relative_to=path.parent)
    except InputError as exc:
        raise InputError([*exc.issues]) from None
    issues = _check_references(problem, catalog, loaded)
    if issues:
        raise InputError(issues)
    return problem, catalog
