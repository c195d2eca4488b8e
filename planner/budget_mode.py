"""budget_mode serve_most_value: when the limits cannot cover every online workload's demand,
serve the most valuable part of it.

The formulation (built with `shed=True`) has a served-rate column per online workload and
period in place of the fixed rate. This module solves it lexicographically, one MIP per stage:

1. for each priority, highest first: maximise the value served at that priority
   (`value_usd_per_1k_requests` per 1,000 requests, or each request alike when no workload
   gives a value), keeping what the higher priorities achieved (`value_floor` rows);
2. then minimise the cost, keeping every priority's value.

So a workload is shed only as far as the budget (or a quota) forces it, and the money goes to
the most valuable demand first. Batch and training workloads are always served in full.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from planner.backends import SolveOptions, SolverResult, Status
from planner.formulation import Formulation
from planner.linear import LinearModel, Row
from planner.problem import OnlineWorkload, Problem
from planner.schema import HOURS_PER_MONTH

SERVE_MOST_VALUE = "serve_most_value"
MEET_ALL = "meet_all"
SECONDS_PER_HOUR = 3600
FLOOR_TOLERANCE = 1e-6
"""Relative slack on a kept value, so that solver round-off cannot make a later stage
infeasible."""


def requests_per_month(rates_rps: tuple[float, ...] | list[float], periods: int) -> float:
    """Requests a month at these rates, each period standing for 730 / periods hours."""
    return sum(rates_rps) * SECONDS_PER_HOUR * HOURS_PER_MONTH / periods


def value_usd_per_month(workload: OnlineWorkload, admitted: tuple[float, ...], periods: int
                        ) -> float | None:
    """What the admitted requests are worth a month (None when the workload gives no value)."""
    if workload.value_usd_per_1k_requests is None:
        return None
    return requests_per_month(admitted, periods) / 1000 * workload.value_usd_per_1k_requests


def priority_levels(problem: Problem) -> list[list[OnlineWorkload]]:
    """Online workloads grouped by priority, highest first."""
    priorities = sorted({w.priority for w in problem.online()}, reverse=True)
    return [[w for w in problem.online() if w.priority == p] for p in priorities]


def stage_weights(formulation: Formulation, level: list[OnlineWorkload]) -> dict[int, float]:
    """Served-rate column -> what one request/s of it is worth a month (thousands of
    requests when no value is given)."""
    per_rps = SECONDS_PER_HOUR * formulation.hours_per_period / 1000
    weights = {}
    for workload in level:
        value = workload.value_usd_per_1k_requests
        for period in range(formulation.periods):
            column = formulation.served_column.get((workload.name, period))
            if column is not None:
                weights[column] = per_rps * (1.0 if value is None else value)
    return weights


def admitted_rates(problem: Problem, capacity: dict[str, list[float]], periods: int
                   ) -> dict[str, tuple[float, ...]]:
    """Online workload -> the rate served in each period: its demand, as far as the capacity
    of its instances in the plan reaches. The last stage keeps each priority's value only up
    to a tolerance, so its served-rate columns may sit a hair under what the instances serve;
    what the plan admits is what its instances serve."""
    return {w.name: tuple(min(rate, round(capacity.get(w.name, [0.0] * periods)[p], 9))
                          for p, rate in enumerate(w.rates(periods)))
            for w in problem.online()}


def _maximising(model: LinearModel, weights: dict[int, float]) -> LinearModel:
    cost = [0.0] * model.variable_count
    for column, weight in weights.items():
        cost[column] = -weight
    return dataclasses.replace(model, cost=cost, objective_offset=0.0)


def _with_floor(model: LinearModel, weights: dict[int, float], achieved: float, stage: int
                ) -> LinearModel:
    indices = sorted(weights)
    floor = achieved - FLOOR_TOLERANCE * max(1.0, abs(achieved))
    row = Row(f"value_floor[{stage}]", "value_floor", indices, [weights[i] for i in indices],
              floor, float("inf"))
    return dataclasses.replace(model, rows=[*model.rows, row])


def solve_most_value(problem: Problem, formulation: Formulation,
                     solve_model: Callable[[LinearModel, SolveOptions], SolverResult],
                     options: SolveOptions) -> tuple[SolverResult, Formulation]:
    """The lexicographic solve: the final stage's result, and the formulation whose model is
    that stage's (the cost, with every priority's value kept by `value_floor` rows appended
    after the others). The time limit is shared evenly by the stages; a stage stopped by it
    makes the result `feasible`."""
    levels = [level for level in priority_levels(problem)
              if stage_weights(formulation, level)]
    stage_options = dataclasses.replace(options,
                                        time_limit_s=options.time_limit_s / (len(levels) + 1))
    model = formulation.model
    proven = True
    for stage, level in enumerate(levels):
        weights = stage_weights(formulation, level)
        result = solve_model(_maximising(model, weights), stage_options)
        if result.status not in (Status.optimal, Status.feasible):
            return result, formulation
        proven = proven and result.status is Status.optimal
        achieved = sum(weight * result.values[column] for column, weight in weights.items())
        model = _with_floor(model, weights, achieved, stage)
    final = solve_model(model, stage_options)
    if final.status is Status.optimal and not proven:
        final = dataclasses.replace(final, status=Status.feasible)
    return final, dataclasses.replace(formulation, model=model)
