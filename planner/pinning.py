"""Pins: keep only the configurations of one workload that match given fields.

`plan explain --force workload=chat,accelerator=L4,pricing=spot` re-solves with such a pin
(`model=llama-3.1-8b` pins a serving workload to one of the models it allows: its own or an
alternative); the baselines pin every workload to one choice. A pin filters a workload's candidates (and, for
a training workload, its run options) before pruning, so that dominance among the kept ones is
decided afresh; rejections are filtered too, so a pin that leaves nothing feasible is diagnosed
by the nearest misses among the configurations it names.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from planner.candidates import CandidateSet, Config
from planner.catalog import Catalog, Offer, PricingMode, did_you_mean
from planner.errors import InputError, input_error
from planner.problem import AnyWorkload, Problem, TrainingWorkload
from planner.training import TrainingOption

OPTION = "--force"
KEYS = ("workload", "accelerator", "pricing", "model", "variant", "provider", "region", "offer")
"""Fields a pin may name; `workload` is required. `offer` is provider/region/instance_type."""
TRAINING_VARIANT = "bf16"
"""Training runs at bf16 (see `planner.training`)."""


@dataclass(frozen=True)
class Pin:
    """The fields a workload's configuration must have (None: any)."""

    workload: str
    accelerator: str | None = None
    """Canonical accelerator name."""
    pricing: PricingMode | None = None
    model: str | None = None
    """The model served: the workload's own or one of its alternatives."""
    variant: str | None = None
    provider: str | None = None
    region: str | None = None
    offer: str | None = None

    def matches_offer(self, offer: Offer) -> bool:
        return ((self.accelerator is None or offer.accelerator == self.accelerator)
                and (self.provider is None or offer.provider == self.provider)
                and (self.region is None or offer.region == self.region)
                and (self.offer is None or offer.key == self.offer))

    def matches(self, config: Config) -> bool:
        """A configuration of a serving workload; a rejection without a pricing mode matches
        any pin on pricing (it failed before the mode mattered)."""
        return (self.matches_offer(config.offer)
                and (self.model is None or config.model == self.model)
                and (self.variant is None or config.variant == self.variant)
                and (self.pricing is None or config.mode is None or config.mode is self.pricing))

    def matches_training(self, option: TrainingOption) -> bool:
        """A run option of a training workload (which trains its own model only, so a pin on
        `model`, checked against the workload's models, lets every option through)."""
        return (self.matches_offer(option.offer)
                and (self.pricing is None or option.mode is self.pricing)
                and (self.variant is None or self.variant == TRAINING_VARIANT))

    def text(self) -> str:
        """`accelerator=L4, pricing=spot`: what is pinned, without the workload."""
        fields = ((key, getattr(self, key)) for key in KEYS[1:])
        return ", ".join(f"{key}={value.value if isinstance(value, PricingMode) else value}"
                         for key, value in fields if value is not None)


def pin_candidates(candidates: CandidateSet, pins: Sequence[Pin]) -> CandidateSet:
    """The candidates and rejections that every pin on their workload lets through."""
    by_workload = {pin.workload: pin for pin in pins}

    def kept(config: Config) -> bool:
        pin = by_workload.get(config.workload)
        return pin is None or pin.matches(config)

    return CandidateSet(tuple(c for c in candidates.candidates if kept(c.config)),
                        tuple(r for r in candidates.rejections if kept(r.config)))


def pin_training(options: Sequence[TrainingOption], pins: Sequence[Pin]
                 ) -> tuple[TrainingOption, ...]:
    by_workload = {pin.workload: pin for pin in pins}
    return tuple(o for o in options
                 if o.workload not in by_workload or by_workload[o.workload].matches_training(o))


def parse_pin(text: str, problem: Problem, catalog: Catalog) -> Pin:
    """`workload=chat,accelerator=L4,pricing=spot` -> Pin, every key and value checked.

    Raises:
        InputError: naming --force, the key, and the valid keys or values.
    """
    fields: dict[str, str] = {}
    for part in (p.strip() for p in text.split(",")):
        key, equals, value = part.partition("=")
        key, value = key.strip(), value.strip()
        if not equals or not key or not value:
            raise _error(text, f"expected KEY=VALUE pairs separated by commas, e.g. "
                               f"workload=chat,accelerator=L4 (got '{part}'); keys: {', '.join(KEYS)}")
        if key not in KEYS:
            raise _error(text, f"unknown key '{key}'{did_you_mean(key, KEYS)} "
                               f"(valid: {', '.join(KEYS)})")
        if key in fields:
            raise _error(text, f"key '{key}' given twice")
        fields[key] = value
    if "workload" not in fields:
        raise _error(text, "needs workload=NAME (which workload to pin)")
    if len(fields) == 1:
        raise _error(text, f"names no field to pin; add one of {', '.join(KEYS[1:])}")
    workloads = [w.name for w in problem.workloads]
    workload = _choice(text, "workload", fields["workload"], workloads)
    accelerator = fields.get("accelerator")
    if accelerator is not None:
        resolved = catalog.resolve_accelerator(accelerator)
        if resolved is None:
            _choice(text, "accelerator", accelerator, sorted(catalog.accelerators))
        accelerator = resolved
    pricing = fields.get("pricing")
    pinned = _workload(problem, workload)
    variants = ([TRAINING_VARIANT] if isinstance(pinned, TrainingWorkload)
                else sorted(catalog.variants))
    return Pin(
        workload=workload, accelerator=accelerator,
        pricing=PricingMode(_choice(text, "pricing", pricing, [m.value for m in PricingMode]))
        if pricing is not None else None,
        model=_model(text, pinned, fields.get("model"), catalog),
        variant=_optional(text, "variant", fields.get("variant"), variants),
        provider=_optional(text, "provider", fields.get("provider"), catalog.providers()),
        region=_optional(text, "region", fields.get("region"), catalog.regions()),
        offer=_optional(text, "offer", fields.get("offer"), sorted(o.key for o in catalog.offers)),
    )


def _workload(problem: Problem, name: str) -> AnyWorkload:
    return next(w for w in problem.workloads if w.name == name)


def _model(text: str, workload: AnyWorkload, value: str | None, catalog: Catalog) -> str | None:
    """A model the workload may run: its own or one of its alternatives."""
    if value is None or value in workload.models:
        return value
    allowed = (f"{', '.join(workload.models)}: its model and its alternatives"
               if len(workload.models) > 1 else f"{workload.model}, its own model only")
    if value not in catalog.models:
        raise _error(text, f"unknown model '{value}'{did_you_mean(value, workload.models)} "
                           f"(workload {workload.name} may run {allowed})")
    raise _error(text, f"workload {workload.name} may not run model '{value}' (it may run "
                       f"{allowed})")


def _optional(text: str, key: str, value: str | None, valid: Sequence[str]) -> str | None:
    return None if value is None else _choice(text, key, value, valid)


def _choice(text: str, key: str, value: str, valid: Sequence[str]) -> str:
    if value in valid:
        return value
    shown = ", ".join(valid) if len(valid) <= 30 else ", ".join(valid[:30]) + ", ..."
    raise _error(text, f"unknown {key} '{value}'{did_you_mean(value, valid)} (valid: {shown})")


def _error(text: str, message: str) -> InputError:
    return input_error(OPTION, message, text)
