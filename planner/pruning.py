"""Exact dominance pruning of candidates before the MIP.

Capacity and replicas are compared as the MIP's rows use them (`cap_at_need`): a demand row
counts an instance for at most the rate, so capacity beyond the workloads' peak rate is worth
nothing (unless a spot share counts it whole), and replicas beyond min_replicas neither.

Candidate A dominates B (same workload, same model and variant: the workload's choice in the
MIP) when swapping every busy instance of B for one of A keeps every constraint satisfied and
never costs more:
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
workload, model and variant that R2 can serve, R1 serves it with at least the capacity and replicas
(equal capacity if R1 is spot and the workload's spot share is capped), and
  * both committed pools: fee_1 <= fee_2 and busy-hour cost_1 <= cost_2, or else
    fee_1 + 730 x (busy-hour cost_1 - cost_2) < fee_2 (the new R1 pool is as large as the R2
    pool was, and each instance busy no more than 730 h a month; strictly, so that ties do
    not hang on rounding);
  * R1 hourly (on demand, spot), R2 a pool: 730 x hourly_1 <= fee_2 + 730 x busy-hour cost_2
    (an hourly instance costs nothing when idle, so it replaces a pool instance hour by hour);
  * R1 hourly, R2 hourly: hourly_1 <= hourly_2;
  * R1 uses no more of any quota; if R1 is spot, R2 is spot with at least R1's interruption
    rate; R2 holds no existing commitment.

Last, whole committed pools whose fee is more than their instances could save are dropped
(`unprofitable_pools`): giving up one instance costs at most, in each period, moving one busy
instance to the dearest of its workloads' hourly stand-ins.
Tests check that the optimum with and without pruning is the same.

Workloads that share their candidate profiles (`planner.enumeration`: one per model they may
run) and the same kind of spot limit have the same candidates in the same order, so both steps
work on one block of arrays per (profiles, spot limit) instead of one per workload: the
survivors are the same.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from planner.candidates import Candidate, CandidateSet
from planner.catalog import Catalog, Offer, PricingMode
from planner.formulation import existing_commitments, pool_key, window_periods
from planner.problem import AnyWorkload, BatchWorkload, OnlineWorkload, Problem
from planner.schema import HOURS_PER_MONTH

Resource = tuple[str, PricingMode]
COMPARISON_ELEMENTS = 8_000_000
"""Booleans per chunk when comparing every pair of resources over the slots."""
SAVINGS_TOLERANCE = 1e-9
"""Relative margin by which a pool's fee must exceed what it could save to be dropped."""
ISCLOSE_ATOL = 1e-8
"""`numpy.isclose`'s default absolute tolerance, used with rtol 1e-12 for equal capacity."""


def full_month_cost(candidate: Candidate) -> float:
    """One instance busy for a whole month: pool fee (committed) plus hourly usage."""
    fee = candidate.cost_usd_per_month if candidate.mode.committed else 0.0
    return fee + candidate.hourly_usage_cost * HOURS_PER_MONTH


class Resources:
    """The (offer, pricing mode) pairs candidates run on, numbered; with what one instance
    costs and counts against each quota."""

    def __init__(self, problem: Problem, catalog: Catalog) -> None:
        self.problem, self.catalog = problem, catalog
        self.number: dict[Resource, int] = {}
        self.offers: list[Offer] = []
        self.modes: list[PricingMode] = []
        self.monthly: list[float] = []
        self.hourly: list[float] = []
        self._usage: np.ndarray | None = None

    def add(self, offer: Offer, mode: PricingMode, monthly: float, hourly: float) -> int:
        key = pool_key(offer, mode)
        found = self.number.get(key)
        if found is None:
            found = self.number[key] = len(self.offers)
            self.offers.append(offer)
            self.modes.append(mode)
            self.monthly.append(monthly)
            self.hourly.append(hourly)
            self._usage = None
        return found

    def keys(self) -> list[Resource]:
        return list(self.number)

    @property
    def quota_usage(self) -> np.ndarray:
        """[resource, quota]: accelerators one instance counts."""
        if self._usage is None:
            self._usage = np.array(
                [[float(o.count) if q.covers(self.catalog, o.accelerator, o.provider, o.region)
                  else 0.0 for q in self.problem.quotas] for o in self.offers],
                dtype=float).reshape(len(self.offers), len(self.problem.quotas))
        return self._usage

    @property
    def held(self) -> np.ndarray:
        """Resources holding an existing commitment (whose instances are sunk)."""
        existing = existing_commitments(self.problem)
        return np.array([name in existing for name in self.keys()], dtype=bool)

    @property
    def committed(self) -> np.ndarray:
        return np.array([m.committed for m in self.modes], dtype=bool)

    @property
    def spot(self) -> np.ndarray:
        return np.array([m is PricingMode.spot for m in self.modes], dtype=bool)

    @property
    def full_month_cost(self) -> np.ndarray:
        """`full_month_cost` of one instance of each resource."""
        return np.where(self.committed, np.array(self.monthly), 0.0) + \
            np.array(self.hourly) * HOURS_PER_MONTH


@dataclass
class Block:
    """The candidates of the workloads that share them (same profile and spot limit), in
    enumeration order: member m's k-th candidate has index `starts[m] + k`, or
    `indices[k]` for a block of candidate objects (one member)."""

    starts: list[int]
    resource: np.ndarray
    """Number in `Resources` per candidate."""
    variant: np.ndarray
    """(model, variant) choice number per candidate (a block's own numbering)."""
    capacity: np.ndarray
    replicas: np.ndarray
    """Capacity and replicas per candidate (what the rows can use of them after `cap_at_need`)."""
    limited: bool
    """The workloads' max_spot_share is below 1."""
    batch: bool
    indices: np.ndarray | None = None
    members: list[str] = field(default_factory=list)
    """The workloads of the block, in the order of `starts`."""


def blocks_of(problem: Problem, catalog: Catalog, candidates: CandidateSet
              ) -> tuple[Resources, list[Block]]:
    """One block per (profiles, spot limit) from the arrays of `build_candidates`, else one
    per workload from the candidate objects; ordered by first member workload. Resources are
    numbered in order of first appearance."""
    resources = Resources(problem, catalog)
    table = candidates.table
    if table is None:
        return resources, [_block_of_objects(problem, resources, group)
                           for group in _by_workload(candidates)]
    context = table.context
    variants, modes = len(context.variants), len(context.modes)
    shares = {w.name: getattr(w, "max_spot_share", 1.0) for w in problem.workloads}
    found: dict[tuple[tuple[int, ...], bool], Block] = {}
    numbers: dict[int, np.ndarray] = {}
    number_of = np.full((len(context.offers), modes), -1, dtype=np.int64)  # [offer, mode]
    counts = np.array([o.count for o in context.offers], dtype=np.int64)
    for index, workload in enumerate(table.workloads):
        if not table.candidate_count[index]:
            continue
        profile_numbers = table.profiles_of[index]
        limited = shares[workload.name] < 1
        block = found.get((profile_numbers, limited))
        if block is None:
            parts: dict[str, list[np.ndarray]] = defaultdict(list)
            for model_number, profile_index in enumerate(profile_numbers):
                profile = table.profiles[profile_index]
                if profile_index not in numbers:
                    offer_at = profile.pair // variants
                    slot = offer_at * modes + profile.mode
                    _, first = np.unique(slot, return_index=True)
                    for k in np.sort(first).tolist():  # in order of first appearance
                        o, m = int(offer_at[k]), int(profile.mode[k])
                        if number_of[o, m] < 0:
                            number_of[o, m] = resources.add(
                                context.offers[o], context.modes[m],
                                float(profile.cost_usd_per_month[k]),
                                float(profile.usage_usd_per_hour[k] + profile.carbon_usd_per_hour[k]))
                    numbers[profile_index] = number_of[offer_at, profile.mode]
                parts["resource"].append(numbers[profile_index])
                parts["choice"].append(model_number * variants + profile.pair % variants)
                parts["capacity"].append(profile.capacity_rps)
                parts["replicas"].append(counts[profile.pair // variants]
                                         // profile.shape.grid.tensor_parallel[profile.row])
            block = found[(profile_numbers, limited)] = Block(
                [], np.concatenate(parts["resource"]), np.concatenate(parts["choice"]),
                np.concatenate(parts["capacity"]), np.concatenate(parts["replicas"]),
                limited, isinstance(workload, BatchWorkload))
        block.starts.append(int(table.candidate_start[index]))
        block.members.append(workload.name)
    return resources, list(found.values())


def _by_workload(candidates: CandidateSet) -> list[list[Candidate]]:
    groups: dict[str, list[Candidate]] = defaultdict(list)
    for candidate in candidates.candidates:
        groups[candidate.workload].append(candidate)
    return list(groups.values())


def _block_of_objects(problem: Problem, resources: Resources, group: Sequence[Candidate]) -> Block:
    workload = next(w for w in problem.workloads if w.name == group[0].workload)
    variants: dict[tuple[str, str], int] = {}
    return Block(
        [0], np.array([resources.add(c.config.offer, c.mode, c.cost_usd_per_month, c.hourly_usage_cost)
                       for c in group], dtype=np.int64),
        np.array([variants.setdefault(c.config.choice, len(variants)) for c in group]),
        np.array([c.capacity_rps for c in group]),
        np.array([c.config.replicas_per_instance for c in group]),
        getattr(workload, "max_spot_share", 1.0) < 1, isinstance(workload, BatchWorkload),
        np.array([c.index for c in group], dtype=np.int64), [workload.name])


def cap_at_need(problem: Problem, blocks: list[Block]) -> None:
    """Cap each block's capacity and replicas at what the MIP's rows can use of them.

    A demand row counts an instance for at most the rate (`formulation.add_online_rows`) and a
    replica row needs no more than min_replicas, so beyond the members' peak rate and largest
    min_replicas, more is not better. Capacity stays whole where a spot share counts it and for
    batch jobs (a daily total, not a rate); batch jobs have no replica rows."""
    workloads = {w.name: w for w in problem.workloads}
    for block in blocks:
        members = [workloads[name] for name in block.members]
        if block.batch:
            block.replicas = np.zeros_like(block.replicas)
            continue
        online = [w for w in members if isinstance(w, OnlineWorkload)]
        block.replicas = np.minimum(block.replicas, max(w.min_replicas for w in online))
        if not block.limited:
            block.capacity = np.minimum(block.capacity, max(w.peak_rps for w in online))


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


def _dominated_resources(problem: Problem, resources: Resources, blocks: list[Block]
                         ) -> np.ndarray:
    """gone[r]: every instance of resource r can be swapped for one of another resource."""
    count = len(resources.offers)
    if count < 2:
        return np.zeros(count, dtype=bool)
    slot_of = []  # per block: variant number -> slot (a column)
    slots = 0
    for block in blocks:
        variants = np.unique(block.variant)
        lookup = np.full(int(variants.max()) + 1, -1, dtype=np.int64)
        lookup[variants] = slots + np.arange(len(variants))
        slot_of.append(lookup)
        slots += len(variants)
    capacity = np.full((count, slots), -1.0)
    replicas = np.zeros((count, slots))
    limited = np.zeros(slots, dtype=bool)
    for block, lookup in zip(blocks, slot_of, strict=True):
        columns = lookup[block.variant]
        capacity[block.resource, columns] = block.capacity
        replicas[block.resource, columns] = block.replicas
        limited[columns] = block.limited
    fee = np.where(resources.committed, np.array(resources.monthly), 0.0)
    hourly = np.array(resources.hourly)
    committed, spot, usage = resources.committed, resources.spot, resources.quota_usage
    protected = resources.held
    month = HOURS_PER_MONTH
    # dominates[a, b]: every instance of resource b can be swapped for one of a
    cheaper = np.where(
        committed[:, None],
        committed[None, :] & (((fee[:, None] <= fee[None, :]) & (hourly[:, None] <= hourly[None, :]))
                              | (fee[:, None] + month * np.maximum(hourly[:, None] - hourly[None, :], 0)
                                 < fee[None, :] * (1 - SAVINGS_TOLERANCE))),
        np.where(committed[None, :], month * hourly[:, None] <= fee[None, :] + month * hourly[None, :],
                 hourly[:, None] <= hourly[None, :]))
    quota_ok = np.all(usage[:, None, :] <= usage[None, :, :], axis=2)
    # identical slots decide nothing new: keep one of each (capacity, replicas, spot limit)
    distinct = np.unique(np.vstack([capacity, replicas, limited[None, :]]), axis=1)
    capacity, replicas, limited = distinct[:count], distinct[count:-1], distinct[-1].astype(bool)
    serves = (capacity >= 0).astype(np.float32)
    unserved = (1 - serves) @ serves.T  # [a, b]: slots b serves and a does not (exact counts)
    possible = cheaper & quota_ok & ~protected[None, :] & (~spot[:, None] | spot[None, :]) \
        & (unserved < 0.5)
    np.fill_diagonal(possible, False)
    first, second = np.nonzero(possible)  # only these pairs need the slots compared
    covers, same_spot, more_capacity = _compare_capacity(capacity, replicas, limited, first, second)
    better = (fee[first] < fee[second]) | (hourly[first] < hourly[second]) \
        | np.any(usage[first] < usage[second], axis=1) | (~spot[first] & spot[second]) \
        | (committed[second] & ~committed[first]) | more_capacity
    dominates = covers & (~spot[first] | same_spot) & (better | (first < second))
    gone = np.zeros(count, dtype=bool)
    gone[second[dominates]] = True
    return gone


def _compare_capacity(capacity: np.ndarray, replicas: np.ndarray, limited: np.ndarray,
                      first: np.ndarray, second: np.ndarray
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Over every slot (workload and variant), for resource pairs a = first[i], b = second[i]:
    covers: wherever b serves, a serves with at least b's capacity and replicas;
    same_spot: wherever b serves a spot-limited slot, a has b's capacity (`numpy.isclose`);
    more_capacity: somewhere b serves, a has more capacity.
    Capacity is -1 where a resource does not serve a slot (replicas 0)."""
    covers = np.empty(len(first), dtype=bool)
    same_spot = np.empty(len(first), dtype=bool)
    more_capacity = np.empty(len(first), dtype=bool)
    serves = capacity >= 0
    beyond = np.where(serves, capacity * (1 + 1e-12), np.inf)
    chunk = max(1, COMPARISON_ELEMENTS // max(1, capacity.shape[1]))
    for start in range(0, len(first), chunk):
        a, b = first[start:start + chunk], second[start:start + chunk]
        # capacity >= 0 where serving: a >= b also says a serves wherever b does
        covers[start:start + chunk] = np.all(capacity[a] >= capacity[b], axis=1) \
            & np.all(replicas[a] >= replicas[b], axis=1)
        more_capacity[start:start + chunk] = np.any(capacity[a] > beyond[b], axis=1)
        spot_a, spot_b = capacity[a][:, limited], capacity[b][:, limited]
        close = np.abs(spot_a - spot_b) <= ISCLOSE_ATOL + 1e-12 * np.abs(spot_b)
        same_spot[start:start + chunk] = np.all(~serves[b][:, limited] | close, axis=1)
    return covers, same_spot, more_capacity


def kept_in_block(problem: Problem, resources: Resources, block: Block, gone: np.ndarray,
                  exempt: np.ndarray) -> np.ndarray:
    """Positions (within the block) of the candidates no other candidate dominates; `exempt`
    resources (shared committed pools) are always kept."""
    alive = ~gone[block.resource]
    free = exempt[block.resource]
    keep = alive & free
    full_month = resources.full_month_cost
    spot_resource = resources.spot
    for v in np.unique(block.variant).tolist():
        at = np.flatnonzero(alive & ~free & (block.variant == v))
        if not at.size:
            continue
        resource = block.resource[at]
        cost, capacity, replicas = full_month[resource], block.capacity[at], block.replicas[at]
        spot = spot_resource[resource] & block.limited
        usage = resources.quota_usage[resource]
        if block.batch:  # instance-hours: compare per unit of capacity
            cost, usage = cost / capacity, usage / capacity[:, None]
            capacity, replicas = np.ones(len(at)), np.zeros(len(at))
        keep[at[~_dominated(cost, capacity, replicas, spot, usage)]] = True
    return np.flatnonzero(keep)


def exempt_resources(problem: Problem, resources: Resources) -> np.ndarray:
    """Committed pools whose cost depends on who else uses them, and when: with more than one
    period, or holding an existing commitment."""
    return resources.committed & ((problem.periods > 1) | resources.held)


def unprofitable_pools(problem: Problem, resources: Resources, blocks: list[Block],
                       kept: list[np.ndarray]) -> np.ndarray:
    """gone[r]: committed pool r (holding no existing commitment) whose fee is more than its
    instances could ever save, so that no optimal plan buys one.

    Take a plan with a new instance of r and give it up. In each period in which the pool was
    full, one of its busy instances (or one instance-hour of a batch job) moves to a stand-in:
    an hourly candidate (`kept[b]` positions of block b) of the same workload and choice that
    does as much on every row (`_stand_in_cost`). That costs at most the dearest such move in
    the period; if the moves of all periods together cost less than the fee, the plan was not
    optimal. A workload in the pool without a stand-in keeps the pool."""
    count = len(resources.offers)
    candidates = resources.committed & ~resources.held
    if not candidates.any():
        return np.zeros(count, dtype=bool)
    periods = problem.periods
    worst = np.zeros((count, periods))  # [pool, period]: the dearest move
    workloads = {w.name: w for w in problem.workloads}
    for block, positions in zip(blocks, kept, strict=True):
        pools = positions[candidates[block.resource[positions]]]
        if not pools.size:
            continue
        hourly = positions[~resources.committed[block.resource[positions]]]
        for name in block.members:
            moves = _stand_in_cost(problem, resources, block, workloads[name], pools, hourly)
            np.maximum.at(worst, block.resource[pools], moves)
    savings = worst.sum(axis=1) * (HOURS_PER_MONTH / periods)
    fee = np.array(resources.monthly)
    return candidates & (fee > savings * (1 + SAVINGS_TOLERANCE) + SAVINGS_TOLERANCE)


def _stand_in_cost(problem: Problem, resources: Resources, block: Block,
                   workload: AnyWorkload, pools: np.ndarray, hourly: np.ndarray) -> np.ndarray:
    """[pool position, period]: per hour, the least extra cost of moving one instance of the
    pool candidate (online) or one instance-hour (batch) of `workload` to an hourly candidate
    of its choice that covers the same demand, replicas and spot share with no more of any
    quota than the pool instance freed; 0 in periods the candidate is idle, inf without one."""
    periods = problem.periods
    cost = np.zeros((len(pools), periods))
    active = _active_periods(workload, periods)
    if not active.any():
        return cost
    limited = block.limited
    pool_resource, stand_in = block.resource[pools], block.resource[hourly]
    usage = resources.quota_usage
    price = np.array(resources.hourly)
    spot = resources.spot[stand_in]
    same_choice = block.variant[pools][:, None] == block.variant[hourly][None, :]
    capacity_p, capacity_h = block.capacity[pools][:, None], block.capacity[hourly][None, :]
    if isinstance(workload, BatchWorkload):
        hours_needed = capacity_p / capacity_h  # stand-in hours per pool instance-hour
        fits = same_choice & np.all(
            usage[stand_in][None, :, :] * hours_needed[:, :, None] <= usage[pool_resource][:, None, :],
            axis=2)
        if limited:  # more stand-in hours keep the job's spot share
            fits &= ~spot[None, :] & (capacity_h <= capacity_p)
        extra = price[stand_in][None, :] * hours_needed - price[pool_resource][:, None]
        best = np.where(fits, extra, np.inf).min(axis=1, initial=np.inf)
        cost[:, active] = np.maximum(best, 0.0)[:, None]
        return cost
    assert isinstance(workload, OnlineWorkload)
    replicas = workload.min_replicas
    fits = same_choice & np.all(usage[stand_in][None, :, :] <= usage[pool_resource][:, None, :],
                                axis=2) \
        & (np.minimum(block.replicas[hourly], replicas)[None, :]
           >= np.minimum(block.replicas[pools], replicas)[:, None])
    if limited:  # the spot share counts whole capacity
        fits &= ~spot[None, :] & (capacity_h >= capacity_p)
    extra = price[stand_in][None, :] - price[pool_resource][:, None]
    rates = np.array(workload.rates(periods))
    for rate in np.unique(rates[active]).tolist():
        covers = fits if limited else fits & (capacity_h >= np.minimum(capacity_p, rate))
        best = np.where(covers, extra, np.inf).min(axis=1, initial=np.inf)
        cost[:, active & (rates == rate)] = np.maximum(best, 0.0)[:, None]
    return cost


def _active_periods(workload: AnyWorkload, periods: int) -> np.ndarray:
    """Periods in which the workload has columns in the MIP (see `formulation.add_use`)."""
    if isinstance(workload, BatchWorkload):
        active = np.zeros(periods, dtype=bool)
        active[window_periods(workload, periods)] = True
        return active
    assert isinstance(workload, OnlineWorkload)
    rates = np.array(workload.rates(periods))
    return (rates > 0) | (workload.min_replicas > 0)


def surviving(problem: Problem, catalog: Catalog, candidates: CandidateSet) -> tuple[int, ...]:
    """Indices of the candidates that no other candidate dominates."""
    resources, blocks = blocks_of(problem, catalog, candidates)
    cap_at_need(problem, blocks)
    gone = _dominated_resources(problem, resources, blocks)
    exempt = exempt_resources(problem, resources)
    kept = [kept_in_block(problem, resources, block, gone, exempt) for block in blocks]
    unprofitable = unprofitable_pools(problem, resources, blocks, kept)
    keep: list[np.ndarray] = []
    for block, positions in zip(blocks, kept, strict=True):
        positions = positions[~unprofitable[block.resource[positions]]]
        if block.indices is not None:
            keep.append(block.indices[positions])
        else:
            keep += [start + positions for start in block.starts]
    if not keep:
        return ()
    return tuple(np.sort(np.concatenate(keep)).tolist())
