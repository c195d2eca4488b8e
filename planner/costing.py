"""What one configuration would cost if it served a workload alone: the yardstick that
explanations, baselines and the simple incumbent compare against."""

from __future__ import annotations

import math
from collections import Counter
from typing import TYPE_CHECKING

import numpy as np

from planner.candidates import Candidate, instances_needed
from planner.problem import BatchWorkload, OnlineWorkload, Problem
from planner.schema import HOURS_PER_MONTH

if TYPE_CHECKING:
    from planner.enumeration import CandidateArrays


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


def busy_summary(problem: Problem, workload: OnlineWorkload | BatchWorkload,
                 capacity_rps: np.ndarray, replicas_per_instance: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray]:
    """`busy_by_period` of many configurations at once, as (sum over the periods, peak): the
    peak exactly (the same operations), the sum exactly for online workloads (whole instances)
    and up to rounding for batch ones (Python adds up the hours of the window one by one)."""
    periods = problem.periods
    if isinstance(workload, BatchWorkload):
        hours = workload.window.hours()
        per_hour = workload.requests_per_day / (capacity_rps * 3600) / len(hours)
        active = sum(1 for p in range(periods) if p % 24 in hours)
        return active * per_hour, per_hour if active else np.zeros(len(capacity_rps))
    total, peak = np.zeros(len(capacity_rps)), np.zeros(len(capacity_rps))
    least = np.ceil(workload.min_replicas / replicas_per_instance)
    for rate, times in Counter(workload.rates(periods)).items():
        if rate > 0 or workload.min_replicas:
            needed = np.maximum(np.maximum(np.ceil(rate / capacity_rps - 1e-9), least), 1.0)
            total += times * needed
            peak = np.maximum(peak, needed)
    return total, peak


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


def standalone_costs(problem: Problem, workload: OnlineWorkload | BatchWorkload,
                     candidates: CandidateArrays, committed: np.ndarray) -> np.ndarray:
    """`standalone_cost` of many candidates at once (`committed`: per candidate, whether its
    pricing mode is), as exactly as `busy_summary` sums."""
    total, peak = busy_summary(problem, workload, candidates.capacity_rps,
                               candidates.replicas_per_instance)
    cost = total * (HOURS_PER_MONTH / problem.periods) * candidates.hourly_usage_cost
    return np.where(committed, cost + np.ceil(peak - 1e-9) * candidates.cost_usd_per_month, cost)


def peak_instances(problem: Problem, workload: OnlineWorkload | BatchWorkload,
                   candidate: Candidate) -> int:
    busy = busy_by_period(problem, workload, candidate.capacity_rps,
                          candidate.config.replicas_per_instance)
    return math.ceil(max(busy) - 1e-9)
