"""What one configuration would cost if it served a workload alone: the yardstick that
explanations, baselines and the simple incumbent compare against."""

from __future__ import annotations

import math

from planner.candidates import Candidate, instances_needed
from planner.problem import BatchWorkload, OnlineWorkload, Problem
from planner.schema import HOURS_PER_MONTH


def busy_by_period(problem: Problem, workload: OnlineWorkload | BatchWorkload,
                   capacity_rps: float, replicas_per_instance: int) -> list[float]:
    """Instances (online) or instance-hours per hour (batch) one configuration needs alone."""
    periods = problem.periods
    if isinstance(workload, BatchWorkload):
        hours = workload.window.hours()
        per_day = workload.requests_per_day / (capacity_rps * 3600)
        return [per_day / len(hours) if p % 24 in hours else 0.0 for p in range(periods)]
    return [float(instances_needed(rate, capacity_rps, workload.min_replicas,
                                   replicas_per_instance))
            if rate > 0 or workload.min_replicas else 0.0
            for rate in workload.rates(periods)]


def standalone_cost(problem: Problem, workload: OnlineWorkload | BatchWorkload,
                    candidate: Candidate) -> float:
    """Monthly cost of serving the whole workload with this one candidate, any committed
    pool it needs bought new for it alone."""
    busy = busy_by_period(problem, workload, candidate.capacity_rps,
                          candidate.config.replicas_per_instance)
    hours = HOURS_PER_MONTH / problem.periods
    cost = sum(busy) * hours * candidate.hourly_usage_cost
    if candidate.mode.committed:
        cost += math.ceil(max(busy) - 1e-9) * candidate.cost_usd_per_month
    return cost


def peak_instances(problem: Problem, workload: OnlineWorkload | BatchWorkload,
                   candidate: Candidate) -> int:
    busy = busy_by_period(problem, workload, candidate.capacity_rps,
                          candidate.config.replicas_per_instance)
    return math.ceil(max(busy) - 1e-9)
