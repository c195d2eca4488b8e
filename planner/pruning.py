"""Exact dominance pruning of candidates before the MIP.

Candidate A dominates B (same workload, same variant) when swapping every instance of B for
one of A keeps every constraint satisfied and never costs more:
  * cost_A <= cost_B and replicas_A >= replicas_B (min_replicas still met);
  * for every quota, A uses no more of it than B;
  * capacity: if A is not spot, capacity_A >= capacity_B (spot share can only improve);
    if A is spot, B must be spot with capacity_A == capacity_B (more spot capacity could
    break the spot share), unless the workload allows 100 % spot.
Ties are broken by candidate index, so of identical candidates exactly one survives.
Tests check that the optimum with and without pruning is the same.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from planner.candidates import Candidate, CandidateSet
from planner.catalog import Catalog, PricingMode
from planner.formulation import quota_matches
from planner.problem import Problem


def _quota_usage(problem: Problem, catalog: Catalog, candidate: Candidate) -> list[float]:
    return [float(candidate.accelerators) if quota_matches(q, catalog, candidate) else 0.0
            for q in problem.quotas]


def surviving(problem: Problem, catalog: Catalog, candidates: CandidateSet) -> tuple[int, ...]:
    """Indices of the candidates that no other candidate dominates."""
    groups: dict[tuple[str, str], list[Candidate]] = defaultdict(list)
    for candidate in candidates.candidates:
        groups[(candidate.workload, candidate.config.variant)].append(candidate)
    shares = {w.name: w.max_spot_share for w in problem.workloads}
    keep: list[int] = []
    for (workload, _), group in groups.items():
        cost = np.array([c.cost_usd_per_month for c in group])
        capacity = np.array([c.capacity_rps for c in group])
        replicas = np.array([c.config.replicas_per_instance for c in group])
        spot = np.array([c.mode is PricingMode.spot for c in group]) & (shares[workload] < 1)
        usage = np.array([_quota_usage(problem, catalog, c) for c in group]).reshape(len(group), -1)
        index = np.arange(len(group))
        # dominates[a, b]: a dominates b
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
        dominated = dominates.any(axis=0)
        keep.extend(group[i].index for i in np.flatnonzero(~dominated))
    return tuple(sorted(keep))
