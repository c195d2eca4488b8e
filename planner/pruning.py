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

Before that, whole resources (an offer in one pricing mode) are compared: R1 dominates R2 when
every instance of R2 can be swapped for one of R1 at no more cost in every hour: for every
workload and variant that R2 can serve, R1 serves it with at least the capacity and replicas
(equal capacity if R1 is spot and the workload's spot share is capped), and
  * both committed pools: fee_1 <= fee_2 and busy-hour cost_1 <= cost_2;
  * R1 hourly (on demand, spot), R2 a pool: 730 x hourly_1 <= fee_2 + 730 x busy-hour cost_2
    (an hourly instance costs nothing when idle, so it replaces a pool instance hour by hour);
  * R1 hourly, R2 hourly: hourly_1 <= hourly_2;
  * R1 uses no more of any quota; if R1 is spot, R2 is spot with at least R1's interruption
    rate; R2 holds no existing commitment.
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


def _dominated_resources(problem: Problem, catalog: Catalog, candidates: CandidateSet
                         ) -> set[tuple[str, PricingMode]]:
    """(offer key, mode) pairs whose every instance another resource can replace."""
    existing = existing_commitments(problem)
    shares = {w.name: getattr(w, "max_spot_share", 1.0) for w in problem.workloads}
    slots: dict[tuple[str, str], int] = {}
    by_resource: dict[tuple[str, PricingMode], list[Candidate]] = defaultdict(list)
    for candidate in candidates.candidates:
        by_resource[pool_key(candidate.config.offer, candidate.mode)].append(candidate)
        slots.setdefault((candidate.workload, candidate.config.variant), len(slots))
    keys = list(by_resource)
    if len(keys) < 2:
        return set()
    capacity = np.full((len(keys), len(slots)), -1.0)
    replicas = np.zeros((len(keys), len(slots)))
    for row, key in enumerate(keys):
        for c in by_resource[key]:
            slot = slots[(c.workload, c.config.variant)]
            capacity[row, slot] = c.capacity_rps
            replicas[row, slot] = c.config.replicas_per_instance
    limited = np.array([shares[w] < 1 for w, _ in slots])
    first = [by_resource[key][0] for key in keys]
    fee = np.array([c.cost_usd_per_month if c.mode.committed else 0.0 for c in first])
    hourly = np.array([c.hourly_usage_cost for c in first])
    committed = np.array([c.mode.committed for c in first])
    spot = np.array([c.mode is PricingMode.spot for c in first])
    usage = np.array([_quota_usage(problem, catalog, c) for c in first]).reshape(len(keys), -1)
    protected = np.array([key in existing for key in keys])
    month = HOURS_PER_MONTH
    # dominates[a, b]: every instance of resource b can be swapped for one of a
    serves = capacity >= 0
    covers = np.all(~serves[None, :, :] | (serves[:, None, :]
                                           & (capacity[:, None, :] >= capacity[None, :, :])
                                           & (replicas[:, None, :] >= replicas[None, :, :])), axis=2)
    same_spot = np.all(~serves[None, :, :] | ~limited[None, None, :]
                       | np.isclose(capacity[:, None, :], capacity[None, :, :], rtol=1e-12), axis=2)
    spot_ok = ~spot[:, None] | (spot[None, :] & same_spot)
    cheaper = np.where(
        committed[:, None],
        committed[None, :] & (fee[:, None] <= fee[None, :]) & (hourly[:, None] <= hourly[None, :]),
        np.where(committed[None, :], month * hourly[:, None] <= fee[None, :] + month * hourly[None, :],
                 hourly[:, None] <= hourly[None, :]))
    quota_ok = np.all(usage[:, None, :] <= usage[None, :, :], axis=2)
    better = (fee[:, None] < fee[None, :]) | (hourly[:, None] < hourly[None, :]) \
        | np.any(usage[:, None, :] < usage[None, :, :], axis=2) | (~spot[:, None] & spot[None, :]) \
        | (committed[None, :] & ~committed[:, None]) \
        | np.any(serves[None, :, :] & (capacity[:, None, :] > capacity[None, :, :] * (1 + 1e-12)), axis=2)
    order = np.arange(len(keys))
    dominates = covers & spot_ok & cheaper & quota_ok & ~protected[None, :] & (
        better | (order[:, None] < order[None, :]))
    np.fill_diagonal(dominates, False)
    return {keys[i] for i in np.flatnonzero(dominates.any(axis=0))}


def surviving(problem: Problem, catalog: Catalog, candidates: CandidateSet) -> tuple[int, ...]:
    """Indices of the candidates that no other candidate dominates."""
    gone = _dominated_resources(problem, catalog, candidates)
    candidates = CandidateSet(tuple(c for c in candidates.candidates
                                    if pool_key(c.config.offer, c.mode) not in gone), ())
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
