"""Seeded generator of realistic fleets on the default catalog (solver benchmarks).

`generate(n, seed, hourly=False)` returns a `Problem` with `n` online workloads drawn over the
catalog's models with realistic rates (0.5-50 req/s), token mixes (chat, RAG long prompt,
summarisation, short classification; embeddings for the embedding model), SLOs loose enough
that every drawn workload has a configuration, quality floors, spot shares and min replicas,
plus shared coupling: a budget of 1.3x the sum of each workload's cheapest stand-alone
non-spot cost, and quotas on the most used accelerator type and provider of that stand-alone
plan (about 60 % / 75 % of its use) so they bind. Reserved (1y, 3y) pools are allowed and
shared by every workload of an offer.

With `hourly`, demand varies over a 24-hour day (the rate drawn is the peak): chat and
classification follow a `diurnal` cosine (trough 10-40 % of the peak at 04:00), RAG and
summarisation `business-hours` (the peak 09:00-18:00, 10-40 % otherwise), embeddings stay
flat. The plan then has 24 periods and the reserved pools are shared across hours too. With
`weekly`, each workload's day repeats over a week (168 periods, a `profile_rps`), its weekend
days at a share of 40-80 % drawn per workload.

The stand-alone costs are computed cheaply: each (model, mix, quality floor) template is
probed once with a one-workload problem, and each workload's cost is then the cheapest
`instances_needed(rate) x price` over the template's non-spot candidates.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass
from functools import cache
from typing import Any

from planner.candidates import build_candidates, instances_needed
from planner.catalog import Catalog, PricingMode, load_catalog
from planner.problem import Problem, shape_profile

MIXES: dict[str, dict[str, Any]] = {
    "chat": {"tokens": {"prompt": 800, "output": 250}, "slo": {"ttft_ms": 3000, "tpot_ms": 100}},
    "rag": {"tokens": {"prompt": 4000, "output": 300}, "slo": {"ttft_ms": 6000, "e2e_ms": 40000}},
    "summarise": {"tokens": {"prompt": 3000, "output": 500},
                  "slo": {"ttft_ms": 8000, "tpot_ms": 120}},
    "classify": {"tokens": {"prompt": 300, "output": 5}, "slo": {"e2e_ms": 2000}},
    "embed": {"tokens": {"prompt": 64, "output": 1}, "slo": {"ttft_ms": 200}},
}
EMBEDDING_MODELS = ("bge-large-en-v1.5",)
QUALITY_FLOORS = (None, None, 0.95, 0.98)
SPOT_SHARES = (0.0, 0.25, 0.5, 1.0)
PROVIDERS = ["aws", "gcp", "azure", "lambda", "runpod"]


@dataclass(frozen=True)
class Option:
    capacity_rps: float
    cost: float
    replicas_per_instance: int
    accelerators: int
    accelerator: str
    provider: str


SHAPES = {"chat": "diurnal", "classify": "diurnal", "rag": "business-hours",
          "summarise": "business-hours", "embed": None}
"""Daily shape of each token mix with `hourly` demand (None: flat)."""


@cache
def catalog() -> Catalog:
    """The default catalog (loaded once)."""
    return load_catalog(["default"])


_catalog = catalog


def _workload(name: str, model: str, mix: str, floor: float | None, rate: float,
              spot: float, replicas: int) -> dict[str, Any]:
    document: dict[str, Any] = {"name": name, "model": model, "rate_rps": rate,
                                "tokens": dict(MIXES[mix]["tokens"]),
                                "slo": dict(MIXES[mix]["slo"]), "max_spot_share": spot,
                                "min_replicas": replicas}
    if floor is not None:
        document["min_quality"] = floor
    return document


@cache
def _template(model: str, mix: str, floor: float | None) -> tuple[Option, ...]:
    """Non-spot candidates of one workload shape (rate and replicas do not change them)."""
    problem = Problem.model_validate({
        "name": "probe", "allow": {"providers": PROVIDERS},
        "workloads": [_workload("probe", model, mix, floor, 10.0, 0.0, 0)]})
    candidates = build_candidates(problem, catalog())
    return tuple(Option(c.capacity_rps, c.cost_usd_per_month, c.config.replicas_per_instance,
                        c.accelerators, c.config.offer.accelerator, c.config.offer.provider)
                 for c in candidates.candidates if c.mode is not PricingMode.spot)


def _alone(options: tuple[Option, ...], rate: float, replicas: int) -> tuple[float, Option]:
    def cost(option: Option) -> float:
        return instances_needed(rate, option.capacity_rps, replicas,
                                option.replicas_per_instance) * option.cost
    best = min(options, key=cost)
    return cost(best), best


def _weekly(document: dict[str, Any], weekend: float) -> None:
    """The workload's day (its shape, or flat) over a week, weekend days at `weekend`."""
    rate = document.pop("rate_rps")
    shape = document.pop("shape", None)
    trough = document.pop("trough_fraction", 0.0)
    day = shape_profile(shape, rate, trough) if shape else (rate,) * 24
    document["profile_rps"] = [round(r * (weekend if d >= 5 else 1.0), 3)
                               for d in range(7) for r in day]


def generate(workloads: int, seed: int = 0, hourly: bool = False, weekly: bool = False
             ) -> Problem:
    """A fleet of `workloads` online workloads with a binding budget and quotas; with `hourly`,
    24-hour demand, with `weekly` 168-hour (see the module doc)."""
    rng = random.Random(seed)
    weekends = random.Random(-1 - seed)  # its own draws: the same workloads as `hourly`
    hourly = hourly or weekly
    models = sorted(catalog().models)
    documents: list[dict[str, Any]] = []
    total = 0.0
    accelerator_use: Counter[str] = Counter()
    provider_use: Counter[str] = Counter()
    while len(documents) < workloads:
        model = rng.choice(models)
        mix = "embed" if model in EMBEDDING_MODELS else rng.choice(
            ["chat", "chat", "rag", "summarise", "classify"])
        floor = rng.choice(QUALITY_FLOORS)
        options = _template(model, mix, floor)
        if not options:
            continue  # this shape has no configuration; draw another
        rate = round(10 ** rng.uniform(-0.3, 1.7), 2)  # 0.5 .. 50 req/s, log-uniform
        replicas = rng.choice([0, 1, 2, 2, 3])
        spot = rng.choice(SPOT_SHARES)
        cost, best = _alone(options, rate, replicas)
        instances = instances_needed(rate, best.capacity_rps, replicas, best.replicas_per_instance)
        total += cost
        accelerator_use[best.accelerator] += instances * best.accelerators
        provider_use[best.provider] += instances * best.accelerators
        document = _workload(f"w{len(documents):05d}-{mix}", model, mix, floor, rate, spot,
                             replicas)
        if hourly and SHAPES[mix] is not None:
            document["shape"] = SHAPES[mix]
            document["trough_fraction"] = round(rng.uniform(0.1, 0.4), 2)
        if weekly:
            _weekly(document, weekends.uniform(0.4, 0.8))
        documents.append(document)
    quotas = []
    if accelerator_use:
        accelerator, used = accelerator_use.most_common(1)[0]
        quotas.append({"accelerator": accelerator, "max_accelerators": max(1, int(0.6 * used))})
    if provider_use:
        provider, used = provider_use.most_common(1)[0]
        quotas.append({"provider": provider, "max_accelerators": max(1, int(0.75 * used))})
    return Problem.model_validate({
        "name": f"fleet-{workloads}{'-hourly' if hourly else ''}-seed{seed}",
        "catalogs": ["default"],
        "allow": {"providers": PROVIDERS},
        "budget_usd_per_month": round(1.3 * total, 2),
        "quotas": quotas,
        "workloads": documents,
    })


if __name__ == "__main__":
    import sys

    fleet = generate(int(sys.argv[1]) if len(sys.argv) > 1 else 10,
                     hourly="--hourly" in sys.argv)
    print(fleet.model_dump_json(indent=2, exclude_defaults=True))
