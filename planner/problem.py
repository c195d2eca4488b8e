"""The problem file: what the user wants planned, validated against the catalog.

Schema notes for later extensions: workloads carry a `kind` discriminator (today only
`online`), so batch and training workloads can be added without breaking files written now;
`rate_rps` is a number today and may become a profile; unknown keys are always rejected.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, field_validator, model_validator

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
    batch: PositiveInt
    throughput_rps: PositiveFloat = Field(description="Sustained requests/s of one replica.")
    ttft_ms: PositiveFloat
    tpot_ms: PositiveFloat


class OnlineWorkload(Strict):
    """Online inference: requests arrive at `rate_rps` and must meet the SLO."""

    kind: Literal["online"] = "online"
    name: Name
    model: Name
    # bounds spelt out here: a Field(lt=...) next to the PositiveFloat alias is overridden by
    # the alias's own lt=1e12
    rate_rps: float = Field(gt=0, lt=1e7, description="Request rate to serve, requests/s.")
    tokens: Tokens
    slo: Slo = Slo()
    min_quality: Fraction | None = Field(
        default=None, description="Floor on quality relative to the model at bf16 (0-1)."
    )
    min_quality_score: Fraction | None = Field(
        default=None, description="Floor on the absolute quality score (e.g. MMLU 0-1)."
    )
    max_spot_share: Fraction = Field(
        default=1.0, description="Largest share of serving capacity that may run on spot."
    )
    min_replicas: NonNegativeInt = Field(default=1, description="Replicas kept for availability.")
    variants: tuple[Name, ...] | None = Field(
        default=None, description="Variants allowed for this workload; default: all."
    )
    batch_sizes: tuple[PositiveInt, ...] | None = Field(
        default=None, description="Batch sizes the serving stack may use; default 1 to 256."
    )
    measured: tuple[Measurement, ...] = ()

    @field_validator("rate_rps", mode="before")
    @classmethod
    def _rate_not_bool(cls, value: object) -> object:
        if isinstance(value, bool):  # YAML reads yes/no/on/off as booleans; never mean 1 or 0
            raise ValueError("must be a number, not true/false")
        return value


Workload = OnlineWorkload


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


class Performance(Strict):
    utilisation_cap: Fraction = Field(
        default=0.8,
        gt=0,
        description="Plan each replica at most this busy, so queues stay short and SLOs hold "
        "under load and not only at the mean.",
    )


class Problem(Strict):
    name: Name
    horizon_months: int = Field(default=12, gt=0, le=120)  # not PositiveInt: its le wins
    currency: Literal["USD"] = "USD"
    catalogs: tuple[str, ...] = ("default",)
    allow: Allow = Allow()
    budget_usd_per_month: PositiveFloat | None = None
    quotas: tuple[Quota, ...] = ()
    performance: Performance = Performance()
    workloads: tuple[Workload, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_workload_names(self) -> Problem:
        names = [workload.name for workload in self.workloads]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"workload names must be unique (repeated: {', '.join(duplicates)})")
        return self


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
    for index, workload in enumerate(problem.workloads):
        base: tuple[str | int, ...] = ("workloads", index)
        if workload.model not in catalog.models:
            unknown((*base, "model"), "model", workload.model, list(catalog.models))
        for v_index, variant in enumerate(workload.variants or ()):
            if variant not in catalog.variants:
                unknown((*base, "variants", v_index), "variant", variant, list(catalog.variants))
        for m_index, point in enumerate(workload.measured):
            if catalog.resolve_accelerator(point.accelerator) is None:
                unknown((*base, "measured", m_index, "accelerator"), "accelerator",
                        point.accelerator, accelerator_names)
            if point.variant not in catalog.variants:
                unknown((*base, "measured", m_index, "variant"), "variant", point.variant,
                        list(catalog.variants))
        model = catalog.models.get(workload.model)
        if model and workload.tokens.prompt + workload.tokens.output > model.context:
            issues.append(loaded.issue(
                (*base, "tokens"),
                f"prompt + output = {workload.tokens.prompt + workload.tokens.output} tokens "
                f"exceeds {model.name}'s context of {model.context}"))
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


def parse_problem(loaded: LoadedYaml) -> Problem:
    """Validate the structure of a loaded problem document."""
    if not isinstance(loaded.data, dict):
        got = "an empty file" if loaded.data is None else type(loaded.data).__name__
        raise InputError([loaded.issue((), f"a problem file must be a YAML mapping (got {got})")])
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
