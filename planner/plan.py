"""The frozen result of a solve: what runs where, what it costs, and how sure we are."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class Allocation:
    """Instances of one configuration serving (part of) one workload."""

    workload: str
    provider: str
    region: str
    instance_type: str
    accelerator: str
    accelerators_per_instance: int
    pricing: str
    variant: str
    tensor_parallel: int
    batch: int
    instances: int
    replicas: int
    capacity_rps: float
    ttft_ms: float
    tpot_ms: float
    e2e_ms: float
    quality: float
    performance_source: str
    cost_usd_per_month: float
    """Busy hours (on demand, spot), busy energy (owned) and carbon; a committed pool's fee is
    in `Plan.commitments`; a training run's cost spread over the horizon."""
    kind: str = "online"
    instances_by_period: tuple[float, ...] = ()
    """Busy instances per period of the plan's grid (instance-hours per hour for batch jobs);
    `instances` is their peak."""
    run_hours: float = 0.0
    """Training: wall-clock hours of one run."""
    model: str | None = None
    """The model served: the workload's own or one of its alternatives (None: the workload's
    own, as in training runs and plans written before alternatives existed)."""

    def served_model(self, workload_model: str) -> str:
        """The model this allocation runs, given its workload's own model."""
        return self.model or workload_model

    @property
    def offer_key(self) -> str:
        return f"{self.provider}/{self.region}/{self.instance_type}"


@dataclass(frozen=True)
class CommitmentResult:
    """A committed pool (reservation or owned servers) shared by workloads and periods."""

    provider: str
    region: str
    instance_type: str
    accelerator: str
    accelerators_per_instance: int
    pricing: str
    existing: int
    new: int
    cost_usd_per_month: float
    """Fee of the new instances; existing ones are sunk."""
    busy_by_period: tuple[float, ...]
    utilisation: float
    """Busy share of the pool's instance-hours."""
    break_even_utilisation: float | None = None
    """Utilisation above which the pool beats renting the same offer on demand (None when
    the offer has no on-demand price)."""

    @property
    def offer_key(self) -> str:
        return f"{self.provider}/{self.region}/{self.instance_type}"

    @property
    def instances(self) -> int:
        return self.existing + self.new


@dataclass(frozen=True)
class WorkloadResult:
    name: str
    model: str
    rate_rps: float
    capacity_rps: float
    cost_usd_per_month: float
    spot_share: float
    why: tuple[str, ...] = ()
    kind: str = "online"
    prompt_tokens: int = 0
    output_tokens: int = 0
    admitted_rps_by_period: tuple[float, ...] = ()
    """budget_mode serve_most_value: the request rate served in each period of the plan's
    grid (the rest is shed); empty when the whole demand is served."""
    shed_requests_per_month: float = 0.0
    """Requests a month not served (budget_mode serve_most_value)."""
    value_usd_per_month: float | None = None
    """What the served requests are worth (value_usd_per_1k_requests), when given."""


@dataclass(frozen=True)
class Plan:
    problem: str
    status: str
    solver: str
    objective_usd_per_month: float | None
    bound_usd_per_month: float | None
    gap: float | None
    allocations: tuple[Allocation, ...]
    workloads: tuple[WorkloadResult, ...]
    cost_by_pricing: dict[str, float]
    cost_by_provider: dict[str, float]
    cost_components: dict[str, float]
    budget_usd_per_month: float | None
    candidates: int
    rejected: int
    diagnosis: tuple[str, ...] = ()
    periods: int = 1
    commitments: tuple[CommitmentResult, ...] = ()
    budget_mode: str | None = None
    """`serve_most_value` when the problem asks to shed demand that the limits cannot cover
    (see `WorkloadResult.admitted_rps_by_period`); None for the default, every demand served
    or no plan."""
    value_usd_per_month: float | None = None
    """serve_most_value with values given: what the admitted requests are worth a month."""
    solve_seconds: float = field(default=0.0, compare=False)
    schema_version: int = SCHEMA_VERSION

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict; wall times are left out so the output is deterministic."""
        data = asdict(self)
        data.pop("solve_seconds")
        return _rounded(data)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=False) + "\n"


def choice_text(model: str | None, variant: str, workload_model: str | None) -> str:
    """What a workload runs, for people: the variant (`fp8`), prefixed by the model when it is
    an alternative to the workload's own (`llama-3.1-8b fp8`)."""
    return variant if model is None or model == workload_model else f"{model} {variant}"


def _rounded(value: Any) -> Any:
    if isinstance(value, float):
        return float(f"{value:.10g}")
    if isinstance(value, dict):
        return {key: _rounded(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_rounded(item) for item in value]
    return value


def plan_from_dict(data: Any) -> Plan:
    """Rebuild a `Plan` from its JSON form, checking every field's type.

    Raises:
        ValueError: when the document is not a plan of a schema version we read.
    """
    from pydantic import TypeAdapter, ValidationError

    if not isinstance(data, dict) or data.get("schema_version") != SCHEMA_VERSION:
        raise ValueError(f"not a plan of schema_version {SCHEMA_VERSION}")
    try:
        return TypeAdapter(Plan).validate_python(data, strict=False)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise ValueError(f"{where}: {first['msg']} ({exc.error_count()} problems)") from None
