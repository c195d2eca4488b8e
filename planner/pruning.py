"""Exact dominance pruning of candidates before the MIP.

Candidate A dominates B (same workload, same variant) when swapping every busy instance of B
for one of A keeps every constraint satisfied and never costs more:
  * cost_A <= cost_B and replicas_A >= replicas_B (min_replicas still met);
  * for every quota, A uses no more of it than B;
  * capacity: if A is not spot, capacity_A >= capacity_B (spot share can only improve);
    if A is spot, B must be spot with capacity_A == capacity_B (more spot capacity could
    break the spot share), unless the workload allows 100 % spot.
Costs compare a full month of one busy instance. Committed pools are shared across workloads
and periods, so with more than one period (or an existing commitment on the pool) their
candidates are never pruned and never prune others: their cost depends on who else uses the
pool and when. Batch jobs buy instance-hours, so their candidates compare per request/s of
capacity (cost and quota use divided by capacity).
Ties are broken by candidate index, so of identical candidates exactly one survives.
Tests check that the optimum with and without pruning is the same.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from planner.candidates import Candidate, CandidateSet
from planner.catalog import Catalog, PricingMode
from planner.formulation import existing_commitments, pool_key, quota_matches
from planner.problem import BatchWorkload, Problem
from planner.schema import HOURS_PER_MONTH


def _quota_usage(problem: Problem, catalog: Catalog, candidate: Candidate) -> list[float]:
    return [float(candidate.accelerators) if quota_matches(q, catalog, candidate) else 0.0
            for q in problem.quotas]


def full_month_cost(candidate: Candidate) -> float:
    """One instance busy for a whole month: pool fee (committed) plus hourly usage."""
    fee = candidate.cost_usd_per_month if candidate.mode.committed else 0.0
    return fee + candidate.hourly_usage_cost * HOURS_PER_MONTH


def _dominated(cost: np.ndarray, capacity: np.ndarray, replicas: np.ndarray, spot: np.ndarray,
               usage: np.ndarray) -> np.ndarray:
    """dominated[b]: some other candidate dominates b."""
    index = np.arange(len(cost))
    cost_ok = cost[:, None] <= cost[None, :]
    replicas_ok = replicas[:, None] >= replicas[None, :]
    quota_ok = np.all(usage[:, None, :] <= usage[None, :, :], axis=2)
    capacity_ok = np.where(
        spot[:, None],
        spot[None, :] & np.isclose(capacity[:, None], capacity[None, :], rtol=1e-12),
        capacity[:, None] >= capacity[None, :],
    )
    strictly_better = (
        (cost[:, None] < cost[None, :]) | (replicas[:, None] > replicas[None, :])
        | (capacity[:, None] > capacity[None, :] * (1 + 1e-12))
        | np.any(usage[:, None, :] < usage[None, :, :], axis=2)
        | (~spot[:, None] & spot[None, :])
    )
    tie_break = index[:, None] < index[None, :]
    dominates = cost_ok & replicas_ok & quota_ok & capacity_ok & (strictly_better | tie_break)
    np.fill_diagonal(dominates, False)
    return np.asarray(dominates.any(axis=0))


def surviving(problem: Problem, catalog: Catalog, candidates: CandidateSet) -> tuple[int, ...]:
    """Indices of the candidates that no other candidate dominates."""
    existing = existing_commitments(problem)
    shared_pools = problem.periods > 1

    def exempt(candidate: Candidate) -> bool:
        return candidate.mode.committed and (
            shared_pools or pool_key(candidate.config.offer, candidate.mode) in existing)

    groups: dict[tuple[str, str], list[Candidate]] = defaultdict(list)
    keep: list[int] = []
    for candidate in candidates.candidates:
        if exempt(candidate):
            keep.append(candidate.index)
        else:
            groups[(candidate.workload, candidate.config.variant)].append(candidate)
    workloads = {w.name: w for w in problem.workloads}
    for (name, _), group in groups.items():
        workload = workloads[name]
        share = getattr(workload, "max_spot_share", 1.0)
        cost = np.array([full_month_cost(c) for c in group])
        capacity = np.array([c.capacity_rps for c in group])
        replicas = np.array([c.config.replicas_per_instance for c in group])
        spot = np.array([c.mode is PricingMode.spot for c in group]) & (share < 1)
        usage = np.array([_quota_usage(problem, catalog, c) for c in group]).reshape(len(group), -1)
        if isinstance(workload, BatchWorkload):  # instance-hours: compare per unit of capacity
            cost, usage = cost / capacity, usage / capacity[:, None]
            capacity, replicas = np.ones(len(group)), np.zeros(len(group))
        dominated = _dominated(cost, capacity, replicas, spot, usage)
        keep.extend(group[i].index for i in np.flatnonzero(~dominated))
    return tuple(sorted(keep))
