"""Exact solution of many small covering problems at once: one workload's instance counts in
one period for one model variant (the pricing problem of `planner.decompose`).

Subproblem j chooses integer counts 0 <= x_k <= upper_k of its items k to

    minimise    sum_k weight_k x_k                       (weights >= 0)
    subject to  sum_k demand_k x_k   >= demand_j          (capacity covers the request rate)
                sum_k replicas_k x_k >= replicas_j        (min_replicas)
                sum_k spot_k x_k     <= 0                 (spot share; 0 coefficients when free)

which is what the MIP's `demand`, `min_replicas` and `spot_share` rows ask of one workload in
one period. The search is a branch and bound over the items in order of cost per unit of
capacity on partial count vectors ("states"): a state is dropped when a lower bound on any
completion (the remaining demand and replicas at the cheapest remaining rate) cannot beat the
best pattern found (mode "best") or exceeds the subproblem's threshold (mode "all"), or when
the remaining items cannot complete it. A state that meets every row is a pattern and is not
extended: with non-negative weights, adding instances never helps any row of the MIP a
pattern is judged by.

Mode "all" lists every such pattern within the threshold, so a pattern that is cheapest for
some other weights, or part of a better plan under coupled limits, is not missed (see
`planner.decompose`); it runs for every subproblem at once, one item per step, on numpy
arrays of states. Mode "best" runs depth first, one subproblem at a time, compiled
(`planner.cheapest`, with the bounds prepared here), and may be given a ceiling per
subproblem: above it only a lower bound is wanted (the search stops there), which is what
column generation needs of a variant that cannot price out.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

import numpy as np

from planner.backends.highs import silent_highs

FEASIBILITY = 1e-9
"""Absolute slack allowed on the demand and spot rows (the MIP's tolerance is larger)."""
STATE_BUDGET = 400_000
"""Partial patterns one subproblem may have open at once (mode "all") before the search hands
it back to the caller as incomplete."""
SMALL_MIP_GAP = 1e-5
"""Relative gap of the small MIP that settles a subproblem the depth-first search gave up on;
its bound stands in for the optimum (the Lagrangian bound adds bounds). Proving gap 0 is
slow on near-equal items: one hourly subproblem of 17 items (37 req/s over instances of
0.18-3.7 req/s) took HiGHS 3.3 s and 18,000 nodes at gap 0, 0.7 s at 1e-6 (the optimum, bound
1.6e-6 below it), 0.06 s at 1e-5; two such made 8 of the 20 s of column generation on 100
workloads x 24 h."""
TOTAL_BUDGET = 50_000_000
"""Partial patterns mode "all" may process in all before the rest is incomplete."""
BEST_NODES = 50_000
"""Partial patterns mode "best" may try for one subproblem (depth first: `planner.cheapest`)
before a small MIP settles it (or, when not exact, its best so far stands with the root
bound). Most subproblems need far fewer; those that do not (hundreds of instances of
near-equal items, at thousands of requests/s) are settled faster by the MIP: at 1,000,000
nodes, 12 such hourly workloads took 21 s of search."""


@dataclass(frozen=True)
class Subproblems:
    """Items of all subproblems, grouped: subproblem j owns items `start[j]:start[j + 1]`."""

    start: np.ndarray
    demand: np.ndarray
    """Per subproblem: the request rate to cover (0: none)."""
    replicas: np.ndarray
    """Per subproblem: replicas to hold."""
    item_demand: np.ndarray
    """Per item: what one instance counts towards demand (its capacity, at most the rate)."""
    item_replicas: np.ndarray
    item_spot: np.ndarray
    """Per item: its coefficient in the spot-share row (0 when the workload allows any spot)."""
    upper: np.ndarray
    """Per item: largest count."""

    @property
    def count(self) -> int:
        return len(self.demand)

    def owner(self) -> np.ndarray:
        return np.repeat(np.arange(self.count), np.diff(self.start))


@dataclass(frozen=True)
class Patterns:
    """Patterns found: pattern i belongs to subproblem `subproblem[i]`, costs `cost[i]` (at
    the weights searched with) and has `counts[start[i]:start[i + 1]]` instances of items
    `items[...]` (global item numbers)."""

    subproblem: np.ndarray
    cost: np.ndarray
    start: np.ndarray
    items: np.ndarray
    counts: np.ndarray
    incomplete: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    """Subproblems the search gave up on (`STATE_BUDGET`): mode "all", not all their patterns
    are listed; mode "best", their pattern may not be the cheapest."""
    bound: np.ndarray | None = None
    """Per pattern: a lower bound on its subproblem's optimum (None: each cost is the optimum)."""

    def lower(self) -> np.ndarray:
        return self.cost if self.bound is None else self.bound

    def __len__(self) -> int:
        return len(self.subproblem)

    def of(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        part = slice(int(self.start[i]), int(self.start[i + 1]))
        return self.items[part], self.counts[part]


def search(problems: Subproblems, weight: np.ndarray, mode: str,
           threshold: np.ndarray | None = None, incumbent: Patterns | None = None,
           exact: bool = True, keep: np.ndarray | None = None,
           floor: np.ndarray | None = None, deadline: float | None = None,
           budget: int = TOTAL_BUDGET, ceiling: np.ndarray | None = None) -> Patterns:
    """mode "best": one cheapest pattern per subproblem that has one. `incumbent` patterns
    (optional, at most one per subproblem, e.g. an earlier round's) bound each optimum from
    above. Without `exact`, a subproblem with too many partial patterns keeps the best pattern
    known (found so far, or its incumbent) with its root bound as `Patterns.bound`, instead of
    being solved as a small MIP. mode "all": every pattern costing at most `threshold[j]` (see
    `Patterns.incomplete`). `keep` (mode "best"): the items `undominated_items` keeps, when
    known; `floor`: known lower bounds on the optima (mode "best"); `deadline`
    (`time.perf_counter()`): past it, mode "all" leaves what is left incomplete, and mode
    "best" solves no more small MIPs (as without `exact`) but for a subproblem with no
    pattern found at all, which must have its optimum; `budget` (mode
    "all"): partial patterns it may process in all, likewise; `ceiling` (mode "best"): no
    need to know an optimum above it: a subproblem with an incumbent and no pattern within
    its ceiling keeps the incumbent, with the ceiling as its bound (a much smaller search
    when the ceiling is below the incumbent)."""
    if mode not in ("best", "all"):
        raise ValueError(f"unknown mode {mode}")
    weight = np.maximum(weight, 0.0)
    n = problems.count
    limit = np.full(n, np.inf) if threshold is None else threshold.astype(float).copy()
    if mode == "all":
        return _Prepared(problems, weight).run(limit, deadline, budget)
    known = np.full(n, np.inf)
    if incumbent is not None and len(incumbent):
        incumbent = replace(incumbent, cost=priced_costs(incumbent, weight), bound=None)
        known[incumbent.subproblem] = incumbent.cost
    capped = np.zeros(n, dtype=bool)
    if ceiling is not None:  # only where there is an incumbent to fall back on
        capped = np.isfinite(known) & (ceiling < np.minimum(limit, known))
        limit = np.where(capped, ceiling, limit)
    if keep is None:
        keep = undominated_items(problems, weight)
    if keep.all():
        found, unsettled, root = _best(problems, weight, limit, known, exact, floor, deadline)
    else:
        reduced, original = _without(problems, keep)  # without the dominated items
        found, unsettled, root = _best(reduced, weight[original], limit, known, exact, floor,
                                       deadline)
        found = replace(found, items=original[found.items])
    parts = [found]
    capped[found.subproblem] = False
    capped[unsettled] = False
    if capped.any() and incumbent is not None:  # none within the ceiling: the incumbent
        mine = select(incumbent, capped[incumbent.subproblem])
        at = mine.subproblem
        parts.append(replace(mine, bound=np.minimum(np.maximum(root[at], limit[at]), mine.cost)))
    if not len(unsettled):
        return _concatenate(parts) if len(parts) > 1 else found
    fallback = np.zeros(n, dtype=bool)
    fallback[unsettled] = True
    if incumbent is not None and len(incumbent):  # the incumbent, bounded by the root
        known_here = select(incumbent, fallback[incumbent.subproblem])
        parts.append(replace(known_here, bound=np.minimum(root[known_here.subproblem],
                                                          known_here.cost)))
        fallback[known_here.subproblem] = False
    if not exact or past(deadline):  # else the cheapest one-item pattern, bounded by the root
        _, singles = single_item_patterns(problems, weight)
        mine = select(singles, fallback[singles.subproblem])
        parts.append(replace(mine, bound=np.minimum(root[mine.subproblem], mine.cost)))
        fallback[mine.subproblem] = False
    # no pattern found, not even of one item: only its optimum says what it costs
    parts += [_mip_best(problems, weight, j, limit) for j in np.flatnonzero(fallback).tolist()]
    return _concatenate(parts)


def priced_costs(patterns: Patterns, weight: np.ndarray) -> np.ndarray:
    """Each pattern's cost at these item weights."""
    owner = np.repeat(np.arange(len(patterns)), np.diff(patterns.start))
    return np.bincount(owner, weights=weight[patterns.items] * patterns.counts,
                       minlength=len(patterns))


def _best(problems: Subproblems, weight: np.ndarray, limit: np.ndarray, known: np.ndarray,
          exact: bool, floor: np.ndarray | None = None, deadline: float | None = None
          ) -> tuple[Patterns, np.ndarray, np.ndarray]:
    """Mode "best" (see `search`), depth first per subproblem (`planner.cheapest`): the
    patterns, the subproblems given up without a pattern when not `exact` or past the
    `deadline` (for the caller to settle), and every subproblem's lower bound (the root
    bound, or `floor` when higher)."""
    from planner.cheapest import cheapest  # compiled: loaded only when a search runs

    prepared = _Prepared(problems, weight)
    n = problems.count
    known = np.minimum(known, single_item_cost(problems, weight))
    lowest = np.full(n, -np.inf)
    if floor is not None:
        lowest = np.minimum(floor, known)
        prepared.root_bound = np.maximum(prepared.root_bound, lowest)
    within = np.minimum(limit, np.where(np.isfinite(known), known * (1 + 1e-12) + 1e-9, np.inf))
    cost, counts, given_up = cheapest(prepared, within, lowest, BEST_NODES)
    found: list[Patterns] = []
    solved = np.zeros(n, dtype=bool)
    if exact:  # a small MIP for each subproblem given up, while there is time
        for j in np.flatnonzero(given_up).tolist():
            if past(deadline):
                break
            found.append(_mip_best(problems, weight, j, limit))
            solved[j] = True
    # the others given up keep their best so far, bounded by the root; none: the caller's
    kept = np.isfinite(cost) & ~solved
    found.append(_from_counts(prepared, cost, counts, kept,
                              np.where(given_up, np.minimum(prepared.root_bound, cost), cost)))
    return _concatenate(found), np.flatnonzero(given_up & ~solved & ~kept), prepared.root_bound


def past(deadline: float | None) -> bool:
    """Whether a deadline (`time.perf_counter()`; None: none) has passed."""
    return deadline is not None and time.perf_counter() > deadline


def _from_counts(prepared: _Prepared, cost: np.ndarray, counts: np.ndarray, chosen: np.ndarray,
                 bound: np.ndarray) -> Patterns:
    """The patterns of the `chosen` subproblems from their counts per sorted item."""
    owner = prepared.problems.owner()
    used = np.flatnonzero((counts > 0) & chosen[owner])
    subproblems = np.flatnonzero(chosen)
    sizes = np.bincount(owner[used], minlength=prepared.problems.count)[subproblems]
    return Patterns(subproblems, cost[subproblems],
                    np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64),
                    prepared.order[used], counts[used], np.zeros(0, dtype=np.int64),
                    bound[subproblems])


DOMINATORS = 6
"""Items per subproblem tried as the one that makes others unnecessary (the largest)."""


@dataclass(frozen=True)
class Dominance:
    """Pairs (a, b) of items of one subproblem where b would make a unnecessary at any weights
    with w_b <= w_a (see `undominated_items`): what does not depend on the weights."""

    first: np.ndarray
    """a."""
    second: np.ndarray
    """b."""
    strict: np.ndarray
    """b is better than a in demand, replicas or spot, or comes first (ties)."""

    @classmethod
    def of(cls, problems: Subproblems) -> Dominance:
        owner = problems.owner()
        sizes = np.diff(problems.start)
        need = problems.demand[owner]
        with np.errstate(divide="ignore", invalid="ignore"):
            needed = np.maximum.reduce([
                np.where(need > FEASIBILITY, np.ceil(need / problems.item_demand - 1e-9), 0.0),
                np.where(problems.replicas[owner] > 0,
                         np.ceil(problems.replicas[owner] / problems.item_replicas), 0.0),
                np.ones(len(owner))])
        alone = np.isfinite(needed) & (problems.upper >= needed) & (problems.item_spot <= 0)
        # b: an item that could stand alone; a: every item of its subproblem
        standing = np.flatnonzero(alone)
        # the few largest of them per subproblem do nearly all the work (fewer pairs only
        # keep more items: never wrong)
        order = np.lexsort((-problems.item_demand[standing], owner[standing]))
        standing = standing[order]
        first = np.searchsorted(owner[standing], owner[standing])
        standing = np.sort(standing[np.arange(len(standing)) - first < DOMINATORS])
        count = sizes[owner[standing]]
        b = np.repeat(standing, count)
        a = np.repeat(problems.start[:-1][owner[standing]], count) \
            + np.arange(int(count.sum())) - np.repeat(np.cumsum(count) - count, count)
        d, r, sp = problems.item_demand, problems.item_replicas, problems.item_spot
        usable = (d[b] >= d[a]) & (r[b] >= r[a]) & (sp[b] <= np.minimum(sp[a], 0.0)) & (a != b)
        a, b = a[usable], b[usable]
        strict = (d[b] > d[a]) | (r[b] > r[a]) | (sp[b] < sp[a]) | (b < a)
        return cls(a, b, strict)

    def undominated(self, weight: np.ndarray) -> np.ndarray:
        no_worse = weight[self.second] <= weight[self.first]
        better = self.strict | (weight[self.second] < weight[self.first])
        dominated = np.zeros(len(weight), dtype=bool)
        dominated[self.first[no_worse & better]] = True
        return ~dominated


def undominated_items(problems: Subproblems, weight: np.ndarray) -> np.ndarray:
    """Items some cheapest pattern may need. Item b makes item a unnecessary when b costs no
    more, covers at least as much demand and as many replicas, is not spot (or spot is free),
    and b alone at its upper count meets the subproblem: then in a cheapest pattern every
    instance of a can become one of b, or, past b's upper count, b alone does it for less.
    Ties go to the first item."""
    return Dominance.of(problems).undominated(weight)


def restrict(problems: Subproblems, chosen: np.ndarray) -> tuple[Subproblems, np.ndarray]:
    """The `chosen` subproblems (ascending) on their own, and each of their items' original
    number."""
    sizes = np.diff(problems.start)[chosen]
    original = ranges(problems.start[chosen], sizes)
    start = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    return Subproblems(start, problems.demand[chosen], problems.replicas[chosen],
                       problems.item_demand[original], problems.item_replicas[original],
                       problems.item_spot[original], problems.upper[original]), original


def ranges(first: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """first[0], first[0] + 1, ..., first[0] + sizes[0] - 1, first[1], ...: the positions of
    these runs, one after the other."""
    return np.repeat(first, sizes) + np.arange(int(sizes.sum())) - np.repeat(
        np.cumsum(sizes) - sizes, sizes)


def select(patterns: Patterns, keep: np.ndarray) -> Patterns:
    """The patterns i with keep[i]."""
    chosen = np.flatnonzero(keep)
    sizes = np.diff(patterns.start)[chosen]
    at = ranges(patterns.start[chosen], sizes)
    return Patterns(patterns.subproblem[chosen], patterns.cost[chosen],
                    np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64), patterns.items[at],
                    patterns.counts[at], np.zeros(0, dtype=np.int64),
                    None if patterns.bound is None else patterns.bound[chosen])


def concatenate(parts: list[Patterns]) -> Patterns:
    return _concatenate(parts)


def _without(problems: Subproblems, keep: np.ndarray) -> tuple[Subproblems, np.ndarray]:
    """The subproblems with only the kept items, and each kept item's original number.
    Subproblem j starts where the items kept before `start[j]` end: a running count, not a
    `reduceat` at `start`, which fails on a trailing subproblem without items (its start is
    past the last item; e.g. an idle hour of a workload without replicas to hold)."""
    original = np.flatnonzero(keep)
    kept_before = np.concatenate([[0], np.cumsum(keep, dtype=np.int64)])
    start = kept_before[problems.start].astype(np.int64)
    return Subproblems(start, problems.demand, problems.replicas, problems.item_demand[original],
                       problems.item_replicas[original], problems.item_spot[original],
                       problems.upper[original]), original


def _mip_best(problems: Subproblems, weight: np.ndarray, j: int, limit: np.ndarray) -> Patterns:
    """One subproblem as an integer program (HiGHS, to `SMALL_MIP_GAP`): a pattern within
    the limit, if any, at most that far from the cheapest, with the MIP's bound."""
    import highspy

    first, stop = int(problems.start[j]), int(problems.start[j + 1])
    k = stop - first
    highs = silent_highs()
    highs.setOptionValue("mip_rel_gap", SMALL_MIP_GAP)
    highs.setOptionValue("mip_abs_gap", 0.0)
    inf = highspy.kHighsInf
    columns = np.arange(k, dtype=np.int32)
    highs.addVars(k, np.zeros(k), problems.upper[first:stop].astype(float))
    highs.changeColsCost(k, columns, weight[first:stop].astype(float))
    highs.changeColsIntegrality(k, columns, np.full(k, highspy.HighsVarType.kInteger))
    highs.addRow(float(problems.demand[j]) - FEASIBILITY, inf, k, columns,
                 problems.item_demand[first:stop].astype(float))
    highs.addRow(float(problems.replicas[j]), inf, k, columns,
                 problems.item_replicas[first:stop].astype(float))
    highs.addRow(-inf, FEASIBILITY, k, columns, problems.item_spot[first:stop].astype(float))
    highs.run()
    values = np.round(np.array(highs.getSolution().col_value)).astype(np.int64)
    cost = float(values @ weight[first:stop])
    if highs.getInfo().primal_solution_status != 2 or cost > limit[j] * (1 + 1e-9) + 1e-9:
        return _concatenate([])
    used = np.flatnonzero(values > 0)
    bound = min(cost, float(highs.getInfo().mip_dual_bound))
    return Patterns(np.array([j], dtype=np.int64), np.array([cost]),
                    np.array([0, len(used)], dtype=np.int64), first + used, values[used],
                    bound=np.array([bound]))


class _Prepared:
    """Items sorted per subproblem by cost per unit of demand, with what the items from each
    position on can give (`_Ahead`)."""

    def __init__(self, problems: Subproblems, weight: np.ndarray) -> None:
        self.problems, self.weight = problems, weight
        owner = problems.owner()
        self.sizes = np.diff(problems.start)
        ratio = np.where(problems.item_demand > 0,
                         weight / np.maximum(problems.item_demand, 1e-300), np.inf)
        order = np.lexsort((weight, ratio, owner))
        self.order = order
        demand_unit = self.demand_unit = problems.item_demand[order]
        replica_unit = self.replica_unit = problems.item_replicas[order].astype(float)
        spot_unit = self.spot_unit = problems.item_spot[order]
        upper = self.upper = problems.upper[order].astype(np.int64)
        unit_weight = self.unit_weight = weight[order]
        rates_d = np.where(demand_unit > 0, unit_weight / np.maximum(demand_unit, 1e-300), np.inf)
        rates_r = np.where(replica_unit > 0, unit_weight / np.maximum(replica_unit, 1e-300),
                           np.inf)
        # the spot row, priced into the demand rate at a multiplier per subproblem
        # (Lagrangian): without it the bound lets cheap spot cover all demand, which the share
        # forbids
        multiplier = _spot_multiplier(problems, unit_weight, demand_unit, spot_unit)
        priced = unit_weight + multiplier[owner] * spot_unit  # >= 0 by the multiplier's choice
        rates_priced = np.where(demand_unit > 0, priced / np.maximum(demand_unit, 1e-300), np.inf)
        rates_spot = np.where(spot_unit < 0, unit_weight / np.maximum(-spot_unit, 1e-300), np.inf)
        start = problems.start
        near = _by_distance(start)
        self.ahead = _Ahead(
            multiplier=multiplier,
            priced_rate=_suffix(rates_priced, near, np.minimum, np.inf),
            spot_rate=_suffix(rates_spot, near, np.minimum, np.inf),
            demand_rate=_suffix(rates_d, near, np.minimum, np.inf),
            replica_rate=_suffix(rates_r, near, np.minimum, np.inf),
            demand_left=_suffix(demand_unit * upper, near, np.add, 0.0),
            replicas_left=_suffix(replica_unit * upper, near, np.add, 0.0),
            spot_relief=_suffix(np.maximum(-spot_unit, 0.0) * upper, near, np.add, 0.0),
            largest_demand=_suffix(demand_unit, near, np.maximum, 0.0),
            largest_replicas=_suffix(replica_unit, near, np.maximum, 0.0),
            cheapest=_suffix(unit_weight, near, np.minimum, np.inf))
        self.end = len(unit_weight)  # the extra suffix entry: nothing left
        subs = np.arange(problems.count)
        first = np.where(self.sizes > 0, start[:-1], self.end)
        # Lagrangian reduced costs at the root (demand priced at its best priced rate, spot
        # at the multiplier): any pattern costs at least `floor_cost` + sum rc_k x_k, so an
        # item's count is at most (limit - floor_cost) / rc_k
        rate = self.ahead.priced_rate[first]
        demanded = problems.demand > FEASIBILITY
        with np.errstate(invalid="ignore"):
            self.floor_cost = np.where(demanded & np.isfinite(rate), problems.demand * rate, 0.0)
            self.reduced = np.where(demanded[owner] & np.isfinite(rate[owner]),
                                    priced - rate[owner] * demand_unit, priced)
        self.root_bound = _completion(first, subs, problems.demand, problems.replicas,
                                      np.zeros(problems.count), self.ahead)

    def run(self, limit: np.ndarray, deadline: float | None = None,
            budget: int = TOTAL_BUDGET) -> Patterns:
        """Mode "all" (see the module doc), breadth first: one item per step for all the
        subproblems at once."""
        problems, ahead, end, order = self.problems, self.ahead, self.end, self.order
        unit_weight, demand_unit, replica_unit = self.unit_weight, self.demand_unit, self.replica_unit
        spot_unit, upper, sizes = self.spot_unit, self.upper, self.sizes
        n = problems.count
        # the state log: every state ever kept, for rebuilding patterns
        log_parent: list[np.ndarray] = []
        log_item: list[np.ndarray] = []
        log_count: list[np.ndarray] = []
        logged = 0
        found_state: list[np.ndarray] = []
        found_cost: list[np.ndarray] = []
        given_up = np.zeros(n, dtype=bool)
        processed = 0
        # root states: one per subproblem with items, or an empty pattern when nothing is asked
        trivial = (problems.demand <= FEASIBILITY) & (problems.replicas <= 0)
        roots = np.flatnonzero(~trivial & (sizes > 0))
        sub: np.ndarray = roots
        cost: np.ndarray = np.zeros(len(roots))
        covered: np.ndarray = np.zeros(len(roots))
        held: np.ndarray = np.zeros(len(roots))
        spot: np.ndarray = np.zeros(len(roots))
        state_id: np.ndarray = np.full(len(roots), -1, dtype=np.int64)  # -1: the empty root
        empty = np.flatnonzero(trivial)
        for level in range(int(sizes.max(initial=0))):
            alive = level < sizes[sub]
            sub, cost, covered, held, spot, state_id = (a[alive] for a in (sub, cost, covered, held,
                                                                               spot, state_id))
            if not len(sub):
                break
            item = problems.start[sub] + level  # position in sorted order
            after = np.where(item + 1 < problems.start[sub + 1], item + 1, end)
            low, high = _counts(item, after, sub, cost, covered, held, spot, limit, problems,
                                unit_weight, demand_unit, replica_unit, spot_unit, upper, ahead)
            reduced = self.reduced[item]
            with np.errstate(divide="ignore", invalid="ignore"):
                most = np.floor((limit[sub] * (1 + 1e-12) + 1e-9 - self.floor_cost[sub])
                                / reduced + 1e-9)
            high = np.where(reduced > 1e-12 * np.maximum(1.0, np.abs(limit[sub])),
                            np.minimum(high, _finite(most, nan=-1.0, posinf=2**40, neginf=-1.0)),
                            high).astype(np.int64)
            copies = np.maximum(high - low + 1, 0)
            # states stay in subproblem order: per subproblem, its run of states
            first = np.flatnonzero(np.diff(sub, prepend=-1))
            per_sub = np.add.reduceat(copies, first)
            over = per_sub > STATE_BUDGET
            processed += int(copies.sum())
            if processed > budget or (deadline is not None and time.perf_counter() > deadline):
                over |= per_sub > 0  # out of time or memory: the rest is incomplete
            if over.any():  # hand these over, drop their states
                given_up[sub[first[over]]] = True
                copies = np.where(np.repeat(over, np.diff(np.append(first, len(sub)))), 0, copies)
            parent = np.repeat(np.arange(len(sub)), copies)
            x = np.repeat(low, copies) + np.arange(len(parent)) - np.repeat(np.cumsum(copies) - copies,
                                                                            copies)
            sub, item, after = sub[parent], item[parent], after[parent]
            cost = cost[parent] + x * unit_weight[item]
            covered = covered[parent] + x * demand_unit[item]
            held = held[parent] + x * replica_unit[item]
            spot = spot[parent] + x * spot_unit[item]
            previous = state_id[parent]
            done = (covered >= problems.demand[sub] - FEASIBILITY) & (held >= problems.replicas[sub]) \
                & (spot <= FEASIBILITY) & (x > 0)
            within = cost <= limit[sub] * (1 + 1e-12) + 1e-12
            need_demand = np.maximum(problems.demand[sub] - covered, 0.0)
            need_replicas = np.maximum(problems.replicas[sub] - held, 0.0)
            bound = cost + _completion(after, sub, need_demand, need_replicas, spot, ahead)
            possible = (after < end) & (need_demand <= ahead.demand_left[after] + FEASIBILITY) \
                & (need_replicas <= ahead.replicas_left[after]) \
                & (spot - ahead.spot_relief[after] <= FEASIBILITY)
            keep_open = ~done & possible & (bound <= limit[sub] * (1 + 1e-12) + 1e-12)
            is_pattern = done & within
            logged_now = is_pattern | (keep_open & (x > 0))
            ids = np.full(len(sub), -1, dtype=np.int64)
            ids[logged_now] = logged + np.arange(int(logged_now.sum()))
            log_parent.append(previous[logged_now])
            log_item.append(order[item[logged_now]])
            log_count.append(x[logged_now])
            logged += int(logged_now.sum())
            ids = np.where(x > 0, ids, previous)  # a zero count is its parent's state
            if is_pattern.any():
                found_state.append(ids[is_pattern])
                found_cost.append(cost[is_pattern])
            sub, cost, covered, held, spot, state_id = (a[keep_open] for a in (sub, cost, covered, held,
                                                                                spot, ids))
        parents = np.concatenate(log_parent) if log_parent else np.zeros(0, dtype=np.int64)
        items = np.concatenate(log_item) if log_item else np.zeros(0, dtype=np.int64)
        counts = np.concatenate(log_count) if log_count else np.zeros(0, dtype=np.int64)
        states = np.concatenate(found_state) if found_state else np.zeros(0, dtype=np.int64)
        costs = np.concatenate(found_cost) if found_cost else np.zeros(0)
        subs = _owner_of(states, parents, items, problems) if len(states) else np.zeros(0, np.int64)
        complete = ~given_up[subs]
        states, subs, costs = states[complete], subs[complete], costs[complete]
        # empty patterns for subproblems that ask for nothing
        states = np.concatenate([states, np.full(len(empty), -1, dtype=np.int64)])
        subs = np.concatenate([subs, empty])
        costs = np.concatenate([costs, np.zeros(len(empty))])
        return replace(_rebuild(states, subs, costs, parents, items, counts),
                       incomplete=np.flatnonzero(given_up))


@dataclass(frozen=True)
class _Ahead:
    """Per sorted position (plus one past the end): what the items from there on can give."""

    multiplier: np.ndarray
    """Per subproblem: the price put on the spot-share row in `priced_rate`."""
    priced_rate: np.ndarray
    """Least (weight + multiplier x spot coefficient) per unit of demand."""
    spot_rate: np.ndarray
    """Least weight per unit the spot-share row is lowered (instances that are not spot)."""

    demand_rate: np.ndarray
    """Least weight per unit of demand."""
    replica_rate: np.ndarray
    demand_left: np.ndarray
    """Most demand they can cover (at their upper counts)."""
    replicas_left: np.ndarray
    spot_relief: np.ndarray
    """Most they can lower the spot-share row."""
    largest_demand: np.ndarray
    largest_replicas: np.ndarray
    cheapest: np.ndarray
    """Least weight of one instance."""


_LARGEST = float(np.finfo(float).max)


def _finite(values: np.ndarray, nan: float, posinf: float = _LARGEST,
            neginf: float = -_LARGEST) -> np.ndarray:
    """`np.nan_to_num` (the same values) without its overhead: it runs at every level."""
    values = np.where(np.isnan(values), nan, values)
    values = np.where(values == np.inf, posinf, values)
    return np.where(values == -np.inf, neginf, values)


def _completion(after: np.ndarray, sub: np.ndarray, need_demand: np.ndarray,
                need_replicas: np.ndarray, spot: np.ndarray, ahead: _Ahead) -> np.ndarray:
    """A lower bound on what finishing a pattern with the items from `after` on costs: the
    demand at the best rate with the spot row priced in (Lagrangian: valid for any multiplier
    that keeps every priced weight >= 0), the replicas at their best rate, the excess spot
    at the best rate of lowering it, and at least as many instances as the largest item
    needs, each at the least weight."""
    with np.errstate(invalid="ignore", divide="ignore"):  # 0 x inf where nothing is needed
        demanded = need_demand > FEASIBILITY
        by_rate = np.maximum(
            np.maximum(np.where(demanded, ahead.multiplier[sub] * spot
                                + need_demand * ahead.priced_rate[after], 0.0),
                       np.where(demanded, need_demand * ahead.demand_rate[after], 0.0)),
            np.maximum(np.where(need_replicas > 0, need_replicas * ahead.replica_rate[after], 0.0),
                       np.where(spot > FEASIBILITY, spot * ahead.spot_rate[after], 0.0)))
        instances = np.maximum(
            np.where(demanded, np.ceil(need_demand / ahead.largest_demand[after] - 1e-9), 0.0),
            np.where(need_replicas > 0, np.ceil(need_replicas / ahead.largest_replicas[after]),
                     0.0))
        by_count = np.where(instances > 0, instances * ahead.cheapest[after], 0.0)
    return _finite(np.maximum(by_rate, by_count), nan=np.inf)


def _spot_multiplier(problems: Subproblems, weight: np.ndarray, demand: np.ndarray,
                     spot: np.ndarray, steps: int = 40) -> np.ndarray:
    """Per subproblem, the multiplier u in [0, u_max] that maximises the least priced rate
    min_k (w_k + u s_k) / d_k (a concave function: golden-section search), where u_max keeps
    every priced weight w_k + u s_k >= 0 (0 without spot items: only those subproblems are
    searched)."""
    n = problems.count
    with np.errstate(divide="ignore", invalid="ignore"):
        caps = np.where(spot < 0, weight / -spot, np.inf)
    most = _per_subproblem(caps, problems.start, np.minimum, np.inf)
    has_spot = _per_subproblem((spot > 0).astype(float), problems.start, np.maximum, 0.0) > 0
    most = np.where(has_spot & np.isfinite(most), most, 0.0)
    searched = np.flatnonzero(most > 0)
    sizes = np.diff(problems.start)[searched]
    items = ranges(problems.start[searched], sizes)
    start = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    owner = np.repeat(np.arange(len(searched)), sizes)
    weight, demand, spot = weight[items], demand[items], spot[items]
    useful = demand > 0
    per_demand = np.where(useful, demand, 1.0)

    def least_rate(u: np.ndarray) -> np.ndarray:
        rate = np.where(useful, (weight + u[owner] * spot) / per_demand, np.inf)
        return _per_subproblem(rate, start, np.minimum, np.inf)

    low, high = np.zeros(len(searched)), most[searched]
    golden = (np.sqrt(5) - 1) / 2
    for _ in range(steps if len(searched) else 0):
        a = high - golden * (high - low)
        b = low + golden * (high - low)
        fa, fb = least_rate(a), least_rate(b)
        low = np.where(fa < fb, a, low)
        high = np.where(fa < fb, high, b)
    multiplier = np.zeros(n)
    multiplier[searched] = np.minimum(low, most[searched])
    return multiplier


def _per_subproblem(values: np.ndarray, start: np.ndarray, combine: np.ufunc, empty: float
                    ) -> np.ndarray:
    """Per subproblem: `combine` over its items' values (`empty` when it has none)."""
    result = np.full(len(start) - 1, empty, dtype=float)
    nonempty = np.flatnonzero(np.diff(start) > 0)
    if len(nonempty):
        result[nonempty] = combine.reduceat(values, start[nonempty])
    return result


def _counts(item: np.ndarray, after: np.ndarray, sub: np.ndarray, cost: np.ndarray,
            covered: np.ndarray, held: np.ndarray, spot: np.ndarray, limit: np.ndarray,
            problems: Subproblems, weight: np.ndarray, demand: np.ndarray, replicas: np.ndarray,
            spot_unit: np.ndarray, upper: np.ndarray, ahead: _Ahead
            ) -> tuple[np.ndarray, np.ndarray]:
    """Per state, the counts of its next item worth trying: [low, high], from what the rest
    can still give, the bound (cost + count x weight + the rest at its best rate must stay
    within the limit) and what completing the pattern can need (more is a superset of a
    pattern, never better)."""
    w, d, r, s = weight[item], demand[item], replicas[item], spot_unit[item]
    need_d = np.maximum(problems.demand[sub] - covered, 0.0)
    need_r = np.maximum(problems.replicas[sub] - held, 0.0)
    room = limit[sub] * (1 + 1e-12) + 1e-12 - cost
    rate_r = ahead.replica_rate[after]
    multiplier = ahead.multiplier[sub]
    low = np.zeros(len(item))
    high = upper[item].astype(float)
    empty = room < 0
    with np.errstate(divide="ignore", invalid="ignore"):
        # the rest must be able to finish
        short_d = need_d - ahead.demand_left[after] - FEASIBILITY
        low = np.maximum(low, np.where(d > 0, short_d / d, 0.0))
        empty |= (d <= 0) & (short_d > 0)
        short_r = need_r - ahead.replicas_left[after]
        low = np.maximum(low, np.where(r > 0, short_r / r, 0.0))
        empty |= (r <= 0) & (short_r > 0)
        excess = spot - ahead.spot_relief[after] - FEASIBILITY
        low = np.maximum(low, np.where(s < 0, excess / -s, 0.0))
        high = np.minimum(high, np.where(s > 0, -excess / s, np.inf))
        empty |= (s == 0) & (excess > 0)
        # the bound: cost + x w + rate x max(0, need - x unit) <= limit
        # with the spot row priced in: base + x w' + rate' max(0, need - x d) <= room
        for need, unit, rate, step, base in (
                (need_d, d, ahead.priced_rate[after], w + multiplier * s, multiplier * spot),
                (need_d, d, ahead.demand_rate[after], w, np.zeros(len(item))),
                (need_r, r, rate_r, w, np.zeros(len(item)))):
            finite = np.isfinite(rate) & (need > FEASIBILITY)
            slope = rate * unit - step
            falling = finite & (slope > 0)
            low = np.maximum(low, np.where(falling, (base + rate * need - room) / slope, 0.0))
            empty |= finite & ~falling & (base + rate * need > room)
            empty |= finite & falling & (unit > 0) \
                & (base + step * need / np.where(unit > 0, unit, 1.0) > room)
        high = np.minimum(high, np.where(w > 0, room / w, np.inf))
        # beyond what finishing needs is a superset of a pattern
        enough = np.maximum(
            np.maximum(np.where(d > 0, np.ceil((need_d - FEASIBILITY) / d - 1e-9), 0.0),
                       np.where(r > 0, np.ceil(need_r / r), 0.0)),
            np.where(s < 0, np.ceil((spot - FEASIBILITY) / -s - 1e-9), 0.0))
        high = np.minimum(high, np.maximum(enough, 0.0))
    slack = 1e-7 * (1 + np.abs(low))
    low = np.ceil(_finite(low, nan=0.0, posinf=np.inf) - slack)
    high = np.floor(_finite(high, nan=np.inf) + 1e-7 * (1 + np.abs(_finite(high, nan=0.0))))
    low = np.maximum(low, 0.0)
    empty |= ~np.isfinite(low)
    high = np.where(empty, -1.0, np.minimum(high, upper[item]))
    low = np.where(empty, 0.0, low)
    return low.astype(np.int64), high.astype(np.int64)


def single_item_cost(problems: Subproblems, weight: np.ndarray) -> np.ndarray:
    """Per subproblem: the cheapest pattern of one item only (inf when none is feasible), an
    upper bound on its optimum to prune with from the start."""
    return single_item_patterns(problems, weight)[0]


def single_item_patterns(problems: Subproblems, weight: np.ndarray) -> tuple[np.ndarray, Patterns]:
    """Per subproblem the cheapest pattern of one item only: its cost (inf when there is none)
    and the patterns."""
    owner = problems.owner()
    need = problems.demand[owner]
    with np.errstate(divide="ignore", invalid="ignore"):
        by_demand = np.where(need > FEASIBILITY, np.ceil(need / problems.item_demand - 1e-9), 0.0)
        by_replicas = np.where(problems.replicas[owner] > 0,
                               np.ceil(problems.replicas[owner] / problems.item_replicas), 0.0)
    count = np.maximum(np.maximum(by_demand, by_replicas), 1.0)
    ok = (count <= problems.upper) & (problems.item_spot <= FEASIBILITY) & np.isfinite(count)
    ok &= count * problems.item_demand >= need - FEASIBILITY
    cost = np.where(ok, count * weight, np.inf)
    best = _per_subproblem(cost, problems.start, np.minimum, np.inf)
    cheapest = np.flatnonzero(np.isfinite(cost) & (cost == best[owner]))
    first = np.ones(len(cheapest), dtype=bool)  # ties: the first item
    first[1:] = owner[cheapest][1:] != owner[cheapest][:-1]
    winners = cheapest[first]
    return best, Patterns(owner[winners], cost[winners], np.arange(len(winners) + 1),
                          winners, np.where(ok[winners], count[winners], 0).astype(np.int64))


def _concatenate(parts: list[Patterns]) -> Patterns:
    sizes = [np.diff(p.start) for p in parts]
    bound = None if all(p.bound is None for p in parts) else np.concatenate(
        [p.lower() for p in parts])
    return Patterns(
        np.concatenate([p.subproblem for p in parts]) if parts else np.zeros(0, dtype=np.int64),
        np.concatenate([p.cost for p in parts]) if parts else np.zeros(0),
        np.concatenate([[0], np.cumsum(np.concatenate(sizes))]).astype(np.int64) if parts
        else np.zeros(1, dtype=np.int64),
        np.concatenate([p.items for p in parts]) if parts else np.zeros(0, dtype=np.int64),
        np.concatenate([p.counts for p in parts]) if parts else np.zeros(0, dtype=np.int64),
        np.zeros(0, dtype=np.int64), bound)


def _owner_of(states: np.ndarray, parents: np.ndarray, items: np.ndarray,
              problems: Subproblems) -> np.ndarray:
    owner = problems.owner()
    return owner[items[states]]


def _by_distance(start: np.ndarray) -> list[np.ndarray]:
    """Item positions by their distance to their subproblem's last item: 1, 2, ... (what
    `_suffix` combines, nearest first)."""
    sizes = np.diff(start)
    owner = np.repeat(np.arange(len(sizes)), sizes)
    to_end = start[1:][owner] - 1 - np.arange(len(owner))
    order = np.argsort(to_end, kind="stable")
    return np.split(order, np.cumsum(np.bincount(to_end))[:-1])[1:] if len(order) else []


def _suffix(values: np.ndarray, distances: list[np.ndarray], combine: np.ufunc, empty: float
            ) -> np.ndarray:
    """Per position p: `combine` of values[p:end of p's subproblem]; one extra entry, `empty`,
    at the end (what nothing gives). Subproblems are short: one pass per distance to the end
    (`_by_distance`)."""
    result = values.astype(float)  # a copy
    for at in distances:
        result[at] = combine(result[at], result[at + 1])
    return np.append(result, empty)


def _rebuild(states: np.ndarray, subs: np.ndarray, costs: np.ndarray, parents: np.ndarray,
             items: np.ndarray, counts: np.ndarray) -> Patterns:
    """Walk each found state back to the root, collecting (item, count) pairs."""
    owner_list: list[np.ndarray] = []
    item_list: list[np.ndarray] = []
    count_list: list[np.ndarray] = []
    current = states.copy()
    which = np.arange(len(states))
    while True:
        live = current >= 0
        if not live.any():
            break
        current, which = current[live], which[live]
        owner_list.append(which)
        item_list.append(items[current])
        count_list.append(counts[current])
        current = parents[current]
    owner = np.concatenate(owner_list) if owner_list else np.zeros(0, dtype=np.int64)
    item = np.concatenate(item_list) if item_list else np.zeros(0, dtype=np.int64)
    count = np.concatenate(count_list) if count_list else np.zeros(0, dtype=np.int64)
    arrange = np.lexsort((item, owner))
    owner, item, count = owner[arrange], item[arrange], count[arrange]
    start = np.searchsorted(owner, np.arange(len(states) + 1))
    return Patterns(subs.astype(np.int64), costs, start, item, count)
