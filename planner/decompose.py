"""Decomposition for large fleets: a proven bound and a plan without one huge branch and bound.

The MIP of many online workloads is block-diagonal (each workload's demand, replica, spot-share
and variant rows touch only its own instances) plus a few coupling rows: quotas per period,
committed pools per period, the budget, and variant preparation shared by workloads of one
model. One MIP over all of it makes HiGHS close thousands of small integrality gaps in a single
search tree; a 100-workload fleet was still 0.6 % from proven after a minute. Here:

1. **Column generation (Dantzig-Wolfe)** over whole-workload *patterns* (instance counts of one
   variant's candidates in every period): a master LP picks a convex combination of patterns
   per workload under the coupling rows; its duals price the instances, and the cheapest
   pattern of every workload is found exactly by `planner.patterns` (one small covering
   problem per workload, period and variant, all at once). Each round gives a Lagrangian lower
   bound L = sum of every workload's cheapest priced pattern + the duals times the limits;
   rounds stop when no pattern prices out (L equals the master LP). A variant is searched
   only up to its workload's convexity dual (the LP's own pattern prices there, so nothing
   dearer can price out or lower L): most variants of a workload are only bounded, cheaply.
2. **Upper bound**: the master as a MIP over the patterns generated (binary choice per
   workload, integer pools), which repairs the few workloads the LP splits. Once the LP is
   near the requested gap of L, a repair of its split workloads is tried after each round;
   a plan within the gap ends the rounds there.
3. **Proof**: any plan cheaper than the upper bound U uses, for every workload, a pattern whose
   priced cost exceeds that workload's cheapest by at most U - L (all the slacks add up to at
   most U - L). With flat demand those patterns are enumerated exactly (`patterns.search`,
   mode "all") and the master MIP over them is solved to optimality: its optimum is the
   problem's.

With more than one period (hourly or weekly demand), whole-workload patterns tail off (a
pattern fixes all 24 hours at once); `planner.hourly` decomposes those problems instead, over
per-period covers, with the same pricing, structure and bound.

`solve()` uses it only from `LARGE_FLEET` online workloads on, or with periods once the whole
MIP would be large (`HOURLY_COLUMNS`; see `reduce_fleet`); the answer is
turned back into the MIP's own columns by fixing the chosen instance counts in the formulation
of the candidates the plan uses, so extraction, explanation and verification are unchanged.
Batch and training workloads, and the serve-most-value budget mode, use the full MIP.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from itertools import chain
from typing import Any, TypeVar

import numpy as np

from planner.backends.base import SolveOptions, SolverResult, Status
from planner.backends.highs import silent_highs
from planner.candidates import CandidateSet
from planner.catalog import Catalog, Offer, PricingMode
from planner.formulation import (
    IDLE_TIE_BREAK,
    Formulation,
    existing_commitments,
    pool_key,
    preparation_usd_per_month,
)
from planner.linear import LinearModel
from planner.patterns import (
    FEASIBILITY,
    SMALL_MIP_GAP,
    Dominance,
    Patterns,
    Subproblems,
    concatenate,
    past,
    priced_costs,
    ranges,
    restrict,
    search,
    select,
    single_item_patterns,
)
from planner.problem import OnlineWorkload, Problem
from planner.progress import tell
from planner.schema import HOURS_PER_MONTH

LARGE_FLEET = 50
"""Online workloads from which `solve()` decomposes (smaller fleets solve fast as one MIP)."""
HOURLY_COLUMNS = 10_000
"""With more than one period, `solve()` decomposes smaller fleets too once the whole MIP would
have this many instance columns (active candidates x periods). Generated 24-hour fleets
(benchmarks/generate.py, HiGHS, 60 s, 2 cores under load): 2 workloads (7,400 columns) the MIP
proves in 7 s, the decomposition in 14 s; 3 workloads (11,000) the MIP in 39 s, the
decomposition in 13 s; 10 workloads the MIP ends 3.6 % from its bound, the decomposition
0.9 % with a plan 1.9 % cheaper; 20 workloads the MIP finds no plan, the decomposition one
1.0 % from its bound."""
MAX_ROUNDS = 200
"""Column-generation rounds at most."""
CLOSE_ENOUGH = 0.25
"""Column generation stops once the bound is this share of the requested gap below the LP."""
SMOOTHING = 0.0
"""Weight of the best bound's duals in the duals priced at (0: plain column generation)."""
PRIMAL_SIMPLEX = 4
"""HiGHS `simplex_strategy` value for the primal simplex."""
STALL = 0.05
"""Heuristic pricing gives way to exact pricing once a round lowers the LP by less than this
share of the requested gap."""
REPAIR_EXTRA = 0
"""Workloads the repair plans afresh besides those the master LP splits."""
FIRST_SLACK = 0.002
"""The first proof attempt adds patterns within this share of the plan's cost of the bound."""
MAX_COMBINATIONS = 200_000
"""Patterns per workload within the proof's slack, across periods, before giving up the proof."""
TRY_SHARE = 0.75
"""Column generation repairs the master LP's solution into a plan once the LP is within this
share of the requested gap of the bound, and stops if that plan is within the gap."""
CEILING_MARGIN = 1e-7
"""Share of a workload's convexity dual above it that pricing may stop at (see `price`): the
LP's own pattern prices at the dual, so this only absorbs rounding."""
PENALTY = 100.0
"""Cost per unit of violation of a coupling row in the master LP (per dollar of budget, per
accelerator or pool instance times the dearest instance-month, per preparation times the
dearest one): keeps the master feasible from the first round; no plan uses it."""


@dataclass
class Fleet:
    """The online workloads and their active candidates, as arrays (the decomposition's input).

    Candidate k (in active order) belongs to workload `workload[k]`, has `index[k]` in the
    candidate set, runs variant `variant[k]` (numbered over the fleet) on `offers[offer[k]]`
    in `modes[k]`."""

    problem: Problem
    workloads: list[OnlineWorkload]
    index: np.ndarray
    workload: np.ndarray
    variant: np.ndarray
    variant_names: list[str]
    offers: list[Offer]
    offer: np.ndarray
    modes: list[PricingMode]
    mode: np.ndarray
    """Per candidate: position in `modes`."""
    committed: np.ndarray
    spot: np.ndarray
    capacity: np.ndarray
    replicas: np.ndarray
    fee: np.ndarray
    """Monthly price of one instance (the pool fee when committed)."""
    hourly: np.ndarray
    """Cost of one busy instance-hour (usage and carbon)."""
    periods: int
    """Periods planned: the problem's, hours of equal demand as one (see `period_classes`)."""
    rates: np.ndarray
    """[workload, period]: demand (requests/s)."""
    weight: np.ndarray
    """Per period: how many of the problem's periods it stands for."""
    members: tuple[tuple[int, ...], ...]
    """Per period: the problem's periods it stands for."""

    @property
    def hours(self) -> float:
        """Hours of one of the problem's periods in a month."""
        return HOURS_PER_MONTH / int(self.weight.sum())


def period_classes(rates: np.ndarray) -> tuple[np.ndarray, tuple[tuple[int, ...], ...]]:
    """The problem's periods ([workload, period] demand) grouped where every workload's demand
    is equal: (the first period of each group, each group's periods). Such periods have the
    same subproblems, rows and limits; given the pool sizes and variants no other period
    depends on them, so one plan serves them all, which the decomposition plans once at
    their summed cost (168 hours of a generated weekly fleet are 38 groups, a 24-hour day's
    are 19)."""
    groups: dict[bytes, list[int]] = {}
    for period in range(rates.shape[1]):
        groups.setdefault(np.ascontiguousarray(rates[:, period]).tobytes(), []).append(period)
    members = tuple(tuple(group) for group in groups.values())
    return np.array([group[0] for group in members], dtype=np.int64), members


def fleet_of(problem: Problem, catalog: Catalog, candidates: CandidateSet,
             active: tuple[int, ...] | None) -> Fleet:
    """The active candidates as arrays: from the candidate table when there is one."""
    online = [w for w in problem.workloads if isinstance(w, OnlineWorkload)]
    table = candidates.table
    offers: list[Offer] = []
    offer_number: dict[str, int] = {}
    variant_number: dict[str, int] = {}
    columns: dict[str, list[Any]] = defaultdict(list)
    if table is not None:
        context = table.context
        chosen = np.arange(int(table.candidate_count.sum())) if active is None \
            else np.asarray(active, dtype=np.int64)
        counts = np.array([o.count for o in context.offers], dtype=np.int64)
        for o in context.offers:
            offer_number[o.key] = len(offers)
            offers.append(o)
        for v in context.variants:
            variant_number[v.name] = len(variant_number)
        workload_number = {w.name: i for i, w in enumerate(online)}
        bounds = np.searchsorted(chosen, np.append(table.candidate_start,
                                                   int(table.candidate_count.sum())))
        for position, workload in enumerate(table.workloads):
            if not isinstance(workload, OnlineWorkload):
                continue
            local = chosen[bounds[position]:bounds[position + 1]] - int(table.candidate_start[position])
            profile = table.profiles[int(table.profile_of[position])]
            pair = profile.pair[local]
            offer_at = pair // len(context.variants)
            columns["index"].append(local + int(table.candidate_start[position]))
            columns["workload"].append(np.full(len(local), workload_number[workload.name]))
            columns["variant"].append(pair % len(context.variants))
            columns["offer"].append(offer_at)
            columns["mode"].append(profile.mode[local])
            columns["capacity"].append(profile.capacity_rps[local])
            columns["replicas"].append(counts[offer_at] // profile.shape.grid.tensor_parallel[
                profile.row[local]])
            columns["fee"].append(profile.cost_usd_per_month[local])
            columns["hourly"].append(profile.usage_usd_per_hour[local]
                                     + profile.carbon_usd_per_hour[local])
        modes = list(context.modes)
        arrays = {name: np.concatenate(parts) if parts else np.zeros(0)
                  for name, parts in columns.items()}
        mode_of = np.asarray(arrays.get("mode", np.zeros(0)), dtype=np.int64)
    else:
        modes = list(PricingMode)
        workload_number = {w.name: i for i, w in enumerate(online)}
        subset = candidates.only(active)
        mode_list = []
        for c in subset.candidates:
            if c.workload not in workload_number:
                continue
            offer = c.config.offer
            if offer.key not in offer_number:
                offer_number[offer.key] = len(offers)
                offers.append(offer)
            columns["index"].append(c.index)
            columns["workload"].append(workload_number[c.workload])
            columns["variant"].append(variant_number.setdefault(c.config.variant,
                                                                len(variant_number)))
            columns["offer"].append(offer_number[offer.key])
            mode_list.append(modes.index(c.mode))
            columns["capacity"].append(c.capacity_rps)
            columns["replicas"].append(c.config.replicas_per_instance)
            columns["fee"].append(c.cost_usd_per_month)
            columns["hourly"].append(c.hourly_usage_cost)
        arrays = {name: np.asarray(values) for name, values in columns.items()}
        mode_of = np.asarray(mode_list, dtype=np.int64)
    empty_int = np.zeros(0, dtype=np.int64)
    rates = np.array([w.rates(problem.periods) for w in online], dtype=float).reshape(
        len(online), problem.periods)
    first, members = period_classes(rates)
    return Fleet(
        problem=problem, workloads=online,
        index=np.asarray(arrays.get("index", empty_int), dtype=np.int64),
        workload=np.asarray(arrays.get("workload", empty_int), dtype=np.int64),
        variant=np.asarray(arrays.get("variant", empty_int), dtype=np.int64),
        variant_names=list(variant_number),
        offers=offers, offer=np.asarray(arrays.get("offer", empty_int), dtype=np.int64),
        modes=modes, mode=mode_of,
        committed=np.array([m.committed for m in modes], dtype=bool)[mode_of],
        spot=np.array([m is PricingMode.spot for m in modes], dtype=bool)[mode_of],
        capacity=np.asarray(arrays.get("capacity", np.zeros(0)), dtype=float),
        replicas=np.asarray(arrays.get("replicas", empty_int), dtype=np.int64),
        fee=np.asarray(arrays.get("fee", np.zeros(0)), dtype=float),
        hourly=np.asarray(arrays.get("hourly", np.zeros(0)), dtype=float),
        periods=len(members), rates=rates[:, first],
        weight=np.array([len(group) for group in members], dtype=np.int64), members=members,
    )


@dataclass
class Rows:
    """The coupling rows of the master (all `<=`), numbered."""

    upper: list[float] = field(default_factory=list)
    names: list[str] = field(default_factory=list)

    def add(self, name: str, upper: float) -> int:
        self.names.append(name)
        self.upper.append(upper)
        return len(self.upper) - 1


@dataclass
class Structure:
    """What the coupling rows and master-only columns are, and each instance's share in them."""

    fleet: Fleet
    rows: Rows
    quota_rows: np.ndarray
    """[quota, period] -> row."""
    quota_usage: np.ndarray
    """[offer, quota]: accelerators one instance counts (0 where the quota does not cover)."""
    quota_cap: np.ndarray
    """Per offer: instances the tightest covering quota allows (inf without one)."""
    pool_of: np.ndarray
    """Per candidate: its pool (committed), else -1."""
    pool_rows: np.ndarray
    """[pool, period] -> row (-1 when no candidate of the pool is active)."""
    pool_offer: list[Offer]
    pool_mode: list[PricingMode]
    pool_fee: np.ndarray
    pool_upper: np.ndarray
    pool_quota: np.ndarray
    """[pool, quota]: accelerators one pool instance counts."""
    budget_row: int
    prepare_keys: list[tuple[str, str]]
    """(model, variant) per prepare column."""
    prepare_cost: np.ndarray
    prepare_forced: np.ndarray
    """The column must be 1 (a workload has only that variant, which needs preparing)."""
    prepare_rows: dict[tuple[int, int], tuple[int, int]]
    """(workload, variant) -> (row, prepare column) linking its patterns to the preparation."""
    upper: np.ndarray
    """[candidate, period]: the MIP's upper bound on its `use` column (0: no column)."""
    solver_cost: np.ndarray
    """Per candidate: objective coefficient of one busy instance-period."""
    true_cost: np.ndarray
    """Per candidate: budget coefficient of one busy instance-period."""
    _links: list[list[int]] | None = None

    def prepare_links(self) -> list[list[int]]:
        """Per prepare column: its link rows."""
        if self._links is None:
            self._links = [[] for _ in self.prepare_keys]
            for row, column in self.prepare_rows.values():
                self._links[column].append(row)
        return self._links


def structure_of(problem: Problem, catalog: Catalog, fleet: Fleet) -> Structure:
    """Coupling rows and bounds exactly as `planner.formulation` writes them."""
    rows = Rows()
    periods = fleet.periods
    quotas = problem.quotas
    existing = existing_commitments(problem)
    quota_usage = np.array([[float(o.count) if q.covers(catalog, o.accelerator, o.provider, o.region)
                             else 0.0 for q in quotas] for o in fleet.offers],
                           dtype=float).reshape(len(fleet.offers), len(quotas))
    quota_cap = np.array([min([q.max_accelerators // o.count for q in quotas
                               if q.covers(catalog, o.accelerator, o.provider, o.region)],
                              default=math.inf) for o in fleet.offers], dtype=float)
    offers_by_key = {o.key: o for o in catalog.offers}
    quota_rows = np.full((len(quotas), periods), -1, dtype=np.int64)
    for number, quota in enumerate(quotas):
        held = sum(count * offers_by_key[key[0]].count for key, count in existing.items()
                   if key[0] in offers_by_key
                   and quota.covers(catalog, offers_by_key[key[0]].accelerator,
                                    offers_by_key[key[0]].provider, offers_by_key[key[0]].region))
        for period in range(periods):
            quota_rows[number, period] = rows.add(f"quota[{number},{period}]",
                                                  float(quota.max_accelerators - held))
    # use upper bounds, per candidate and period (formulation.use_upper, capped by quotas)
    rates = fleet.rates
    replicas_needed = np.array([w.min_replicas for w in fleet.workloads], dtype=float)
    rate = rates[fleet.workload]  # [candidate, period]
    needed = np.maximum.reduce([
        np.ceil(rate / fleet.capacity[:, None] - 1e-9),
        np.ceil(replicas_needed[fleet.workload] / fleet.replicas)[:, None] * np.ones((1, periods)),
        np.ones((len(fleet.index), periods))])
    nothing = (rate <= 0) & (replicas_needed[fleet.workload] == 0)[:, None]
    cap = quota_cap[fleet.offer][:, None]
    upper = np.where(nothing | (cap == 0), 0.0, np.minimum(needed, cap))
    # pools: committed (offer, mode) pairs, numbered in the formulation's order
    pool_number: dict[tuple[str, PricingMode], int] = {}
    pool_of = np.full(len(fleet.index), -1, dtype=np.int64)
    keys: list[tuple[str, PricingMode]] = []
    committed = np.flatnonzero(fleet.committed)
    pairs, first, pair_of = np.unique(fleet.offer[committed] * len(fleet.modes)
                                      + fleet.mode[committed], return_index=True,
                                      return_inverse=True)
    number_of = np.empty(len(pairs), dtype=np.int64)
    for number, pair in enumerate(np.argsort(first).tolist()):  # by first use
        number_of[pair] = number
        key = pool_key(fleet.offers[int(pairs[pair]) // len(fleet.modes)],
                       fleet.modes[int(pairs[pair]) % len(fleet.modes)])
        pool_number[key] = len(keys)
        keys.append(key)
    pool_of[committed] = number_of[pair_of.ravel()]
    for key in existing:
        if key not in pool_number and key[0] in offers_by_key:
            pool_number[key] = len(keys)
            keys.append(key)
    pool_offer = [offers_by_key[key[0]] for key in keys]
    pool_quota = np.array([[float(o.count) if q.covers(catalog, o.accelerator, o.provider, o.region)
                            else 0.0 for q in quotas] for o in pool_offer],
                          dtype=float).reshape(len(keys), len(quotas))
    pool_mode = [key[1] for key in keys]
    pool_fee = np.array([catalog.monthly_price(o, m) or 0.0 for o, m in zip(pool_offer, pool_mode,
                                                                             strict=True)])
    pool_rows = np.full((len(keys), periods), -1, dtype=np.int64)
    pool_upper = np.zeros(len(keys))
    has_use = upper > 0
    for number, key in enumerate(keys):
        members = pool_of == number
        peak = float((upper[members]).sum(axis=0).max(initial=0.0)) if members.any() else 0.0
        offer = pool_offer[number]
        caps = [q.max_accelerators // offer.count for q in quotas
                if q.covers(catalog, offer.accelerator, offer.provider, offer.region)]
        pool_upper[number] = max(0, min(math.ceil(peak - 1e-9), min(caps, default=math.inf)))
        for period in range(periods):
            if (members & has_use[:, period]).any():
                pool_rows[number, period] = rows.add(f"pool[{key[0]},{key[1].value},{period}]",
                                                     float(existing.get(key, 0)))
    budget_row = -1
    if problem.budget_usd_per_month is not None:
        budget_row = rows.add("budget", float(problem.budget_usd_per_month))
    # variant preparation
    prepare_keys: list[tuple[str, str]] = []
    prepare_cost: list[float] = []
    prepare_number: dict[tuple[str, str], int] = {}
    prepare_rows: dict[tuple[int, int], tuple[int, int]] = {}
    forced: set[int] = set()
    pairs = np.unique(fleet.workload * len(fleet.variant_names) + fleet.variant)
    variants_of: dict[int, list[int]] = defaultdict(list)
    for pair in pairs.tolist():
        variants_of[pair // len(fleet.variant_names)].append(pair % len(fleet.variant_names))
    preparing = {name for name in fleet.variant_names
                 if catalog.variants[name].preparation_gpu_hours_per_b_params > 0}
    for i, workload in enumerate(fleet.workloads):
        if not preparing.intersection(fleet.variant_names[v] for v in variants_of[i]):
            continue
        variants = sorted(variants_of[i], key=lambda v: fleet.variant_names[v])
        for v in variants:
            name = fleet.variant_names[v]
            cost = preparation_usd_per_month(problem, catalog, workload.model, name)
            if cost <= 0:
                continue
            prepared = (workload.model, name)
            if prepared not in prepare_number:
                prepare_number[prepared] = len(prepare_keys)
                prepare_keys.append(prepared)
                prepare_cost.append(cost)
            column = prepare_number[prepared]
            if len(variants) == 1:
                forced.add(column)
            else:
                prepare_rows[(i, v)] = (rows.add(f"prepare_link[{workload.name},{name}]", 0.0),
                                        column)
    hours = fleet.hours
    true_cost = hours * fleet.hourly
    solver_cost = true_cost + np.where(fleet.committed, hours * IDLE_TIE_BREAK * fleet.fee, 0.0)
    return Structure(fleet, rows, quota_rows, quota_usage, quota_cap, pool_of, pool_rows,
                     pool_offer, pool_mode, pool_fee, pool_upper, pool_quota, budget_row, prepare_keys,
                     np.array(prepare_cost), np.array([k in forced for k in range(len(prepare_keys))],
                                                      dtype=bool),
                     prepare_rows, upper, solver_cost, true_cost)


@dataclass
class Pricing:
    """The covering subproblems of every (workload, variant, period), fixed across rounds;
    only the item weights change with the duals."""

    problems: Subproblems
    candidate: np.ndarray
    """Per item: the candidate (position in the fleet)."""
    period: np.ndarray
    """Per item: its period."""
    workload: np.ndarray
    """Per subproblem."""
    variant: np.ndarray
    sub_period: np.ndarray
    pairs: list[tuple[int, int]]
    """(workload, variant) pairs with candidates, each with one subproblem per period."""
    pair_of: np.ndarray
    """Per subproblem: its pair (position in `pairs`)."""
    dominance: Dominance
    """Which items could make which unnecessary (fixed; the weights decide)."""
    pair_workload: np.ndarray
    """Per pair: its workload."""
    pair_link: np.ndarray
    """Per pair: the row linking its patterns to its variant's preparation (-1: none)."""
    item_cost: np.ndarray
    """Per item: one instance's objective coefficient, over all the problem's periods its
    period stands for."""
    item_budget: np.ndarray
    """Per item: one instance's budget coefficient, likewise."""


def pricing_of(fleet: Fleet, structure: Structure) -> Pricing:
    """The subproblems, pair by pair (workloads, then variants, ascending), period by period;
    each one's items in fleet order (the candidates with a `use` column in that period)."""
    periods = fleet.periods
    rates = fleet.rates
    share = np.array([w.max_spot_share for w in fleet.workloads], dtype=float)
    min_replicas = np.array([w.min_replicas for w in fleet.workloads], dtype=float)
    order = np.lexsort((fleet.variant, fleet.workload))
    key = fleet.workload[order] * (len(fleet.variant_names) + 1) + fleet.variant[order]
    starts = np.flatnonzero(np.diff(key, prepend=-1))
    pair_at = np.cumsum(np.diff(key, prepend=-1) != 0) - 1  # per position in `order`
    pair_workload = fleet.workload[order[starts]]
    pair_variant = fleet.variant[order[starts]]
    # items: the (position, period) with a use column, pair by pair, then period by period
    used = structure.upper[order] > 0  # [position, period]
    counted = np.cumsum(used, axis=0, dtype=np.int64)
    before = np.zeros((len(starts), periods), dtype=np.int64)
    before[1:] = counted[starts[1:] - 1]
    sizes = (np.append(counted[starts[1:] - 1], counted[-1:], axis=0) - before
             if len(starts) else before)  # [pair, period]
    sub_start = np.concatenate([[0], np.cumsum(sizes.ravel())]).astype(np.int64)
    position, period = np.nonzero(used)
    sub = pair_at[position] * periods + period
    at = sub_start[sub] + counted[position, period] - before[pair_at[position], period] - 1
    item_position = np.empty(len(at), dtype=np.int64)
    item_position[at] = position
    item_period = np.empty(len(at), dtype=np.int64)
    item_period[at] = period
    candidate = order[item_position]
    sub_pair = np.repeat(np.arange(len(starts)), periods)
    sub_period = np.tile(np.arange(periods), len(starts))
    sub_workload = pair_workload[sub_pair]
    sub_rate = rates[sub_workload, sub_period]
    item_sub = np.repeat(np.arange(len(sub_pair)), np.diff(sub_start))
    rate = sub_rate[item_sub]
    capacity = fleet.capacity[candidate]
    spot = fleet.spot[candidate]
    item_share = share[sub_workload[item_sub]]
    limited = (share[sub_workload] < 1) & (np.bincount(item_sub, weights=spot,
                                                       minlength=len(sub_pair)) > 0)
    problems = Subproblems(
        start=sub_start, demand=np.where(sub_rate > 0, sub_rate, 0.0),
        replicas=min_replicas[sub_workload],
        item_demand=np.where(rate > 0, np.minimum(capacity, rate), 0.0),
        item_replicas=fleet.replicas[candidate].astype(float),
        item_spot=np.where(limited[item_sub], np.where(spot, capacity * (1 - item_share),
                                                       -capacity * item_share), 0.0),
        upper=structure.upper[candidate, item_period].astype(np.int64))
    pairs = list(zip(pair_workload.tolist(), pair_variant.tolist(), strict=True))
    pair_link = np.array([structure.prepare_rows.get(pair, (-1, -1))[0] for pair in pairs],
                         dtype=np.int64)
    times = fleet.weight[item_period]
    return Pricing(problems, candidate, item_period, sub_workload, pair_variant[sub_pair],
                   sub_period, pairs, sub_pair, Dominance.of(problems), pair_workload, pair_link,
                   structure.solver_cost[candidate] * times, structure.true_cost[candidate] * times)


@dataclass(frozen=True)
class Column:
    """One whole-workload pattern: its instances and its entries in the master."""

    workload: int
    variant: int
    candidates: tuple[int, ...]
    periods: tuple[int, ...]
    counts: tuple[int, ...]
    cost: float
    rows: tuple[int, ...]
    values: tuple[float, ...]


class Master:
    """The restricted master: patterns per workload under the coupling rows (HiGHS, in process
    for the duals)."""

    def __init__(self, structure: Structure) -> None:
        import highspy

        self.highspy = highspy
        self.structure = structure
        fleet = structure.fleet
        self.coupling = len(structure.rows.upper)
        self.workloads = len(fleet.workloads)
        self.columns: list[Column] = []
        self.known: dict[tuple[int, int, tuple[int, ...], tuple[int, ...], tuple[int, ...]], int] = {}
        highs = silent_highs()
        # new columns keep the last basis primal feasible: primal simplex restarts from it
        # (the dual simplex HiGHS would pick took 10x longer on 10,000 workloads)
        highs.setOptionValue("simplex_strategy", PRIMAL_SIMPLEX)
        inf = highspy.kHighsInf
        lower = np.concatenate([np.full(self.coupling, -inf), np.ones(self.workloads)])
        upper = np.concatenate([np.array(structure.rows.upper, dtype=float), np.ones(self.workloads)])
        highs.addRows(len(lower), lower, upper, 0, np.zeros(0, dtype=np.int32),
                      np.zeros(0, dtype=np.int32), np.zeros(0))
        self.highs = highs
        self.fixed_columns = 0
        self.slack: list[int] = []
        self.pool_columns: list[int] = []
        self.prepare_columns: list[int] = []

    def add_fixed(self, link_slack: bool = True) -> None:
        """Slack on every coupling row (priced far above anything it could save), pools and
        preparations. Without `link_slack`, none on the preparation links: a preparation of 1
        meets them all, and on 10,000 workloads their slack doubled the LP's time."""
        s = self.structure
        fleet = s.fleet
        instance = float((fleet.fee + HOURS_PER_MONTH * fleet.hourly).max(initial=0.0))
        per_row = np.full(self.coupling, PENALTY * max(1.0, instance))
        if s.budget_row >= 0:
            per_row[s.budget_row] = PENALTY
        links = [row for row, _ in s.prepare_rows.values()]
        per_row[links] = PENALTY * max(1.0, float(s.prepare_cost.max(initial=0.0)))
        slack = np.ones(self.coupling, dtype=bool)
        slack[links] = link_slack
        rows = np.flatnonzero(slack).tolist()
        self.slack = self._add_many(per_row[rows].tolist(), [0.0] * len(rows),
                                    [math.inf] * len(rows), [([row], [-1.0]) for row in rows])
        self.pool_columns = self._add_many(
            s.pool_fee.tolist(), [0.0] * len(s.pool_offer), s.pool_upper.tolist(),
            [_pool_entries(s, number) for number in range(len(s.pool_offer))])
        self.prepare_columns = self._add_many(
            s.prepare_cost.tolist(), [1.0 if forced else 0.0 for forced in s.prepare_forced],
            [1.0] * len(s.prepare_keys),
            [_prepare_entries(s, number) for number in range(len(s.prepare_keys))])
        self.fixed_columns = len(self.slack) + len(self.pool_columns) + len(self.prepare_columns)

    def _add(self, cost: float, lower: float, upper: float, rows: list[int], values: list[float]
             ) -> int:
        return self._add_many([cost], [lower], [upper], [(rows, values)])[0]

    def _add_many(self, cost: list[float], lower: list[float], upper: list[float],
                  entries: list[tuple[list[int], list[float]]]) -> list[int]:
        """Columns (with their rows and values), in one call to HiGHS: their numbers."""
        first = int(self.highs.getNumCol())
        if not cost:
            return []
        lengths = np.array([len(rows) for rows, _ in entries], dtype=np.int64)
        indices = np.fromiter(chain.from_iterable(rows for rows, _ in entries), dtype=np.int32,
                              count=int(lengths.sum()))
        values = np.fromiter(chain.from_iterable(values for _, values in entries), dtype=float,
                             count=int(lengths.sum()))
        bounds = np.array(upper, dtype=float)
        self.highs.addCols(len(cost), np.array(cost, dtype=float), np.array(lower, dtype=float),
                           np.where(np.isinf(bounds), self.highspy.kHighsInf, bounds),
                           len(indices), (np.cumsum(lengths) - lengths).astype(np.int32), indices,
                           values)
        return list(range(first, first + len(cost)))

    def position(self, column: Column) -> int:
        """Where a pattern is among `columns`."""
        return self.known[self._key(column)]

    @staticmethod
    def _key(column: Column) -> tuple[int, int, tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
        return (column.workload, column.variant, column.candidates, column.periods, column.counts)

    def add_patterns(self, columns: Sequence[Column]) -> int:
        """Add the patterns not there yet (in one call to HiGHS): how many."""
        new: list[Column] = []
        for column in columns:
            key = self._key(column)
            if key not in self.known:
                self.known[key] = len(self.columns)
                self.columns.append(column)
                new.append(column)
        # no upper bound of 1 (the convexity row gives it): a bounded column could price out
        self._add_many([column.cost for column in new], [0.0] * len(new), [math.inf] * len(new),
                       [([*column.rows, self.coupling + column.workload], [*column.values, 1.0])
                        for column in new])
        return len(new)

    def solve_lp(self) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
        """(objective, coupling duals (clipped <= 0), convexity duals, column values)."""
        self.highs.run()
        solution = self.highs.getSolution()
        duals = np.array(solution.row_dual, dtype=float)
        info = self.highs.getInfo()
        return (float(info.objective_function_value), np.minimum(duals[:self.coupling], 0.0),
                duals[self.coupling:], np.array(solution.col_value, dtype=float))


@dataclass
class Priced:
    """One pricing round at duals y: every (workload, variant) pair's cheapest pattern."""

    value: np.ndarray
    """Per pair: priced cost of its cheapest pattern (inf when it has none), constants in."""
    constant: np.ndarray
    """Per pair: the part of `value` that does not depend on the instances (preparation)."""
    best: np.ndarray
    """Per workload: the smallest pair value."""
    patterns: Patterns
    """Per subproblem: its cheapest pattern (subproblems without one are absent)."""
    bound: float
    """Lagrangian lower bound L(y)."""
    duals: np.ndarray
    """The coupling rows' duals y the round priced with."""
    weights: np.ndarray
    """The item weights at those duals."""


def item_weights(structure: Structure, pricing: Pricing, duals: np.ndarray) -> np.ndarray:
    """Priced cost of one instance of each item: its objective coefficient minus its entries
    in the coupling rows times their duals (duals <= 0, so weights >= 0)."""
    fleet = structure.fleet
    k, period = pricing.candidate, pricing.period
    weight = pricing.item_cost.copy()
    if structure.quota_rows.size:
        quota_duals = duals[structure.quota_rows[:, period]].T  # [item, quota]
        usage = structure.quota_usage[fleet.offer[k]] * (~fleet.committed[k])[:, None]
        weight -= (usage * quota_duals).sum(axis=1)
    pooled = structure.pool_of[k] >= 0
    if pooled.any():
        rows = structure.pool_rows[structure.pool_of[k][pooled], period[pooled]]
        weight[pooled] -= duals[rows]
    if structure.budget_row >= 0:
        weight -= pricing.item_budget * duals[structure.budget_row]
    return weight


def price(structure: Structure, pricing: Pricing, duals: np.ndarray,
          previous: Priced | None = None, exact: bool = True,
          ceiling: np.ndarray | None = None, deadline: float | None = None) -> Priced:
    """Every pair's cheapest pattern at these duals. With the `previous` round's answer, a
    subproblem is searched again only when some item got cheaper or its best pattern's cost
    changed (otherwise that pattern is still cheapest); the others start from it.

    `ceiling` (per pair; one period only): a pair whose patterns all price above it need not
    know its cheapest one: it keeps its previous pattern with a lower bound of at least the
    ceiling. Column generation passes each workload's convexity dual (plus a margin): a pair
    below it prices out and is found exactly, and since the LP's own pattern of the workload
    prices at its dual, the workload's least bound (what the Lagrangian bound adds up) is
    still its exact cheapest.

    `deadline` (`time.perf_counter()`): past it, pricing is no longer made exact (no small
    MIPs, no settling): the hardest subproblems keep their best patterns with lower bounds,
    which the Lagrangian bound adds up instead (on 12 hourly workloads of thousands of
    requests/s, 543 small MIPs made the first pricing take 60 s on a 2 s limit)."""
    problems = pricing.problems
    weights = np.maximum(item_weights(structure, pricing, duals), 0.0)
    constant = _pair_constants(structure, pricing, duals)
    limit = None
    if ceiling is not None and structure.fleet.periods == 1:
        limit = (ceiling - constant)[pricing.pair_of]
    redo = np.ones(problems.count, dtype=bool)
    old = previous.patterns if previous is not None else None
    floor = None
    if old is not None and previous is not None:
        # no pattern got cheaper by more than the items' price cuts at their upper counts:
        # the old optimum (or bound) less that is a bound now; a pattern at it is cheapest
        cut = np.maximum(previous.weights - weights, 0.0) * problems.upper
        items = np.repeat(np.arange(problems.count), np.diff(problems.start))
        floor = np.full(problems.count, -np.inf)
        floor[old.subproblem] = old.lower()
        floor -= np.bincount(items, weights=cut, minlength=problems.count)
        now = np.full(problems.count, np.inf)
        now[old.subproblem] = priced_costs(old, weights)
        with np.errstate(invalid="ignore"):  # -inf + inf: NaN, not certified
            certified = now <= floor + 1e-9 * np.maximum(1.0, np.abs(floor))
        redo = ~certified & np.isfinite(now)  # no pattern before: none now either
        if limit is not None:  # bounded above the ceiling already
            redo &= ~(floor >= limit)
        old = replace(old, cost=now[old.subproblem],
                      bound=np.where(certified[old.subproblem], now[old.subproblem],
                                     np.minimum(floor[old.subproblem], now[old.subproblem])))
    keep = pricing.dominance.undominated(weights)
    found = _search_some(problems, weights, keep, old, redo, False, floor, limit)
    if exact:
        found = _settle(pricing, weights, keep, found, constant, limit, deadline)
    return _priced(structure, pricing, duals, weights, found, constant)


def one_item_patterns(structure: Structure, pricing: Pricing, duals: np.ndarray) -> Priced:
    """Every subproblem's cheapest pattern of one item at these duals (none for those that
    ask for nothing or have none), bounded below by 0 only: a start, found at no cost."""
    problems = pricing.problems
    weights = np.maximum(item_weights(structure, pricing, duals), 0.0)
    _, singles = single_item_patterns(problems, weights)
    trivial = (problems.demand <= FEASIBILITY) & (problems.replicas <= 0)
    singles = select(singles, ~trivial[singles.subproblem])
    return _priced(structure, pricing, duals, weights,
                   replace(singles, bound=np.zeros(len(singles))),
                   _pair_constants(structure, pricing, duals))


def cheapest_patterns(structure: Structure, pricing: Pricing, duals: np.ndarray) -> Priced:
    """Every workload's cheapest pattern at these duals (the first columns): each
    subproblem starts from its cheapest one-item pattern and, with one period, a pair is
    priced exactly only up to its workload's cheapest one-item pattern (`price`'s
    ceiling)."""
    start = one_item_patterns(structure, pricing, duals)
    pair_workload = pricing.pair_workload
    ceiling = start.best[pair_workload] - start.constant
    limit = (ceiling + CEILING_MARGIN * np.maximum(1.0, np.abs(ceiling)))[pricing.pair_of] \
        if structure.fleet.periods == 1 else None
    keep = pricing.dominance.undominated(start.weights)
    found = _search_some(pricing.problems, start.weights, keep, start.patterns,
                         np.ones(pricing.problems.count, dtype=bool), False, ceiling=limit)
    return _priced(structure, pricing, duals, start.weights, found, start.constant)


def _pair_constants(structure: Structure, pricing: Pricing, duals: np.ndarray) -> np.ndarray:
    """Per pair, the priced cost of its patterns that does not depend on the instances: its
    preparation link's dual."""
    linked = pricing.pair_link >= 0
    return np.where(linked, -duals[np.where(linked, pricing.pair_link, 0)], 0.0) \
        if len(duals) else np.zeros(len(pricing.pairs))


def _priced(structure: Structure, pricing: Pricing, duals: np.ndarray, weights: np.ndarray,
            found: Patterns, constant: np.ndarray) -> Priced:
    """The round's answer from every subproblem's pattern and lower bound: per pair and
    workload, and the Lagrangian bound."""
    per_sub = np.full(pricing.problems.count, np.inf)
    per_sub[found.subproblem] = found.cost
    low_sub = np.full(pricing.problems.count, np.inf)
    low_sub[found.subproblem] = found.lower()
    pairs = len(pricing.pairs)
    value, lower = np.zeros(pairs), np.zeros(pairs)
    np.add.at(value, pricing.pair_of, per_sub)
    np.add.at(lower, pricing.pair_of, low_sub)
    value += constant
    lower += constant
    workloads = len(structure.fleet.workloads)
    pair_workload = pricing.pair_workload
    best = np.full(workloads, np.inf)
    np.minimum.at(best, pair_workload, value)
    least = np.full(workloads, np.inf)
    np.minimum.at(least, pair_workload, lower)
    rows = structure.rows
    bound = float(least.sum() + np.dot(duals, np.array(rows.upper, dtype=float)))
    for number in range(len(structure.pool_offer)):
        reduced = float(structure.pool_fee[number]) - _entries_dot(
            structure, _pool_entries(structure, number), duals)
        bound += min(0.0, reduced) * float(structure.pool_upper[number])
    for number in range(len(structure.prepare_keys)):
        reduced = float(structure.prepare_cost[number]) - _entries_dot(
            structure, _prepare_entries(structure, number), duals)
        bound += reduced if structure.prepare_forced[number] else min(0.0, reduced)
    return Priced(value, constant, best, found, bound, duals, weights)


def _lp_reduced(structure: Structure, pricing: Pricing, priced: Priced, duals: np.ndarray
                ) -> np.ndarray:
    """Per pair, its priced pattern's cost less its coupling entries times `duals` (the LP's,
    when `priced` was priced at other duals)."""
    if priced.duals is duals or np.array_equal(priced.duals, duals):
        return priced.value
    weights = np.maximum(item_weights(structure, pricing, duals), 0.0)
    found = priced.patterns
    per_sub = np.full(pricing.problems.count, np.inf)
    per_sub[found.subproblem] = priced_costs(found, weights)
    return np.bincount(pricing.pair_of, weights=per_sub, minlength=len(pricing.pairs)) \
        + _pair_constants(structure, pricing, duals)


def _search_some(problems: Subproblems, weights: np.ndarray, keep: np.ndarray,
                 old: Patterns | None, redo: np.ndarray, exact: bool,
                 floor: np.ndarray | None = None, ceiling: np.ndarray | None = None,
                 deadline: float | None = None) -> Patterns:
    """Cheapest patterns of the subproblems to `redo` (starting from their `old` ones, above
    the known lower bounds `floor`, up to `ceiling`, exact until `deadline`: see `price`),
    the `old` ones kept (at the current weights) for the others."""
    if redo.all():
        return search(problems, weights, "best", incumbent=old, exact=exact, keep=keep,
                      floor=floor, ceiling=ceiling, deadline=deadline)
    chosen = np.flatnonzero(redo)
    part, original = restrict(problems, chosen)
    position = np.full(problems.count, -1, dtype=np.int64)
    position[chosen] = np.arange(len(chosen))
    inverse = np.full(len(weights), -1, dtype=np.int64)
    inverse[original] = np.arange(len(original))
    start = None
    if old is not None:
        mine = select(old, redo[old.subproblem])
        start = replace(mine, subproblem=position[mine.subproblem], items=inverse[mine.items])
    fresh = search(part, weights[original], "best", incumbent=start, exact=exact,
                   keep=keep[original], floor=None if floor is None else floor[chosen],
                   ceiling=None if ceiling is None else ceiling[chosen], deadline=deadline)
    fresh = replace(fresh, subproblem=chosen[fresh.subproblem], items=original[fresh.items])
    if old is None:
        return fresh
    kept = select(old, ~redo[old.subproblem])
    return concatenate([replace(kept, cost=priced_costs(kept, weights)), fresh])


def _settle(pricing: Pricing, weights: np.ndarray, keep: np.ndarray, found: Patterns,
            constant: np.ndarray, ceiling: np.ndarray | None = None,
            deadline: float | None = None) -> Patterns:
    """Make exact what the bound needs exact: a pair whose patterns were only bounded is
    solved exactly while its bound is below its workload's best exactly priced pair (a pair
    bounded above that cannot be the workload's cheapest). A subproblem bounded by its
    `ceiling` (see `price`) counts as exact: searching again would bound it the same."""
    problems = pricing.problems
    pair_workload = pricing.pair_workload
    workloads = int(pair_workload.max(initial=-1)) + 1
    while True:
        cost = np.full(problems.count, np.inf)
        cost[found.subproblem] = found.cost
        low = np.full(problems.count, np.inf)
        low[found.subproblem] = found.lower()
        with np.errstate(invalid="ignore"):  # inf - inf (no pattern): NaN, not loose
            loose = low < cost - np.maximum(1e-9 * np.maximum(1.0, np.abs(cost)),
                                            2 * SMALL_MIP_GAP * np.abs(cost))
            if ceiling is not None:
                loose &= ~(low >= ceiling - 1e-9 * np.maximum(1.0, np.abs(ceiling)))
        value = np.bincount(pricing.pair_of, weights=cost, minlength=len(pricing.pairs)) + constant
        lower = np.bincount(pricing.pair_of, weights=low, minlength=len(pricing.pairs)) + constant
        inexact = np.bincount(pricing.pair_of, weights=loose, minlength=len(pricing.pairs)) > 0
        best = np.full(workloads, np.inf)
        np.minimum.at(best, pair_workload[~inexact], value[~inexact])
        with np.errstate(invalid="ignore"):
            need = inexact & (lower < best[pair_workload]
                              - 1e-9 * np.maximum(1.0, np.abs(lower)))
        redo = need[pricing.pair_of] & loose
        if not redo.any() or past(deadline):
            return found
        found = _search_some(problems, weights, keep, found, redo, True, ceiling=ceiling,
                             deadline=deadline)


def _entries_dot(structure: Structure, entries: tuple[list[int], list[float]], duals: np.ndarray
                 ) -> float:
    rows, values = entries
    return float(np.dot(duals[np.array(rows, dtype=np.int64)], np.array(values))) if rows else 0.0


def _pool_entries(structure: Structure, number: int) -> tuple[list[int], list[float]]:
    rows: list[int] = []
    values: list[float] = []
    for row in structure.pool_rows[number].tolist():
        if row >= 0:
            rows.append(row)
            values.append(-1.0)
    for q, per in enumerate(structure.pool_quota[number].tolist()):
        if per:
            rows += structure.quota_rows[q].tolist()
            values += [per] * structure.fleet.periods
    if structure.budget_row >= 0 and structure.pool_fee[number]:
        rows.append(structure.budget_row)
        values.append(float(structure.pool_fee[number]))
    return rows, values


def _prepare_entries(structure: Structure, number: int) -> tuple[list[int], list[float]]:
    rows = list(structure.prepare_links()[number])
    values = [-1.0] * len(rows)
    if structure.budget_row >= 0:
        rows.append(structure.budget_row)
        values.append(float(structure.prepare_cost[number]))
    return rows, values


def column_of(structure: Structure, pricing: Pricing, pair: int,
              parts: list[tuple[np.ndarray, np.ndarray]]) -> Column:
    """The master column of a pattern of `pricing.pairs[pair]`: per-period (items, counts)."""
    items = [np.asarray(items, dtype=np.int64) for items, _ in parts]
    return columns_of(structure, pricing, np.array([pair], dtype=np.int64),
                      np.zeros(sum(len(i) for i in items), dtype=np.int64),
                      np.concatenate(items) if items else np.zeros(0, dtype=np.int64),
                      np.concatenate([np.asarray(c, dtype=np.int64) for _, c in parts])
                      if parts else np.zeros(0, dtype=np.int64))[0]


def columns_from(structure: Structure, pricing: Pricing, priced: Priced, pairs: np.ndarray
                 ) -> list[Column]:
    """The cheapest pattern of each of these pairs, as master columns."""
    found = priced.patterns
    periods = structure.fleet.periods
    where = np.full(pricing.problems.count, -1, dtype=np.int64)
    where[found.subproblem] = np.arange(len(found))
    chosen = where[(pairs[:, None] * periods + np.arange(periods)).ravel()]
    sizes = np.diff(found.start)[chosen]
    at = ranges(found.start[chosen], sizes)
    owner = np.repeat(np.repeat(np.arange(len(pairs)), periods), sizes)
    return columns_of(structure, pricing, pairs, owner, found.items[at], found.counts[at])


def columns_of(structure: Structure, pricing: Pricing, pairs: np.ndarray, owner: np.ndarray,
               items: np.ndarray, counts: np.ndarray) -> list[Column]:
    """The master columns of patterns of these pairs: instance `counts` of `items`, each of
    the pattern `owner` says. Each entry in a coupling row adds up its instances' shares in
    their order (as the formulation's rows would)."""
    fleet = structure.fleet
    k, period = pricing.candidate[items], pricing.period[items]
    cost = np.bincount(owner, weights=counts * pricing.item_cost[items], minlength=len(pairs))
    # the coupling entries: (pattern, row, value) of every instance, in the patterns' order
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    pooled = fleet.committed[k]
    parts.append((owner[pooled], structure.pool_rows[structure.pool_of[k[pooled]], period[pooled]],
                  counts[pooled].astype(float)))
    usage = structure.quota_usage[fleet.offer[k]] * (~pooled)[:, None]  # [item, quota]
    for quota in range(usage.shape[1]):
        here = usage[:, quota] != 0
        parts.append((owner[here], structure.quota_rows[quota, period[here]],
                      counts[here] * usage[here, quota]))
    if structure.budget_row >= 0:
        parts.append((owner, np.full(len(owner), structure.budget_row),
                      counts * pricing.item_budget[items]))
    links = pricing.pair_link[pairs]
    linked = np.flatnonzero(links >= 0)
    parts.append((linked, links[linked], np.ones(len(linked))))
    rows_total = max(len(structure.rows.upper), 1)
    key = np.concatenate([column * rows_total + row for column, row, _ in parts])
    keys, group = np.unique(key, return_inverse=True)
    value = np.bincount(group.ravel(), weights=np.concatenate([v for _, _, v in parts]),
                        minlength=len(keys))  # in order within each entry, from 0
    entry_column, entry_row = keys // rows_total, keys % rows_total
    entry_start = np.searchsorted(entry_column, np.arange(len(pairs) + 1))
    order = np.lexsort((k, period, owner))
    item_start = np.searchsorted(owner[order], np.arange(len(pairs) + 1))
    candidates, periods, numbers = (k[order].tolist(), period[order].tolist(),
                                    counts[order].tolist())
    rows, values, cost_list = entry_row.tolist(), value.tolist(), cost.tolist()
    result = []
    for column, pair in enumerate(pairs.tolist()):
        workload, variant = pricing.pairs[pair]
        first, stop = int(item_start[column]), int(item_start[column + 1])
        low, high = int(entry_start[column]), int(entry_start[column + 1])
        result.append(Column(workload, variant, tuple(candidates[first:stop]),
                             tuple(periods[first:stop]), tuple(numbers[first:stop]),
                             cost_list[column], tuple(rows[low:high]), tuple(values[low:high])))
    return result


@dataclass(frozen=True)
class Reduction:
    """A plan found by decomposition: the instances of the candidates it uses, its cost and a
    proven lower bound on every plan's cost (both as the MIP's objective)."""

    active: tuple[int, ...]
    """Candidate indices the plan uses (ascending)."""
    counts: dict[tuple[int, int], int]
    """(candidate index, period) -> instances."""
    objective: float
    bound: float
    seconds: float
    rounds: int
    columns: int

    @classmethod
    def of(cls, fleet: Fleet, chosen: list[Column], objective: float, bound: float,
           seconds: float, rounds: int, columns: int) -> Reduction:
        """The plan of these columns (instances of fleet candidates per period, in each of
        the problem's periods a planned period stands for)."""
        counts: dict[tuple[int, int], int] = {}
        for column in chosen:
            for k, period, count in zip(column.candidates, column.periods, column.counts,
                                        strict=True):
                for member in fleet.members[period]:
                    key = (int(fleet.index[k]), member)
                    counts[key] = counts.get(key, 0) + count
        active = tuple(sorted({index for index, _ in counts}))
        return cls(active, counts, objective, min(bound, objective), seconds, rounds, columns)

    @property
    def gap(self) -> float:
        return max(0.0, (self.objective - self.bound) / max(abs(self.objective), 1e-9))

    def fixed(self, formulation: Formulation) -> LinearModel:
        """The formulation (of `active`) with every `use` column fixed to the plan's count."""
        model = replace(formulation.model, lower=list(formulation.model.lower),
                        upper=list(formulation.model.upper))
        for (index, period), column in formulation.use_column.items():
            count = float(self.counts.get((index, period), 0))
            model.lower[column] = model.upper[column] = count
        return model

    def solve(self, formulation: Formulation,
              solve_model: Callable[[LinearModel, SolveOptions], SolverResult],
              options: SolveOptions) -> SolverResult:
        """The plan in the formulation's columns (pools, variants, preparations solved with the
        instances fixed), with the decomposition's bound, time and status."""
        result = solve_model(self.fixed(formulation), options)
        if result.status not in (Status.optimal, Status.feasible) or result.objective is None:
            return result
        bound = min(self.bound, result.objective)
        gap = (result.objective - bound) / max(abs(result.objective), 1e-9)
        status = Status.optimal if gap <= options.relative_gap else Status.feasible
        return replace(result, status=status, bound=bound, seconds=self.seconds + result.seconds)


def next_round(objective: float, bound: float, last_objective: float, rounds: int, added: bool,
               exact: bool, gap: float) -> tuple[bool, bool]:
    """(stop, price exactly next round) after a column-generation round: stop once exact
    pricing adds nothing or the bound is within `CLOSE_ENOUGH` of the gap; heuristic pricing
    gives way to exact once it adds nothing, comes that close, or the LP stalls."""
    close = objective - bound <= CLOSE_ENOUGH * gap * abs(objective)
    stalled = rounds > 2 and last_objective - objective <= STALL * gap * abs(objective)
    return exact and (not added or close), not added or close or stalled


def applies(problem: Problem, training: tuple[object, ...] = (), force: bool = False,
            columns: int = 0) -> bool:
    """Large fleets (`force`: any size; with periods, also a whole MIP of at least
    `HOURLY_COLUMNS` instance columns) of online workloads, meeting all demand (see the module
    doc; with periods, `planner.hourly`)."""
    online = [w for w in problem.workloads if isinstance(w, OnlineWorkload)]
    large = len(online) >= LARGE_FLEET or (problem.periods > 1 and columns >= HOURLY_COLUMNS)
    return ((force or large) and len(online) == len(problem.workloads)
            and not training and problem.budget_mode == "meet_all"
            and all(len(w.models) == 1 for w in online))  # patterns assume one model each


def instance_columns(problem: Problem, candidates: CandidateSet,
                     active: tuple[int, ...] | None) -> int:
    """The whole MIP's instance columns: active candidates (all: None) x periods."""
    return (len(candidates.candidates) if active is None else len(active)) * problem.periods


def reduce_fleet(problem: Problem, catalog: Catalog, candidates: CandidateSet,
           active: tuple[int, ...] | None, training: tuple[object, ...] = (),
           options: SolveOptions | None = None, force: bool = False,
           progress: Callable[[str], None] | None = None) -> Reduction | None:
    """A plan and a proven bound for a large fleet by decomposition (see the module doc), or
    None when it does not apply (`applies`; `force` skips the size test) or finds no plan:
    then the full MIP decides (and diagnoses)."""
    if not applies(problem, training, force, instance_columns(problem, candidates, active)):
        return None
    options = options or SolveOptions()
    started = time.perf_counter()
    deadline = started + options.time_limit_s
    fleet = fleet_of(problem, catalog, candidates, active)
    if len(set(fleet.workload.tolist())) < len(fleet.workloads):
        return None  # a workload without candidates: infeasible, for the full path to explain
    structure = structure_of(problem, catalog, fleet)
    pricing = pricing_of(fleet, structure)
    say = progress or tell
    if fleet.periods > 1:
        from planner.hourly import decompose_periods

        return decompose_periods(structure, pricing, options, started, deadline, say)
    return _decompose(structure, pricing, options, started, deadline, say)


def _decompose(structure: Structure, pricing: Pricing, options: SolveOptions, started: float,
               deadline: float, say: Callable[[str], None]) -> Reduction | None:
    master = Master(structure)
    master.highs.setOptionValue("threads", int(options.threads))
    priced = _first_columns(master, pricing)
    if priced is None:
        return None  # some workload has no pattern at all
    final, bound, rounds, incumbent = _generate(master, pricing, priced, options, deadline, say)
    if incumbent is None:
        clock = time.perf_counter()
        incumbent = _master_mip(master, pricing, deadline, options, say, bound=bound)
        if incumbent is None:
            return None
        say(f"  master MIP {time.perf_counter() - clock:.2f} s")
    upper, chosen, _ = incumbent
    # the MIP's own bound covers only the patterns generated
    say(f"  {len(master.columns)} patterns: plan {upper:,.2f}, bound {bound:,.2f}")
    # Every plan cheaper than `upper` uses patterns within upper - L of each workload's
    # cheapest (at the bound's duals). Add those within a slack, re-solve; once the slack
    # covers upper - L, the master's optimum is the problem's.
    slack = min(upper - final.bound, FIRST_SLACK * abs(upper))
    while (upper - bound) / max(abs(upper), 1e-9) > options.relative_gap \
            and time.perf_counter() < deadline:
        found = _complete(structure, pricing, final, slack, master, deadline)
        if found is None:
            say(f"  too many patterns within {slack:,.2f} of the bound: no proof")
            break
        say(f"  {found} patterns within {slack:,.2f} of the bound")
        incumbent = _master_mip(master, pricing, deadline, options, say, upper, bound)
        if incumbent is None:
            break
        # a MIP cut short by the deadline may end at a dearer plan (its repair's) than the
        # one in hand: keep the cheaper; the MIP's bound holds for plans cheaper than either
        mip_bound = incumbent[2]
        if incumbent[0] < upper:
            upper, chosen = incumbent[0], incumbent[1]
        if upper - final.bound <= slack * (1 + 1e-9):  # every better plan was a candidate
            if mip_bound is not None:
                bound = max(bound, min(mip_bound, upper))
            say(f"  proven: plan {upper:,.2f}, bound {bound:,.2f}")
            break
        slack = upper - final.bound
    return Reduction.of(structure.fleet, chosen, upper, bound, time.perf_counter() - started,
                        rounds, len(master.columns))


def _first_columns(master: Master, pricing: Pricing) -> Priced | None:
    """The master's fixed columns and first patterns: each workload's cheapest at pool prices
    paid in full and, with quotas, the cheapest one-item patterns at prices that keep off
    quotas (so that the first master LP rarely needs its slack, whose price would set the
    duals). The first pricing, None when some workload has no pattern at all."""
    structure = master.structure
    fleet = structure.fleet
    duals = np.zeros(len(structure.rows.upper))
    for number, fee in enumerate(structure.pool_fee.tolist()):
        rows = structure.pool_rows[number]
        duals[rows[rows >= 0]] = -fee
    priced = cheapest_patterns(structure, pricing, duals)
    if not np.isfinite(priced.best).all():
        return None
    master.add_fixed(link_slack=False)
    pair_workload = pricing.pair_workload
    master.add_patterns(columns_from(structure, pricing, priced,
                                     _cheapest_pairs(priced, pair_workload)))
    if structure.quota_rows.size:
        dearest = float((fleet.fee + HOURS_PER_MONTH * fleet.hourly).max(initial=0.0))
        avoiding = duals.copy()
        avoiding[structure.quota_rows.ravel()] = -dearest
        shy = one_item_patterns(structure, pricing, avoiding)
        master.add_patterns(columns_from(structure, pricing, shy,
                                         _cheapest_pairs(shy, pair_workload)))
    return priced


def _generate(master: Master, pricing: Pricing, priced: Priced, options: SolveOptions,
              deadline: float, say: Callable[[str], None]
              ) -> tuple[Priced, float, int, tuple[float, list[Column], float | None] | None]:
    """Column generation from the first pricing until no pattern prices out, the bound is
    close enough (`next_round`), or a plan repaired from the LP is within the requested gap
    of the bound (tried once the LP is within `TRY_SHARE` of the gap of it): the round with
    the best Lagrangian bound, that bound, the rounds run, and that plan (None if none)."""
    structure = master.structure
    pair_workload = pricing.pair_workload
    # the first pricing's Lagrangian bound holds too: it is the bound when the deadline
    # leaves no round (-inf would be reported as the plan's bound, and its gap as inf)
    best_bound = priced.bound
    tried = -math.inf
    rounds = 0
    final = priced
    exact = False  # heuristic pricing of the hardest subproblems until nothing prices out
    last_objective = math.inf
    while rounds < MAX_ROUNDS and time.perf_counter() < deadline:
        rounds += 1
        clock = time.perf_counter()
        objective, duals, convexity, _ = master.solve_lp()
        lp_seconds = time.perf_counter() - clock
        clock = time.perf_counter()
        # price at duals between the best bound's and the LP's (Wentges smoothing: fewer
        # rounds of oscillating duals); if nothing prices out at the LP's duals, price there
        smoothed = rounds > 1 and SMOOTHING > 0
        for at in ((SMOOTHING * final.duals + (1 - SMOOTHING) * duals, duals) if smoothed
                   else (duals,)):
            ceiling = convexity[pair_workload] + CEILING_MARGIN * np.maximum(
                1.0, np.abs(convexity[pair_workload])) if at is duals else None
            priced = price(structure, pricing, at, priced, exact, ceiling, deadline)
            if priced.bound > best_bound:
                best_bound, final = priced.bound, priced
            reduced = _lp_reduced(structure, pricing, priced, duals) - convexity[pair_workload]
            tolerance = 1e-9 * np.maximum(1.0, np.abs(convexity[pair_workload]))
            pricing_out = reduced < -tolerance
            if pricing_out.any():
                break
        # the most negative pair of each workload only: more would swell the master LP
        order = np.lexsort((reduced, pair_workload))
        first = np.ones(len(order), dtype=bool)
        first[1:] = pair_workload[order][1:] != pair_workload[order][:-1]
        improving = np.sort(order[first & pricing_out[order]])
        say(f"  round {rounds}: master LP {objective:,.2f}, bound {best_bound:,.2f}, "
            f"{len(improving)} patterns price out (LP {lp_seconds:.2f} s, pricing "
            f"{time.perf_counter() - clock:.2f} s{', exact' if exact else ''})")
        added = master.add_patterns(columns_from(structure, pricing, priced, improving))
        stop, exact = next_round(objective, best_bound, last_objective, rounds, bool(added),
                                 exact, options.relative_gap)
        last_objective = objective
        if stop:
            break
        if objective - best_bound <= TRY_SHARE * options.relative_gap * abs(objective) \
                and best_bound > tried:  # perhaps a plan within the gap already
            tried = best_bound
            _, share, lp_reduced = _master_lp(master)
            repaired = _repair(master, pricing, share, lp_reduced, deadline, options, say,
                               best_bound)
            if repaired is not None \
                    and repaired[0] - best_bound <= options.relative_gap * abs(repaired[0]):
                return final, best_bound, rounds, repaired
    return final, best_bound, rounds, None


def _cheapest_pairs(priced: Priced, pair_workload: np.ndarray) -> np.ndarray:
    """Per workload, its cheapest (workload, variant) pair."""
    order = np.lexsort((priced.value, pair_workload))
    first = np.ones(len(order), dtype=bool)
    first[1:] = pair_workload[order][1:] != pair_workload[order][:-1]
    chosen = order[first]
    return chosen[np.isfinite(priced.value[chosen])]


def _master_mip(master: Master, pricing: Pricing, deadline: float, options: SolveOptions,
                say: Callable[[str], None], upper: float = math.inf, bound: float = -math.inf
                ) -> tuple[float, list[Column], float | None] | None:
    """An integer plan from the master: (cost, chosen columns, the MIP's proven bound over
    the patterns it searched, None without a MIP). First a repair (`_repair`). Then, unless
    that is within the gap of `bound`, the MIP over every pattern whose LP reduced cost is
    within (that plan - LP): no other pattern can be in a cheaper plan."""
    objective, values, reduced = _master_lp(master)
    best = _repair(master, pricing, values, reduced, deadline, options, say, bound)
    if best is not None:
        # the repair's own bound holds only with the other workloads fixed: not a bound
        best = (best[0], best[1], None)
        upper = min(upper, best[0])
    if math.isfinite(upper) and upper - bound > options.relative_gap * abs(upper):
        room = upper - objective
        hopeful = np.flatnonzero(reduced <= room + 1e-9 * max(1.0, abs(upper)))
        if best is not None:  # the repaired plan's own patterns
            hopeful = np.union1d(hopeful, np.array([master.position(c) for c in best[1]],
                                                   dtype=np.int64))
        clock = time.perf_counter()
        found = _pattern_mip(master, hopeful, deadline, options, _target(bound, options),
                             best[1] if best is not None else None)
        say(f"  MIP over {len(hopeful)} patterns: "
            f"{'no plan' if found is None else f'{found[0]:,.2f}'} "
            f"({time.perf_counter() - clock:.2f} s)")
        if found is not None and (best is None or found[0] <= best[0]):
            best = found
        elif found is not None and best is not None:  # keep the MIP's bound, which holds
            best = (best[0], best[1], found[2])
    return best


def _master_lp(master: Master) -> tuple[float, np.ndarray, np.ndarray]:
    """The master LP solved: its cost, and its pattern columns' values and reduced costs."""
    objective, _, _, values = master.solve_lp()
    reduced = np.array(master.highs.getSolution().col_dual, dtype=float)
    return objective, values[master.fixed_columns:], reduced[master.fixed_columns:]


def _target(bound: float, options: SolveOptions) -> float:
    """A plan's cost within the requested gap of `bound`: MIPs may stop there."""
    return bound + options.relative_gap * abs(bound) * (1 - 1e-6)


def _repair(master: Master, pricing: Pricing, share: np.ndarray, reduced: np.ndarray,
            deadline: float, options: SolveOptions, say: Callable[[str], None], bound: float
            ) -> tuple[float, list[Column], float | None] | None:
    """A plan from the master LP's solution (`share` of each pattern column): the LP splits
    at most as many workloads as there are binding coupling rows; the others keep their
    pattern and the split ones are planned afresh over all their candidates (`_compact_mip`).
    Its patterns join the master."""
    owner = np.array([c.workload for c in master.columns], dtype=np.int64)
    chosen = share >= 1 - 1e-7
    whole = np.zeros(master.workloads, dtype=bool)
    whole[owner[chosen]] = True
    # also free the workloads closest to switching pattern (least reduced cost of another)
    other = np.where(chosen, np.inf, reduced)
    nearest = np.full(master.workloads, np.inf)
    np.minimum.at(nearest, owner, other)
    nearest[~whole] = np.inf
    whole[np.argsort(nearest)[:REPAIR_EXTRA]] = False
    fixed = [master.columns[position] for position in np.flatnonzero(chosen & whole[owner])]
    clock = time.perf_counter()
    best = _compact_mip(master.structure, pricing, fixed, np.flatnonzero(~whole), deadline,
                        options, _target(bound, options))
    say(f"  repair of {int((~whole).sum())} workloads: "
        f"{'no plan' if best is None else f'{best[0]:,.2f}'} ({time.perf_counter() - clock:.2f} s)")
    if best is not None:
        master.add_patterns(best[1])
    return best


def _pattern_mip(master: Master, positions: np.ndarray, deadline: float, options: SolveOptions,
                 target: float = -math.inf, start: list[Column] | None = None
                 ) -> tuple[float, list[Column], float | None] | None:
    """The integer master over these pattern columns (by position), pools and preparations,
    as a model of its own; `start` (a plan of these patterns) is handed to HiGHS, which
    completes it (pools, preparations) as its first incumbent."""
    structure = master.structure
    model = _SparseModel(master.coupling + master.workloads)
    row_lower = [-math.inf] * master.coupling + [1.0] * master.workloads
    row_upper = list(structure.rows.upper) + [1.0] * master.workloads
    add_pools_and_preparations(model, structure)
    return choose_columns(model, master.columns, positions,
                          lambda column: master.coupling + column.workload,
                          None if start is None else [master.position(c) for c in start], {},
                          (row_lower, row_upper), deadline, options, target)


Chosen = TypeVar("Chosen", bound=Column)


def choose_columns(model: _SparseModel, columns: Sequence[Chosen], positions: np.ndarray,
                   link: Callable[[Chosen], int], start: list[int] | None,
                   also_start: dict[int, float], bounds: tuple[list[float], list[float]],
                   deadline: float, options: SolveOptions, target: float
                   ) -> tuple[float, list[Chosen], float | None] | None:
    """Solve `model` with a binary for each column at `positions` (its rows, and 1 in its
    `link` row), starting HiGHS from the columns at `start` (plus `also_start`, by model
    column): (cost, the columns chosen, the MIP's bound), or None without a plan."""
    fixed = model.count
    for position in positions.tolist():
        column = columns[position]
        model.column(column.cost, 0.0, 1.0, True, [*column.rows, link(column)],
                     [*column.values, 1.0])
    if start is not None:
        where = {p: fixed + i for i, p in enumerate(positions.tolist())}
        model.start = {where[p]: 1.0 for p in start} | also_start
    solved = model.solve(*bounds, deadline, options, target)
    if solved is None:
        return None
    objective, solution, bound = solved
    chosen = [columns[p] for i, p in enumerate(positions.tolist()) if solution[fixed + i] > 0.5]
    return objective, chosen, bound


def _compact_mip(structure: Structure, pricing: Pricing, fixed: list[Column], free: np.ndarray,
                 deadline: float, options: SolveOptions, target: float = -math.inf
                 ) -> tuple[float, list[Column], float | None] | None:
    """Plan the `free` workloads over all their candidates (integer counts per candidate and
    period, a variant binary each: the MIP's own rows for them), the others held at their
    `fixed` patterns, pools and preparations free: (cost, columns, bound of this MIP)."""
    import highspy

    fleet = structure.fleet
    inf = highspy.kHighsInf
    upper = np.array(structure.rows.upper, dtype=float)
    constant = 0.0
    for column in fixed:
        constant += column.cost
        for row, value in zip(column.rows, column.values, strict=True):
            upper[row] -= value
    model = _SparseModel(len(upper))
    row_upper = list(upper)
    row_lower = [-inf] * len(upper)
    add_pools_and_preparations(model, structure)
    pair_number = {pair: position for position, pair in enumerate(pricing.pairs)}
    problems = pricing.problems
    blocks: list[tuple[int, list[tuple[int, int, np.ndarray]]]] = []
    for i in free.tolist():
        choices = [pair for pair in pricing.pairs if pair[0] == i]
        one = model.row(1.0, 1.0, row_lower, row_upper)  # one variant
        variables = []
        for pair in choices:
            number = pair_number[pair]
            rows, values = [one], [1.0]
            if pair in structure.prepare_rows:
                rows.append(structure.prepare_rows[pair][0])
                values.append(1.0)
            choice = model.column(0.0, 0.0, 1.0, True, rows, values)
            for j in range(number * fleet.periods, (number + 1) * fleet.periods):
                items = np.arange(problems.start[j], problems.start[j + 1])
                demand = model.row(0.0, inf, row_lower, row_upper) if problems.demand[j] > 0 \
                    else -1
                held = model.row(0.0, inf, row_lower, row_upper) if problems.replicas[j] > 0 \
                    else -1
                spot = model.row(-inf, FEASIBILITY, row_lower, row_upper) \
                    if (problems.item_spot[items] != 0).any() else -1
                if demand >= 0:
                    model.entry(demand, choice, -float(problems.demand[j]) + FEASIBILITY)
                if held >= 0:
                    model.entry(held, choice, -float(problems.replicas[j]))
                columns = []
                for item in items.tolist():
                    rows_here, values_here = _instance_entries(structure, pricing, item)
                    if demand >= 0:
                        rows_here.append(demand)
                        values_here.append(float(problems.item_demand[item]))
                    if held >= 0:
                        rows_here.append(held)
                        values_here.append(float(problems.item_replicas[item]))
                    if spot >= 0:
                        rows_here.append(spot)
                        values_here.append(float(problems.item_spot[item]))
                    link = model.row(-inf, 0.0, row_lower, row_upper)  # x <= upper x choice
                    model.entry(link, choice, -float(problems.upper[item]))
                    rows_here.append(link)
                    values_here.append(1.0)
                    columns.append(model.column(float(pricing.item_cost[item]), 0.0,
                                                float(problems.upper[item]), True, rows_here,
                                                values_here))
                variables.append((number, j, np.array(columns, dtype=np.int64)))
        blocks.append((i, variables))
    solved = model.solve(row_lower, row_upper, deadline, options, target - constant)
    if solved is None:
        return None
    objective, solution, bound = solved
    patterns_chosen = list(fixed)
    for _, variables in blocks:
        parts: dict[int, list[tuple[np.ndarray, np.ndarray]]] = defaultdict(list)
        for number, j, at in variables:
            counts = np.round(solution[at]).astype(np.int64)
            used = counts > 0
            items = np.arange(problems.start[j], problems.start[j + 1])
            parts[number].append((items[used], counts[used]))
        for number, per_period in parts.items():
            if any(len(items) for items, _ in per_period) or all(
                    problems.demand[j] <= 0 and problems.replicas[j] <= 0
                    for j in range(number * fleet.periods, (number + 1) * fleet.periods)):
                patterns_chosen.append(column_of(structure, pricing, number, per_period))
                break
    return constant + objective, patterns_chosen, None if bound is None else constant + bound


def add_pools_and_preparations(model: _SparseModel, structure: Structure) -> None:
    """The integer master's pool (integer) and preparation (binary) columns."""
    for number in range(len(structure.pool_offer)):
        rows, values = _pool_entries(structure, number)
        model.column(float(structure.pool_fee[number]), 0.0, float(structure.pool_upper[number]),
                     True, rows, values)
    for number in range(len(structure.prepare_keys)):
        rows, values = _prepare_entries(structure, number)
        model.column(float(structure.prepare_cost[number]),
                     1.0 if structure.prepare_forced[number] else 0.0, 1.0, True, rows, values)


def _instance_entries(structure: Structure, pricing: Pricing, item: int
                      ) -> tuple[list[int], list[float]]:
    """One instance of an item in the coupling rows (as in `column_of`)."""
    return candidate_entries(structure, int(pricing.candidate[item]), int(pricing.period[item]))


def candidate_entries(structure: Structure, k: int, period: int) -> tuple[list[int], list[float]]:
    """One instance of candidate k (position in the fleet) in `period`: its coupling rows."""
    fleet = structure.fleet
    rows: list[int] = []
    values: list[float] = []
    if fleet.committed[k]:
        rows.append(int(structure.pool_rows[structure.pool_of[k], period]))
        values.append(1.0)
    else:
        for q, per in enumerate(structure.quota_usage[fleet.offer[k]].tolist()):
            if per:
                rows.append(int(structure.quota_rows[q, period]))
                values.append(per)
    if structure.budget_row >= 0:
        rows.append(structure.budget_row)
        values.append(float(structure.true_cost[k] * fleet.weight[period]))
    return rows, values


class _SparseModel:
    """A MIP built column by column for HiGHS."""

    def __init__(self, rows: int, presolve: bool = True) -> None:
        self.rows = rows
        self.start: dict[int, float] = {}
        """Column values of a known plan (the others are completed by HiGHS)."""
        self.presolve = presolve
        """HiGHS presolve (probing over many pattern binaries costs more than it saves)."""
        self.cost: list[float] = []
        self.lower: list[float] = []
        self.upper: list[float] = []
        self.integer: list[bool] = []
        # the entries (row, column, value), kept flat: sorting a million tuples took seconds
        self.entry_rows: list[int] = []
        self.entry_columns: list[int] = []
        self.entry_values: list[float] = []

    def column(self, cost: float, lower: float, upper: float, integer: bool, rows: list[int],
               values: list[float]) -> int:
        number = len(self.cost)
        self.cost.append(cost)
        self.lower.append(lower)
        self.upper.append(upper)
        self.integer.append(integer)
        if len(rows) != len(values):
            raise ValueError(f"column {number}: {len(rows)} rows but {len(values)} values")
        self.entry_rows += rows
        self.entry_columns += [number] * len(rows)
        self.entry_values += values
        return number

    def row(self, lower: float, upper: float, row_lower: list[float], row_upper: list[float]
            ) -> int:
        row_lower.append(lower)
        row_upper.append(upper)
        self.rows += 1
        return self.rows - 1

    def entry(self, row: int, column: int, value: float) -> None:
        self.entry_rows.append(row)
        self.entry_columns.append(column)
        self.entry_values.append(value)

    @property
    def count(self) -> int:
        return len(self.cost)

    def solve(self, row_lower: list[float], row_upper: list[float], deadline: float,
              options: SolveOptions, target: float = -math.inf
              ) -> tuple[float, np.ndarray, float | None] | None:
        """Solve (to the requested gap, or until a plan costs at most `target`): (cost, values,
        proven bound), None without a plan."""
        import highspy

        if not self.cost:  # nothing to decide: feasible when every row holds at zero
            ok = all(lo <= 1e-9 and hi >= -1e-9 for lo, hi in zip(row_lower, row_upper, strict=True))
            return (0.0, np.zeros(0), 0.0) if ok else None
        highs = silent_highs(options.threads)
        # the caller's gap is against its own bound: stop by `target`, not HiGHS's gap
        highs.setOptionValue("mip_rel_gap", min(float(options.relative_gap), 1e-7))
        if not self.presolve:
            highs.setOptionValue("presolve", "off")
        inf = highspy.kHighsInf
        n = len(self.cost)
        highs.addVars(n, np.array(self.lower), np.where(np.isinf(self.upper), inf,
                                                         np.array(self.upper)))
        highs.changeColsCost(n, np.arange(n, dtype=np.int32), np.array(self.cost))
        integer = np.flatnonzero(self.integer).astype(np.int32)
        highs.changeColsIntegrality(len(integer), integer,
                                    np.full(len(integer), highspy.HighsVarType.kInteger))
        rows = np.array(self.entry_rows, dtype=np.int64)
        columns = np.array(self.entry_columns, dtype=np.int64)
        order = np.lexsort((columns, rows))
        rows = rows[order]
        starts = np.searchsorted(rows, np.arange(self.rows)).astype(np.int32)
        highs.addRows(self.rows, np.array(row_lower), np.array(row_upper), len(order), starts,
                      columns[order].astype(np.int32),
                      np.array(self.entry_values, dtype=float)[order])
        if math.isfinite(target):
            def enough(event: Any) -> None:
                if event.data_out.mip_primal_bound <= target:
                    event.interrupt()

            highs.cbMipInterrupt.subscribe(enough)
        if self.start:
            known = np.array(sorted(self.start), dtype=np.int32)
            highs.setSolution(len(known), known, np.array([self.start[c] for c in known.tolist()]))
        # from now: building the model (sorting its entries) took time of its own
        highs.setOptionValue("time_limit", max(0.05, deadline - time.perf_counter()))
        highs.run()
        info = highs.getInfo()
        if info.primal_solution_status != 2:
            return None
        bound = float(info.mip_dual_bound) if info.mip_dual_bound > -1e300 else None
        values = np.array(highs.getSolution().col_value)
        return float(np.dot(self.cost, values)), values, bound


def _complete(structure: Structure, pricing: Pricing, priced: Priced, slack: float,
              master: Master, deadline: float) -> int | None:
    """Add every pattern within `slack` of its workload's cheapest at the bound's duals: then
    the master MIP's optimum is the problem's. None when there would be too many. Lower
    bounds stand in for the optima pricing only bounded: that only lists more."""
    fleet = structure.fleet
    pair_workload = pricing.pair_workload
    # lower bounds, not the patterns found: pricing only bounds some optima (`price`)
    per_sub = np.full(pricing.problems.count, np.inf)
    per_sub[priced.patterns.subproblem] = priced.patterns.lower()
    pair_lower = np.bincount(pricing.pair_of, weights=per_sub,
                             minlength=len(pricing.pairs)) + priced.constant
    least = np.full(len(fleet.workloads), np.inf)
    np.minimum.at(least, pair_workload, pair_lower)
    room = slack - (pair_lower - least[pair_workload])  # what the periods may add, per pair
    room_here = room[pricing.pair_of]
    usable = np.isfinite(per_sub) & np.isfinite(room_here) & (room_here >= -1e-9)
    threshold = np.where(usable, np.where(usable, per_sub, 0.0) + np.where(usable, room_here, 0.0)
                         + 1e-9 * np.maximum(1.0, np.abs(np.where(usable, per_sub, 0.0))), -1.0)
    weights = item_weights(structure, pricing, priced.duals)
    found = search(pricing.problems, weights, "all", threshold=threshold,
                   deadline=deadline)
    if len(found.incomplete):
        return None
    by_sub: dict[int, list[tuple[float, int]]] = defaultdict(list)
    for position, (j, cost) in enumerate(zip(found.subproblem.tolist(), found.cost.tolist(),
                                             strict=True)):
        by_sub[j].append((cost - per_sub[j], position))
    columns = []
    for pair in np.flatnonzero(room >= -1e-9).tolist():
        subs = range(pair * fleet.periods, (pair + 1) * fleet.periods)
        combinations: list[tuple[float, list[int]]] = [(0.0, [])]
        for j in subs:
            choices = sorted(by_sub.get(j, []))
            combinations = [(spent + extra, [*chosen, position]) for spent, chosen in combinations
                            for extra, position in choices
                            if spent + extra <= room[pair] + 1e-9 * max(1.0, slack)]
            if len(combinations) > MAX_COMBINATIONS:
                return None
        columns += [column_of(structure, pricing, pair, [found.of(position) for position in positions])
                    for _, positions in combinations]
    return master.add_patterns(columns)


