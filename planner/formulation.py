"""The mixed-integer program, built as named variable and constraint groups.

Variables
  instances[c]        integer instances of candidate c (workload, offer, mode, variant, tp, batch)
  variant[w,v]        binary: workload w runs model variant v (only when w has a choice)
Constraint groups (see `GROUPS`)
  demand, one_variant, variant_link, spot_share, min_replicas, quota, budget
Objective: monthly cost of all instances.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from planner.candidates import Candidate, CandidateSet, instances_needed
from planner.catalog import Catalog, PricingMode
from planner.linear import LinearModel
from planner.problem import Problem, Quota, Workload

GROUPS = {
    "demand": "capacity of each workload's instances covers its request rate",
    "one_variant": "each workload runs exactly one model variant",
    "variant_link": "instances only of the workload's chosen variant",
    "spot_share": "spot capacity at most the workload's max_spot_share of its capacity",
    "min_replicas": "at least min_replicas replicas per workload",
    "quota": "accelerators used within each quota",
    "budget": "monthly cost within the budget",
}


@dataclass(frozen=True)
class Formulation:
    model: LinearModel
    instance_column: dict[int, int]
    """Candidate index -> column of its `instances` variable."""
    variant_column: dict[tuple[str, str], int]


def instances_alone(workload: Workload, candidate: Candidate) -> int:
    return instances_needed(workload.rate_rps, candidate.capacity_rps, workload.min_replicas,
                            candidate.config.replicas_per_instance)


def incumbent_cost(problem: Problem, catalog: Catalog, candidates: list[Candidate]
                   ) -> float | None:
    """Cost of a simple feasible plan (each workload alone on its cheapest non-spot
    candidate), or None when that plan breaks a quota or the budget or does not exist."""
    total = 0.0
    chosen: list[tuple[Candidate, int]] = []
    for workload in problem.workloads:
        options = [(instances_alone(workload, c) * c.cost_usd_per_month, c)
                   for c in candidates
                   if c.workload == workload.name and c.mode is not PricingMode.spot]
        if not options:
            return None
        cost, best = min(options, key=lambda item: (item[0], item[1].index))
        total += cost
        chosen.append((best, instances_alone(workload, best)))
    for quota in problem.quotas:
        used = sum(c.accelerators * n for c, n in chosen if quota_matches(quota, catalog, c))
        if used > quota.max_accelerators:
            return None
    if problem.budget_usd_per_month is not None and total > problem.budget_usd_per_month:
        return None
    return total


def instance_upper_bound(problem: Problem, catalog: Catalog, workload: Workload,
                         candidate: Candidate, cost_bound: float | None) -> int:
    """Instances of one candidate that an optimal plan can use.

    Valid bounds: no plan spends more than a known feasible plan (or the budget) on one
    candidate, and no quota can be exceeded. Without either, a generous multiple of demand.
    """
    bounds = []
    if cost_bound is not None:
        bounds.append(math.floor(cost_bound / candidate.cost_usd_per_month + 1e-9))
    for quota in problem.quotas:
        if quota_matches(quota, catalog, candidate):
            bounds.append(quota.max_accelerators // candidate.accelerators)
    if not bounds:
        bounds.append(4 * instances_alone(workload, candidate))
    return max(0, min(bounds))


def quota_matches(quota: Quota, catalog: Catalog, candidate: Candidate) -> bool:
    offer = candidate.config.offer
    return quota.covers(catalog, offer.accelerator, offer.provider, offer.region)


def formulate(problem: Problem, catalog: Catalog, candidates: CandidateSet,
              active: tuple[int, ...] | None = None) -> Formulation:
    """The MIP over the `active` candidates (default: all)."""
    chosen = set(active) if active is not None else None
    pool = [c for c in candidates.candidates if chosen is None or c.index in chosen]
    cost_bound = incumbent_cost(problem, catalog, pool)
    if cost_bound is None:
        cost_bound = problem.budget_usd_per_month
    model = LinearModel()
    for group, description in GROUPS.items():
        model.add_group(group, description)
    instance_column: dict[int, int] = {}
    variant_column: dict[tuple[str, str], int] = {}
    for workload in problem.workloads:
        options = [c for c in pool if c.workload == workload.name]
        for candidate in options:
            upper = instance_upper_bound(problem, catalog, workload, candidate, cost_bound)
            instance_column[candidate.index] = model.add_variable(
                f"instances[{workload.name},{candidate.index}]", 0, upper, True,
                candidate.cost_usd_per_month)
        variants = sorted({c.config.variant for c in options})
        capacity = {instance_column[c.index]: c.capacity_rps for c in options}
        model.add_row("demand", f"demand[{workload.name}]", capacity, lower=workload.rate_rps)
        if len(variants) > 1:
            for variant in variants:
                variant_column[(workload.name, variant)] = model.add_variable(
                    f"variant[{workload.name},{variant}]", 0, 1, True, 0.0)
            model.add_row("one_variant", f"one_variant[{workload.name}]",
                          {variant_column[(workload.name, v)]: 1.0 for v in variants}, 1.0, 1.0)
            for candidate in options:
                column = instance_column[candidate.index]
                choice = variant_column[(workload.name, candidate.config.variant)]
                model.add_row("variant_link", f"variant_link[{workload.name},{candidate.index}]",
                              {column: 1.0, choice: -model.upper[column]}, upper=0.0)
        if workload.max_spot_share < 1:
            share = workload.max_spot_share
            terms = {
                instance_column[c.index]: c.capacity_rps * ((1 - share) if c.mode is PricingMode.spot
                                                            else -share)
                for c in options
            }
            if any(c.mode is PricingMode.spot for c in options):
                model.add_row("spot_share", f"spot_share[{workload.name}]", terms, upper=0.0)
        if workload.min_replicas > 0:
            model.add_row("min_replicas", f"min_replicas[{workload.name}]",
                          {instance_column[c.index]: float(c.config.replicas_per_instance)
                           for c in options}, lower=float(workload.min_replicas))
    for number, quota in enumerate(problem.quotas):
        terms = {instance_column[c.index]: float(c.accelerators) for c in pool
                 if quota_matches(quota, catalog, c)}
        if terms:
            model.add_row("quota", f"quota[{number}]", terms, upper=float(quota.max_accelerators))
    if problem.budget_usd_per_month is not None:
        model.add_row("budget", "budget", {instance_column[c.index]: c.cost_usd_per_month
                                           for c in pool},
                      upper=problem.budget_usd_per_month)
    return Formulation(model, instance_column, variant_column)
