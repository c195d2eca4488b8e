"""The naive formulation the planner's MIP is benchmarked against.

What one writes first: every candidate configuration (no dominance pruning) gets an integer
instance count per period and a binary "configuration used" switched on by a big-M row; a
workload may use at most two configurations, of one model variant; committed (reserved)
instances are bought per configuration at its busiest period (no pool shared between
workloads); quotas, spot shares, min replicas and the budget as in the planner.

`naive_model(problem, catalog, candidates)` returns it as a `planner.linear.LinearModel`, so
every backend can solve it. It is a restriction of the planner's problem (two configurations
per workload, no shared pools), so its optimum is never below the planner's.
"""

from __future__ import annotations

import math
from collections import defaultdict

from planner.candidates import Candidate, CandidateSet, instances_needed
from planner.catalog import Catalog, PricingMode
from planner.linear import LinearModel
from planner.problem import OnlineWorkload, Problem
from planner.schema import HOURS_PER_MONTH

MAX_CONFIGURATIONS = 2

GROUPS = {
    "demand": "capacity covers the request rate in every period",
    "used": "instances only of a configuration switched on (big M)",
    "configurations": "at most two configurations per workload",
    "variant": "one model variant per workload; configurations of it only",
    "committed": "committed instances bought at the configuration's busiest period",
    "spot_share": "spot capacity within the workload's share",
    "min_replicas": "replicas held in every period",
    "quota": "accelerators within each quota in every period",
    "budget": "monthly cost within the budget",
}


def naive_model(problem: Problem, catalog: Catalog, candidates: CandidateSet) -> LinearModel:
    """The naive MIP over every candidate (online workloads only)."""
    model = LinearModel()
    for group, description in GROUPS.items():
        model.add_group(group, description)
    periods = problem.periods
    hours = HOURS_PER_MONTH / periods
    online = [w for w in problem.workloads if isinstance(w, OnlineWorkload)]
    by_workload: dict[str, list[Candidate]] = defaultdict(list)
    for candidate in candidates.candidates:
        by_workload[candidate.workload].append(candidate)
    budget: dict[int, float] = {}
    quota_terms: dict[tuple[int, int], dict[int, float]] = defaultdict(dict)
    for workload in online:
        rates = workload.rates(periods)
        options = by_workload[workload.name]
        variants = sorted({c.config.variant for c in options})
        choice = {v: model.add_variable(f"variant[{workload.name},{v}]", 0, 1, True, 0.0)
                  for v in variants}
        model.add_row("variant", f"one_variant[{workload.name}]",
                      {column: 1.0 for column in choice.values()}, 1.0, 1.0)
        used_columns = {}
        counts: dict[int, list[int]] = {}
        for c in options:
            big_m = max(instances_needed(max(rates), c.capacity_rps, workload.min_replicas,
                                         c.config.replicas_per_instance), 1)
            used = model.add_variable(f"used[{c.index}]", 0, 1, True, 0.0)
            used_columns[c.index] = used
            model.add_row("variant", f"variant_of[{c.index}]",
                          {used: 1.0, choice[c.config.variant]: -1.0}, upper=0.0)
            hourly_cost = hours * c.hourly_usage_cost
            counts[c.index] = []
            for period in range(periods):
                column = model.add_variable(f"n[{c.index},{period}]", 0, big_m, True,
                                            0.0 if c.mode.committed else hourly_cost)
                if not c.mode.committed:
                    budget[column] = hourly_cost
                counts[c.index].append(column)
                model.add_row("used", f"used[{c.index},{period}]", {column: 1.0, used: -big_m},
                              upper=0.0)
            if c.mode.committed:  # bought at the busiest period, busy hours' energy on top
                bought = model.add_variable(f"bought[{c.index}]", 0, big_m, True,
                                            c.cost_usd_per_month)
                budget[bought] = c.cost_usd_per_month
                for column in counts[c.index]:
                    model.cost[column] = hourly_cost
                    budget[column] = hourly_cost
                    model.add_row("committed", f"bought[{c.index},{column}]",
                                  {column: 1.0, bought: -1.0}, upper=0.0)
            for number, quota in enumerate(problem.quotas):
                offer = c.config.offer
                if quota.covers(catalog, offer.accelerator, offer.provider, offer.region):
                    for period, column in enumerate(counts[c.index]):
                        quota_terms[(number, period)][column] = float(offer.count)
        model.add_row("configurations", f"configurations[{workload.name}]",
                      {column: 1.0 for column in used_columns.values()},
                      upper=float(MAX_CONFIGURATIONS))
        for period, rate in enumerate(rates):
            if rate > 0:
                model.add_row("demand", f"demand[{workload.name},{period}]",
                              {counts[c.index][period]: min(c.capacity_rps, rate) for c in options},
                              lower=rate)
            if workload.max_spot_share < 1:
                share = workload.max_spot_share
                model.add_row("spot_share", f"spot[{workload.name},{period}]", {
                    counts[c.index][period]: c.capacity_rps * (
                        (1 - share) if c.mode is PricingMode.spot else -share)
                    for c in options}, upper=0.0)
            if workload.min_replicas:
                model.add_row("min_replicas", f"replicas[{workload.name},{period}]",
                              {counts[c.index][period]: float(c.config.replicas_per_instance)
                               for c in options}, lower=float(workload.min_replicas))
    for (number, period), terms in sorted(quota_terms.items()):
        model.add_row("quota", f"quota[{number},{period}]", terms,
                      upper=float(problem.quotas[number].max_accelerators))
    if problem.budget_usd_per_month is not None and budget:
        model.add_row("budget", "budget", budget, upper=problem.budget_usd_per_month)
    if not math.isfinite(model.objective_offset):
        raise ValueError("objective offset must be finite")
    return model
