"""The MIP (with pruning) against brute-force enumeration on random tiny problems.

Brute force works on the full, unpruned candidate list and shares no code with the
formulation: it enumerates every instance-count vector per workload and variant (each count
up to what serves the workload alone, which bounds any optimal plan: more instances of one
candidate than that let every other instance go), keeps the per-workload Pareto set over
(cost, quota use), then combines workloads under quotas and the budget.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
import random

import numpy as np
import pytest

from planner.backends import SolveOptions
from planner.candidates import CandidateSet, build_candidates, instances_needed
from planner.catalog import Accelerator, Catalog, Model, Offer, Prices, PricingMode, Variant
from planner.formulation import quota_matches
from planner.problem import Problem
from planner.solve import solve
from planner.verify import check_plan

CASES = 200
MAX_GRID = 200_000
ROW = {"source": "random test fixture", "as_of": dt.date(2026, 1, 1)}


def random_catalog(rng: random.Random) -> Catalog:
    accelerators = {
        "TA": Accelerator(name="TA", vendor="t", architecture="t", memory_gb=80,
                          bandwidth_gb_s=2000, tflops={"bf16": 300}, **ROW),
        "TB": Accelerator(name="TB", vendor="t", architecture="t", memory_gb=40,
                          bandwidth_gb_s=900, tflops={"bf16": 120}, **ROW),
    }
    offers = []
    for number in range(rng.randint(2, 3)):
        on_demand = round(rng.uniform(0.5, 3.0), 2)
        prices = {"on_demand": on_demand}
        if rng.random() < 0.7:
            prices["spot"] = round(on_demand * rng.uniform(0.2, 0.9), 2)
        if rng.random() < 0.5:
            prices["reserved_1y"] = round(on_demand * rng.uniform(0.5, 0.8), 2)
        offers.append(Offer(provider=rng.choice(["p1", "p2"]), region="r1",
                            instance_type=f"i{number}", accelerator=rng.choice(["TA", "TB"]),
                            count=rng.choice([1, 1, 2]), prices_usd_per_hour=Prices(**prices),
                            **ROW))
    models = {"m": Model(name="m", family="f", params_b=8, layers=32, hidden=4096, kv_heads=8,
                         head_dim=128, context=8192, quality=0.7, **ROW)}
    variants = {
        "bf16": Variant(name="bf16", weight_bytes_per_param=2, compute="bf16",
                        quality_retention=1.0, **ROW),
        "int8": Variant(name="int8", weight_bytes_per_param=1, compute="bf16",
                        quality_retention=0.98, **ROW),
    }
    aliases = {name.lower(): name for name in accelerators}
    return Catalog(accelerators, tuple(offers), models, variants, (), aliases)


def random_problem(rng: random.Random) -> Problem:
    workloads = []
    for number in range(rng.choice([1, 1, 2])):
        measured = [
            {"accelerator": accelerator, "count": count, "variant": variant, "batch": 8,
             "throughput_rps": round(rng.uniform(2, 12), 2), "ttft_ms": 100, "tpot_ms": 20}
            for accelerator in ("TA", "TB") for count in (1, 2) for variant in ("bf16", "int8")
        ]
        workloads.append({
            "name": f"w{number}", "model": "m", "rate_rps": round(rng.uniform(1, 18), 2),
            "tokens": {"prompt": 200, "output": 100}, "batch_sizes": [8],
            "variants": rng.choice([["bf16"], ["bf16", "int8"]]),
            "min_quality": rng.choice([None, 0.99]),
            "max_spot_share": rng.choice([0.0, 0.3, 0.5, 1.0]),
            "min_replicas": rng.randint(0, 3), "measured": measured,
            "slo": {"tpot_ms": 30},
        })
    document: dict = {"name": "random", "workloads": workloads}  # type: ignore[type-arg]
    if rng.random() < 0.4:
        document["quotas"] = [{"accelerator": rng.choice(["TA", "TB"]),
                               "max_accelerators": rng.randint(0, 6)}]
    if rng.random() < 0.3:
        document["budget_usd_per_month"] = round(rng.uniform(500, 8000), 0)
    if rng.random() < 0.3:
        document["allow"] = {"pricing": ["on_demand", "spot"]}
    return Problem.model_validate(document)


def brute_force(problem: Problem, catalog: Catalog, candidates: CandidateSet) -> float | None:
    """Least cost over every feasible plan, or None if none exists."""
    per_workload = []
    for workload in problem.workloads:
        options = candidates.for_workload(workload.name)
        frontier: list[tuple[float, tuple[float, ...]]] = []
        for variant in sorted({c.config.variant for c in options}):
            group = [c for c in options if c.config.variant == variant]
            limits = [instances_needed(workload.rate_rps, c.capacity_rps, workload.min_replicas,
                                       c.config.replicas_per_instance) for c in group]
            if math.prod(x + 1 for x in limits) > MAX_GRID:
                return math.nan  # too large to enumerate; the caller skips the case
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
            frontier += [(float(cost[i]), tuple(float(u) for u in usage[i]))
                         for i in np.flatnonzero(ok)]
        if not frontier:
            return None
        per_workload.append(_pareto(frontier))
    best = None
    for combination in itertools.product(*per_workload):
        total = sum(cost for cost, _ in combination)
        used = [sum(u[q] for _, u in combination) for q in range(len(problem.quotas))]
        if any(used[q] > quota.max_accelerators for q, quota in enumerate(problem.quotas)):
            continue
        if problem.budget_usd_per_month is not None and total > problem.budget_usd_per_month + 1e-6:
            continue
        best = total if best is None else min(best, total)
    return best


def _pareto(points: list[tuple[float, tuple[float, ...]]]) -> list[tuple[float, tuple[float, ...]]]:
    kept: list[tuple[float, tuple[float, ...]]] = []
    for cost, usage in sorted(set(points)):
        if not any(all(a <= b for a, b in zip(u, usage, strict=True)) for _, u in kept):
            kept.append((cost, usage))
    return kept


def test_mip_equals_brute_force_on_random_tiny_problems() -> None:
    rng = random.Random(20261126)
    compared = infeasible = 0
    options = SolveOptions(time_limit_s=30)
    while compared < CASES:
        catalog = random_catalog(rng)
        problem = random_problem(rng)
        candidates = build_candidates(problem, catalog)
        expected = brute_force(problem, catalog, candidates)
        if expected is not None and math.isnan(expected):
            continue
        plan = solve(problem, catalog, "highs", options)
        unpruned = solve(problem, catalog, "highs", options, prune=False)
        compared += 1
        if expected is None:
            infeasible += 1
            assert plan.status == "infeasible" and unpruned.status == "infeasible"
            continue
        assert plan.status == "optimal", (problem, plan.diagnosis)
        assert plan.objective_usd_per_month == pytest.approx(expected, rel=1e-6)
        assert unpruned.objective_usd_per_month == pytest.approx(expected, rel=1e-6)
        result = check_plan(problem, catalog, plan)
        assert result.valid, result.violations
    assert 0 < infeasible < CASES // 2


def test_cbc_equals_highs_on_random_tiny_problems() -> None:
    rng = random.Random(7)
    for _ in range(25):
        catalog = random_catalog(rng)
        problem = random_problem(rng)
        highs = solve(problem, catalog, "highs")
        cbc = solve(problem, catalog, "cbc")
        assert highs.status == cbc.status
        if highs.objective_usd_per_month is not None:
            assert cbc.objective_usd_per_month == pytest.approx(highs.objective_usd_per_month)
