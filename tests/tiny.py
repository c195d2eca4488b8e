"""Random tiny problems and their brute-force optimum, shared by the brute-force, backend and
property tests.

`random_catalog` and `random_document` draw from any `random.Random`, including Hypothesis's
`st.randoms()`, whose draws shrink. Two made-up accelerators (TA, TB), 2-3 offers with
on-demand and sometimes spot and reserved prices, one 8B model with bf16 and int8 variants;
1-2 workloads with measured throughputs, so the performance model plays no part.
`random_family_catalog` adds a 3B sibling `s` of the 8B model (quality 0.63, 0.9 of the 8B)
that may need a one-time distillation, and `random_document(..., alternatives=True)` lets
workloads run it (with its own measured points) under floors it may or may not pass.

Brute force works on the full, unpruned candidate list and shares no code with the
formulation: it enumerates every instance-count vector per workload and (model, variant)
choice (each count up to what serves the workload alone, which bounds any optimal plan: more
instances of one candidate than that let every other instance go), keeps the per-workload
Pareto set over (cost, quota use) per choice, then combines workloads under quotas and the
budget, adding the one-time runs (variant preparation, distillation) of the choices combined.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
import random
from typing import Any

import numpy as np

from planner.candidates import CandidateSet, instances_needed
from planner.catalog import Accelerator, Catalog, Model, Offer, Prices, PricingMode, Variant
from planner.formulation import quota_matches
from planner.problem import OnlineWorkload, Problem

MAX_GRID = 200_000
"""Brute force gives up (returns NaN) beyond this many count vectors for one variant."""
ROW = {"source": "random test fixture", "as_of": dt.date(2026, 1, 1)}
TOO_LARGE = math.nan


def accelerators() -> dict[str, Accelerator]:
    return {
        "TA": Accelerator(name="TA", vendor="t", architecture="t", memory_gb=80,
                          bandwidth_gb_s=2000, tflops={"bf16": 300}, **ROW),
        "TB": Accelerator(name="TB", vendor="t", architecture="t", memory_gb=40,
                          bandwidth_gb_s=900, tflops={"bf16": 120}, **ROW),
    }


def offer(number: int, provider: str, accelerator: str, count: int, **prices: float) -> Offer:
    return Offer(provider=provider, region="r1", instance_type=f"i{number}",
                 accelerator=accelerator, count=count, prices_usd_per_hour=Prices(**prices), **ROW)


def catalog_with(offers: tuple[Offer, ...], distillation_gpu_hours: float | None = None
                 ) -> Catalog:
    """The tiny catalog (accelerators, model, variants) with these offers; with
    `distillation_gpu_hours`, also the 3B sibling `s` that takes that to distil."""
    models = {"m": Model(name="m", family="f", params_b=8, layers=32, hidden=4096, kv_heads=8,
                         head_dim=128, context=8192, quality=0.7, **ROW)}
    if distillation_gpu_hours is not None:
        models["s"] = Model(name="s", family="f", params_b=3, layers=28, hidden=3072, kv_heads=8,
                            head_dim=128, context=8192, quality=0.63,
                            distillation_gpu_hours=distillation_gpu_hours, **ROW)
    variants = {
        "bf16": Variant(name="bf16", weight_bytes_per_param=2, compute="bf16",
                        quality_retention=1.0, **ROW),
        "int8": Variant(name="int8", weight_bytes_per_param=1, compute="bf16",
                        quality_retention=0.98, **ROW),
    }
    found = accelerators()
    aliases = {name.lower(): name for name in found}
    return Catalog(found, offers, models, variants, (), aliases)


def random_offer(rng: random.Random, number: int) -> Offer:
    on_demand = round(rng.uniform(0.5, 3.0), 2)
    prices = {"on_demand": on_demand}
    if rng.random() < 0.7:
        prices["spot"] = round(on_demand * rng.uniform(0.2, 0.9), 2)
    if rng.random() < 0.5:
        prices["reserved_1y"] = round(on_demand * rng.uniform(0.5, 0.8), 2)
    return offer(number, rng.choice(["p1", "p2"]), rng.choice(["TA", "TB"]),
                 rng.choice([1, 1, 2]), **prices)


def random_catalog(rng: random.Random) -> Catalog:
    return catalog_with(tuple(random_offer(rng, number) for number in range(rng.randint(2, 3))))


def random_family_catalog(rng: random.Random) -> Catalog:
    """`random_catalog` plus the sibling `s`, distilled in 0, 500 or 5,000 GPU-hours ($0, $167
    or $1,667 a month over 12 months at $4)."""
    offers = tuple(random_offer(rng, number) for number in range(rng.randint(2, 3)))
    return catalog_with(offers, rng.choice([0.0, 500.0, 5000.0]))


def measured_points(rng: random.Random, varied_latency: bool, model: str | None = None,
                    faster: float = 1.0) -> list[dict[str, Any]]:
    """A batch-8 point per accelerator, count and variant; `faster` scales the throughput."""
    measured = []
    for accelerator in ("TA", "TB"):
        for count in (1, 2):
            for variant in ("bf16", "int8"):
                throughput = round(rng.uniform(2, 12) * faster, 2)
                tpot = round(rng.uniform(10, 50), 1) if varied_latency else 20
                point = {"accelerator": accelerator, "count": count, "variant": variant,
                         "batch": 8, "throughput_rps": throughput, "ttft_ms": 100,
                         "tpot_ms": tpot}
                if model is not None:
                    point["model"] = model
                measured.append(point)
    return measured


def random_document(rng: random.Random, varied_latency: bool = False,
                    alternatives: bool = False) -> dict[str, Any]:
    """A problem document (before validation). With `varied_latency`, each measured point
    gets its own TPOT (10-50 ms, against the SLO of 30 ms), so the SLO rules some out. With
    `alternatives` (for `random_family_catalog`), a workload may run the sibling `s` too,
    measured 1-3x faster, under a floor of none, 0.85 (s passes at 0.9) or 0.95 (it does not)."""
    workloads = []
    for number in range(rng.choice([1, 1, 2])):
        measured = measured_points(rng, varied_latency)
        floor = {}
        if alternatives and rng.random() < 0.8:
            measured += measured_points(rng, varied_latency, "s", rng.uniform(1, 3))
            floor = {"alternatives": ["s"], "min_quality": rng.choice([None, 0.85, 0.95])}
        workloads.append({
            "name": f"w{number}", "model": "m", "rate_rps": round(rng.uniform(1, 18), 2),
            "tokens": {"prompt": 200, "output": 100}, "batch_sizes": [8],
            "variants": rng.choice([["bf16"], ["bf16", "int8"]]),
            "min_quality": rng.choice([None, 0.99]),
            "max_spot_share": rng.choice([0.0, 0.3, 0.5, 1.0]),
            "min_replicas": rng.randint(0, 3), "measured": measured,
            "slo": {"tpot_ms": 30},
            **floor,
        })
    document: dict[str, Any] = {"name": "random", "workloads": workloads}
    if rng.random() < 0.4:
        document["quotas"] = [{"accelerator": rng.choice(["TA", "TB"]),
                               "max_accelerators": rng.randint(0, 6)}]
    if rng.random() < 0.3:
        document["budget_usd_per_month"] = round(rng.uniform(500, 8000), 0)
    if rng.random() < 0.3:
        document["allow"] = {"pricing": ["on_demand", "spot"]}
    return document


def random_problem(rng: random.Random) -> Problem:
    return Problem.model_validate(random_document(rng))


Point = tuple[float, tuple[float, ...]]
"""(cost, quota use) of one workload's instances."""


def one_time_usd_per_month(problem: Problem, catalog: Catalog, choices: set[tuple[str, str]]
                           ) -> float:
    """Each (model, variant) preparation and each model's distillation once, over the horizon."""
    gpu_hours = sum(catalog.variants[v].preparation_gpu_hours_per_b_params
                    * catalog.models[m].params_b for m, v in choices)
    gpu_hours += sum(catalog.models[m].distillation_gpu_hours for m in {m for m, _ in choices})
    return gpu_hours * problem.performance.preparation_usd_per_gpu_hour / problem.horizon_months


def brute_force(problem: Problem, catalog: Catalog, candidates: CandidateSet) -> float | None:
    """Least cost over every feasible plan, None if none exists, `TOO_LARGE` (NaN) when the
    enumeration would exceed `MAX_GRID`."""
    per_workload: list[list[tuple[tuple[str, str], Point]]] = []
    for workload in problem.workloads:
        assert isinstance(workload, OnlineWorkload) and workload.rate_rps is not None  # flat
        options = candidates.for_workload(workload.name)
        frontier: list[tuple[tuple[str, str], Point]] = []
        for choice in sorted({c.config.choice for c in options}):
            group = [c for c in options if c.config.choice == choice]
            limits = [instances_needed(workload.rate_rps, c.capacity_rps, workload.min_replicas,
                                       c.config.replicas_per_instance) for c in group]
            if math.prod(x + 1 for x in limits) > MAX_GRID:
                return TOO_LARGE
            grid = np.indices([x + 1 for x in limits]).reshape(len(group), -1).T
            capacity = grid @ np.array([c.capacity_rps for c in group])
            spot = grid @ np.array([c.capacity_rps if c.mode is PricingMode.spot else 0.0
                                    for c in group])
            replicas = grid @ np.array([c.config.replicas_per_instance for c in group])
            cost = grid @ np.array([c.cost_usd_per_month for c in group])
            usage = grid @ np.array([[c.accelerators if quota_matches(q, catalog, c) else 0
                                      for q in problem.quotas] for c in group]
                                    ).reshape(len(group), len(problem.quotas))
            ok = ((capacity >= workload.rate_rps - 1e-9)
                  & (spot <= workload.max_spot_share * capacity + 1e-9)
                  & (replicas >= workload.min_replicas))
            if not ok.any():
                continue
            # of the feasible vectors only the cheapest per distinct quota use can matter
            uses, group_of = np.unique(usage[ok], axis=0, return_inverse=True)
            cheapest = np.full(len(uses), np.inf)
            np.minimum.at(cheapest, group_of.ravel(), cost[ok])
            frontier += [(choice, point) for point in pareto(
                [(float(c), tuple(float(u) for u in use))
                 for c, use in zip(cheapest, uses, strict=True)])]
        if not frontier:
            return None
        per_workload.append(frontier)
    best = None
    for combination in itertools.product(*per_workload):
        total = sum(cost for _, (cost, _) in combination)
        total += one_time_usd_per_month(problem, catalog, {choice for choice, _ in combination})
        used = [sum(u[q] for _, (_, u) in combination) for q in range(len(problem.quotas))]
        if any(used[q] > quota.max_accelerators for q, quota in enumerate(problem.quotas)):
            continue
        if problem.budget_usd_per_month is not None and total > problem.budget_usd_per_month + 1e-6:
            continue
        best = total if best is None else min(best, total)
    return best


def pareto(points: list[Point]) -> list[Point]:
    """Points not dominated in (cost, quota use); the cheapest of equal ones."""
    kept: list[Point] = []
    for cost, usage in sorted(set(points)):
        if not any(all(a <= b for a, b in zip(u, usage, strict=True)) for _, u in kept):
            kept.append((cost, usage))
    return kept
