"""One cheapest pattern per covering subproblem, depth first, compiled (numba).

`planner.patterns` searches all subproblems at once, breadth first: one item per step over
numpy arrays of partial patterns. That suits listing every pattern within a threshold (mode
"all"), but for the cheapest pattern (mode "best", the pricing of column generation) most of
its time went to numpy's per-call overhead on small arrays: about 55,000 steps of 0.2 ms in a
60 s run on a 10-workload hourly fleet. Here each subproblem is searched on its own, depth
first, with the same bounds (`planner.patterns`: the items in order of cost per unit of
demand, the counts of the next item worth trying, the completion bound, the root's reduced
costs), trying the largest count of each item first so that a good pattern is found early
and prunes the rest. It is exact: a subproblem is given up only past `nodes` partial
patterns, and the caller settles it (a small MIP, or its best pattern with the root bound).
On that fleet's column generation it took 3.4 s where the breadth-first search took 26.8 s,
with the same optimum for every one of the subproblems priced.

`_counts` and `_completion` are the scalar twins of `planner.patterns`' (which mode "all"
still uses): tests hold both searches to brute force on random subproblems.

Compiled on first use (about 5 s; cached on disk, so later runs load it in a fraction of a
second) and imported only by the search, so that `plan solve` on a small problem never
loads numba.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numba import njit

from planner.patterns import FEASIBILITY  # it imports this module only when a search runs


@njit(cache=True, error_model="numpy")
def _nan_max(a: float, b: float) -> float:
    """`np.maximum` of two floats: NaN if either is."""
    if a != a or b != b:
        return math.nan
    return a if a > b else b


@njit(cache=True, error_model="numpy")
def _completion(after: int, sub: int, need_demand: float, need_replicas: float, spot: float,
                multiplier: np.ndarray, ahead: np.ndarray) -> float:
    """`planner.patterns._completion` for one partial pattern: a lower bound on what finishing
    it with the items from `after` on costs. `ahead` rows: see `_AHEAD`."""
    demanded = need_demand > FEASIBILITY
    first = 0.0
    second = 0.0
    if demanded:
        first = multiplier[sub] * spot + need_demand * ahead[0, after]
        second = need_demand * ahead[2, after]
    third = need_replicas * ahead[3, after] if need_replicas > 0 else 0.0
    fourth = spot * ahead[1, after] if spot > FEASIBILITY else 0.0
    by_rate = _nan_max(_nan_max(first, second), _nan_max(third, fourth))
    by_demand = np.ceil(need_demand / ahead[7, after] - 1e-9) if demanded else 0.0
    by_replicas = np.ceil(need_replicas / ahead[8, after]) if need_replicas > 0 else 0.0
    instances = _nan_max(by_demand, by_replicas)
    by_count = instances * ahead[9, after] if instances > 0 else 0.0
    bound = _nan_max(by_rate, by_count)
    return math.inf if bound != bound else bound


_AHEAD = ("priced_rate", "spot_rate", "demand_rate", "replica_rate", "demand_left",
          "replicas_left", "spot_relief", "largest_demand", "largest_replicas", "cheapest")
"""The rows of the `ahead` matrix, in order (fields of `planner.patterns._Ahead`)."""


@njit(cache=True, error_model="numpy")
def _counts(item: int, after: int, sub: int, cost: float, covered: float, held: float,
            spot: float, limit: float, demand: np.ndarray, replicas: np.ndarray,
            weight: np.ndarray, unit_demand: np.ndarray, unit_replicas: np.ndarray,
            unit_spot: np.ndarray, upper: np.ndarray, multiplier: np.ndarray,
            ahead: np.ndarray) -> tuple[int, int]:
    """`planner.patterns._counts` for one partial pattern: the counts of its next item worth
    trying, [low, high] (high < low: none)."""
    w, d, r, s = weight[item], unit_demand[item], unit_replicas[item], unit_spot[item]
    need_d = max(demand[sub] - covered, 0.0)
    need_r = max(replicas[sub] - held, 0.0)
    room = limit * (1 + 1e-12) + 1e-12 - cost
    low = 0.0
    high = float(upper[item])
    empty = room < 0
    # the rest must be able to finish
    short_d = need_d - ahead[4, after] - FEASIBILITY
    if d > 0:
        low = _nan_max(low, short_d / d)
    elif short_d > 0:
        empty = True
    short_r = need_r - ahead[5, after]
    if r > 0:
        low = _nan_max(low, short_r / r)
    elif short_r > 0:
        empty = True
    excess = spot - ahead[6, after] - FEASIBILITY
    if s < 0:
        low = _nan_max(low, excess / -s)
    elif s > 0:
        high = min(high, -excess / s)
    elif excess > 0:
        empty = True
    # the bound: base + x step + rate max(0, need - x unit) <= room, for the demand with the
    # spot row priced in, the demand alone and the replicas
    for case in range(3):
        if case == 0:
            need, unit, rate, step, base = need_d, d, ahead[0, after], w + multiplier[sub] * s, \
                multiplier[sub] * spot
        elif case == 1:
            need, unit, rate, step, base = need_d, d, ahead[2, after], w, 0.0
        else:
            need, unit, rate, step, base = need_r, r, ahead[3, after], w, 0.0
        if not (math.isfinite(rate) and need > FEASIBILITY):
            continue
        slope = rate * unit - step
        if slope > 0:
            low = _nan_max(low, (base + rate * need - room) / slope)
            if unit > 0 and base + step * need / unit > room:
                empty = True
        elif base + rate * need > room:
            empty = True
    if w > 0:
        high = min(high, room / w)
    # beyond what finishing needs is a superset of a pattern
    enough = 0.0
    if d > 0:
        enough = _nan_max(enough, np.ceil((need_d - FEASIBILITY) / d - 1e-9))
    if r > 0:
        enough = _nan_max(enough, np.ceil(need_r / r))
    if s < 0:
        enough = _nan_max(enough, np.ceil((spot - FEASIBILITY) / -s - 1e-9))
    high = min(high, enough)
    if low != low or low == math.inf:
        return 0, -1
    low = max(np.ceil(low - 1e-7 * (1 + abs(low))), 0.0) if math.isfinite(low) else 0.0
    if high != high:
        high = math.inf
    if math.isfinite(high):
        high = np.floor(high + 1e-7 * (1 + abs(high)))
    high = min(high, float(upper[item]))
    if empty or high < low:
        return 0, -1
    return int(low), int(high)


@njit(cache=True, error_model="numpy")
def _search(start: np.ndarray, demand: np.ndarray, replicas: np.ndarray, weight: np.ndarray,
            unit_demand: np.ndarray, unit_replicas: np.ndarray, unit_spot: np.ndarray,
            upper: np.ndarray, multiplier: np.ndarray, ahead: np.ndarray,
            reduced: np.ndarray, floor_cost: np.ndarray, limit: np.ndarray,
            floor: np.ndarray, nodes: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every subproblem's cheapest pattern within its limit: (cost, inf when none;
    the counts of each sorted item in it; whether the search gave up past `nodes`)."""
    n = len(demand)
    end = len(weight)
    best = np.full(n, math.inf)
    counts = np.zeros(end, dtype=np.int64)
    given_up = np.zeros(n, dtype=np.bool_)
    deepest = 1
    for j in range(n):
        deepest = max(deepest, start[j + 1] - start[j])
    xs = np.zeros(deepest, dtype=np.int64)
    lows = np.zeros(deepest, dtype=np.int64)
    cost = np.zeros(deepest + 1)
    covered = np.zeros(deepest + 1)
    held = np.zeros(deepest + 1)
    spot = np.zeros(deepest + 1)
    for j in range(n):
        first, size = start[j], start[j + 1] - start[j]
        if demand[j] <= FEASIBILITY and replicas[j] <= 0:
            best[j] = 0.0  # nothing asked: the empty pattern
            continue
        if size == 0:
            continue
        bar = limit[j]
        visited = 0
        depth = 0
        low, high = _counts(first, first + 1 if size > 1 else end, j, 0.0, 0.0, 0.0, 0.0, bar,
                            demand, replicas, weight, unit_demand, unit_replicas, unit_spot,
                            upper, multiplier, ahead)
        lows[0], xs[0] = _limited(first, low, high, bar, reduced, floor_cost[j], weight,
                                  unit_spot)
        while depth >= 0:
            if xs[depth] < lows[depth]:  # this item's counts are all tried
                depth -= 1
                if depth >= 0:
                    xs[depth] -= 1
                continue
            visited += 1
            if visited > nodes:
                given_up[j] = True
                break
            item = first + depth
            x = xs[depth]
            after = item + 1 if depth + 1 < size else end
            c = cost[depth] + x * weight[item]
            v = covered[depth] + x * unit_demand[item]
            h = held[depth] + x * unit_replicas[item]
            s = spot[depth] + x * unit_spot[item]
            tolerance = bar * (1 + 1e-12) + 1e-12
            if x > 0 and v >= demand[j] - FEASIBILITY and h >= replicas[j] \
                    and s <= FEASIBILITY:  # a pattern: extending it never helps
                if c <= tolerance and c < best[j]:
                    best[j] = c
                    bar = min(bar, c)
                    counts[first:first + size] = 0
                    counts[first:first + depth + 1] = xs[:depth + 1]
                    if best[j] <= floor[j] + 1e-12 * max(1.0, abs(floor[j])):
                        break  # as cheap as any pattern can be
                xs[depth] -= 1
                continue
            need_d = max(demand[j] - v, 0.0)
            need_r = max(replicas[j] - h, 0.0)
            bound = c + _completion(after, j, need_d, need_r, s, multiplier, ahead)
            if after < end and need_d <= ahead[4, after] + FEASIBILITY \
                    and need_r <= ahead[5, after] and s - ahead[6, after] <= FEASIBILITY \
                    and bound <= tolerance \
                    and not (math.isfinite(best[j])
                             and bound >= best[j] - 1e-12 * abs(best[j])):
                depth += 1
                cost[depth], covered[depth], held[depth], spot[depth] = c, v, h, s
                low, high = _counts(after, after + 1 if depth + 1 < size else end, j, c, v, h,
                                    s, bar, demand, replicas, weight, unit_demand,
                                    unit_replicas, unit_spot, upper, multiplier, ahead)
                lows[depth], xs[depth] = _limited(after, low, high, bar, reduced,
                                                  floor_cost[j], weight, unit_spot)
                continue
            xs[depth] -= 1
    return best, counts, given_up


@njit(cache=True, error_model="numpy")
def _limited(item: int, low: int, high: int, limit: float, reduced: np.ndarray,
             floor_cost: float, weight: np.ndarray, unit_spot: np.ndarray) -> tuple[int, int]:
    """[low, high] capped by the root's reduced cost of the item (any pattern costs at least
    the root's floor plus its items' reduced costs), and a free instance that is not spot
    taken at its highest count only: (low, the first count to try)."""
    rc = reduced[item]
    if rc > 1e-12 * max(1.0, abs(limit)):
        most = np.floor((limit * (1 + 1e-12) + 1e-9 - floor_cost) / rc + 1e-9)
        if most != most or most == -math.inf:
            most = -1.0
        high = min(high, int(min(most, 2.0 ** 40)))
    if weight[item] <= 0 and unit_spot[item] <= 0:
        low = high
    return low, high


def cheapest(prepared: Any, limit: np.ndarray, floor: np.ndarray, nodes: int
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Run the search on a `planner.patterns._Prepared` (items sorted, bounds ready): per
    subproblem its cheapest pattern's cost (inf: none within `limit`), per sorted item its
    count in that pattern, and which subproblems were given up past `nodes` partial patterns
    (their best so far is kept). `floor`: known lower bounds on the optima (-inf: none); a
    pattern that reaches one ends its subproblem's search."""
    problems, ahead = prepared.problems, prepared.ahead
    rows = np.vstack([getattr(ahead, name) for name in _AHEAD]).astype(float)
    return _search(problems.start.astype(np.int64), problems.demand.astype(float),
                   problems.replicas.astype(float), prepared.unit_weight.astype(float),
                   prepared.demand_unit.astype(float), prepared.replica_unit.astype(float),
                   prepared.spot_unit.astype(float), prepared.upper.astype(np.int64),
                   ahead.multiplier.astype(float), rows, prepared.reduced.astype(float),
                   prepared.floor_cost.astype(float), limit.astype(float), floor.astype(float),
                   int(nodes))
