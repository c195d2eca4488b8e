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

from planner.candidates import Candidate, CandidateSet
from planner.catalog import Catalog, PricingMode
from planner.linear import LinearModel
from planner.problem import Problem, Quota

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


def instance_upper_bound(candidate: Candidate, rate_rps: float, min_replicas: int) -> int:
    """More instances of one candidate than this never help: twice the demand's worth (room
    for spot-share balancing) plus the replicas needed for availability."""
    for_demand = math.ceil(2 * rate_rps / candidate.capacity_rps)
    for_replicas = math.ceil(min_replicas / candidate.config.replicas_per_instance)
    return for_demand + for_replicas + 1


def quota_matches(quota: Quota, catalog: Catalog, candidate: Candidate) -> bool:
    offer = candidate.config.offer
    if quota.accelerator and catalog.resolve_accelerator(quota.accelerator) != offer.accelerator:
        return False
    if quota.provider and quota.provider != offer.provider:
        return False
    return not (quota.region and quota.region != offer.region)


def formulate(problem: Problem, catalog: Catalog, candidates: CandidateSet) -> Formulation:
    model = LinearModel()
    for group, description in GROUPS.items():
        model.add_group(group, description)
    instance_column: dict[int, int] = {}
    variant_column: dict[tuple[str, str], int] = {}
    for workload in problem.workloads:
        options = candidates.for_workload(workload.name)
        for candidate in options:
            upper = instance_upper_bound(candidate, workload.rate_rps, workload.min_replicas)
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
        terms = {instance_column[c.index]: float(c.accelerators) for c in candidates.candidates
                 if quota_matches(quota, catalog, c)}
        if terms:
            model.add_row("quota", f"quota[{number}]", terms, upper=float(quota.max_accelerators))
    if problem.budget_usd_per_month is not None:
        model.add_row("budget", "budget", {instance_column[c.index]: c.cost_usd_per_month
                                           for c in candidates.candidates},
                      upper=problem.budget_usd_per_month)
    return Formulation(model, instance_column, variant_column)
