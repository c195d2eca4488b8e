"""Pool probing: bounds on the committed pool sizes that every optimal plan keeps.

Why: a pool's fee buys whole instances, but the LP relaxation buys fractions of one and spreads
them over the hours. On mixed-fleet it takes 0.69 of the $6,948/month DGX-H100 (chat by day,
the batch job by night at 69 % of the fee) and 1.1 of the L40S server, so its bound ($11,705)
sits 7 % under the optimum ($12,633): HiGHS spent 1.2 s of its 1.7 s in root cuts closing the
gap, and SCIP and CBC were no faster. The pools are few (7 there), so a handful of LPs settles
them instead (`bound_pools`):

1. dive: fix the most fractional pool of the LP to the cheaper of its two roundings until every
   pool is whole;
2. incumbent: the MIP with the pools fixed there (they decouple workloads and hours: fast) is a
   plan; its cost is U;
3. tighten: a range of sizes of one pool whose LP (that pool limited to the range, the others
   to the bounds found so far) costs more than U holds no optimal plan: the pool's bounds move
   past it, repeated until nothing moves.

Validity: the LP over a range of sizes is a relaxation of every plan with a size in the range
(and within the other bounds), so each such plan costs at least the LP's value, more than
U >= the optimum. By induction over the steps every optimal plan stays within every bound,
so the bounds never change the optimum. They are not implied by the problem's limits, only by
its cost: relaxing a limit (diagnosis) can make a cut-off size optimal, so they go in as cuts
(`Formulation.cut_rows`, group `pool_bound`) that diagnosis and sensitivity drop
(`Formulation.without_cuts`).

mixed-fleet: the DGX-H100 pool is fixed at 1 and the other six at 0 by 20 LPs and a 0.13 s MIP
(0.2 s in all); the LP bound rises to $12,377 and HiGHS proves the optimum in 0.13 s.
"""

from __future__ import annotations

import math
import time
from dataclasses import replace
from typing import Any

from planner.formulation import Formulation
from planner.linear import LinearModel

PROBING_MAX_COLUMNS = 2_000
"""Larger models are not probed: each LP grows with the model and so does the fixed-pool MIP,
and the decomposition (`planner.decompose`) takes over large fleets anyway."""
PROBING_SHARE = 0.1
"""Share of the time limit the probing may use (at most `PROBING_MAX_SECONDS`)."""
PROBING_MAX_SECONDS = 5.0
MARGIN = 1e-6
"""Relative (and absolute, in $) margin by which an LP must exceed U to cut a range off: far
above the LP's and the incumbent's tolerances (1e-7 dual, 1e-6 primal feasibility)."""
Bounds = dict[int, tuple[int, int]]
"""Pool column -> (lower, upper) size."""


class Relaxation:
    """The LP relaxation of a model in HiGHS, re-solved (warm) under changed column bounds."""

    def __init__(self, model: LinearModel, deadline: float) -> None:
        import highspy
        import numpy as np

        from planner.backends.highs import _load, _ready_scheduler, silent_highs

        _ready_scheduler(highspy, 1)
        self.highs = silent_highs()
        self.highspy = highspy
        self.deadline = deadline
        self.highs.setOptionValue("presolve", "off")  # warm starts; presolve gains nothing here
        _load(self.highs, highspy, model)
        count = model.variable_count
        self.highs.changeColsIntegrality(count, np.arange(count, dtype=np.int32),
                                         np.full(count, highspy.HighsVarType.kContinuous))

    def expired(self) -> bool:
        return time.perf_counter() >= self.deadline

    def solve(self, bounds: Bounds) -> tuple[float, list[float]]:
        """The LP's value (inf if infeasible, -inf if unsolved) and column values."""
        for column, (lower, upper) in bounds.items():
            self.highs.changeColBounds(column, float(lower), float(upper))
        self.highs.setOptionValue("time_limit", max(0.0, self.deadline - time.perf_counter()))
        self.highs.run()
        status = self.highs.getModelStatus()
        if status == self.highspy.HighsModelStatus.kOptimal:
            return self.highs.getInfo().objective_function_value, \
                list(self.highs.getSolution().col_value)
        if status == self.highspy.HighsModelStatus.kInfeasible:
            return math.inf, []
        return -math.inf, []  # unsolved: proves nothing

    def value(self, bounds: Bounds, column: int, lower: int, upper: int) -> float:
        """The LP's value with one pool limited to [lower, upper] (the rest as in `bounds`)."""
        return self.solve({**bounds, column: (lower, upper)})[0]


def _fractional(values: list[float], bounds: Bounds) -> list[int]:
    return [c for c in bounds if abs(values[c] - round(values[c])) > 1e-6]


def _dive(lp: Relaxation, bounds: Bounds) -> dict[int, int] | None:
    """Whole pool sizes from the LP, each fractional pool rounded (most fractional first) to
    the side whose LP is cheaper; None if the LP has no solution or time runs out."""
    local = dict(bounds)
    for _ in range(len(bounds) + 1):
        value, values = lp.solve(local)
        if not math.isfinite(value) or lp.expired():
            return None
        fractional = _fractional(values, local)
        if not fractional:
            return {c: round(values[c]) for c in local}
        column = max(fractional, key=lambda c: 0.5 - abs(values[c] - math.floor(values[c]) - 0.5))
        lower, upper = local[column]
        down, up = math.floor(values[column]), math.ceil(values[column])
        cheaper_down = lp.value(local, column, lower, down) <= lp.value(local, column, up, upper)
        local[column] = (lower, down) if cheaper_down else (up, upper)
    return None


def _incumbent(model: LinearModel, sizes: dict[int, int], deadline: float) -> float | None:
    """Cost of a plan of the MIP with the pools fixed at `sizes` (None if none is found)."""
    import highspy

    from planner.backends.highs import _load, silent_highs

    highs = silent_highs()
    highs.setOptionValue("random_seed", 0)
    highs.setOptionValue("mip_rel_gap", 1e-3)  # any plan will do; a near-optimal one cuts more
    highs.setOptionValue("time_limit", max(0.0, deadline - time.perf_counter()))
    _load(highs, highspy, model)
    for column, size in sizes.items():
        highs.changeColBounds(column, float(size), float(size))
    highs.run()
    info: Any = highs.getInfo()
    if info.primal_solution_status != 2:  # kSolutionStatusFeasible
        return None
    return float(info.objective_function_value)


def _first_above(lp: Relaxation, bounds: Bounds, column: int, limit: float, raise_lower: bool
                 ) -> int:
    """Binary search over one pool's sizes: with raise_lower, the largest k such that the LP
    over sizes [lower, k] exceeds `limit` (lower - 1 if none); else the smallest k such that
    the LP over [k, upper] exceeds it (upper + 1 if none). The LP over [lower, k] can only
    fall as k grows, over [k, upper] only rise, so the search is exact."""
    lower, upper = bounds[column]
    if raise_lower:
        if lp.value(bounds, column, lower, lower) <= limit:  # the usual answer: one LP
            return lower - 1
        low, high = lower, upper - 1  # answer in [low, high]; k = upper keeps every plan
        while low < high and not lp.expired():
            middle = (low + high + 1) // 2
            if lp.value(bounds, column, lower, middle) > limit:
                low = middle
            else:
                high = middle - 1
        return low
    if lp.value(bounds, column, lower + 1, upper) > limit:  # the usual answer: one LP
        return lower + 1
    low, high = lower + 2, upper + 1  # answer in [low, high]
    while low < high and not lp.expired():
        middle = (low + high) // 2
        if lp.value(bounds, column, middle, upper) > limit:
            high = middle
        else:
            low = middle + 1
    return high


def tighten(lp: Relaxation, bounds: Bounds, limit: float) -> Bounds:
    """The pool bounds with every range of sizes whose LP exceeds `limit` cut off, repeated
    until nothing moves (or time runs out: the bounds found so far are valid)."""
    bounds = dict(bounds)
    moved = True
    while moved and not lp.expired():
        moved = False
        for column in sorted(bounds):
            lower, upper = bounds[column]
            if lower == upper:
                continue
            new_lower = _first_above(lp, bounds, column, limit, raise_lower=True) + 1
            bounds[column] = (new_lower, upper)
            new_upper = min(upper, _first_above(lp, bounds, column, limit, raise_lower=False) - 1)
            if lp.expired():  # a search cut short by the clock proves nothing
                bounds[column] = (lower, upper)
                break
            bounds[column] = (new_lower, max(new_lower, new_upper))
            moved |= bounds[column] != (lower, upper)
    return bounds


def pool_bounds(formulation: Formulation, seconds: float) -> Bounds:
    """Bounds on the pool columns that every optimal plan keeps (only the pools' own bounds if
    the LP or the incumbent fails, or time runs out first)."""
    model = formulation.model
    bounds = {c: (math.ceil(model.lower[c] - 1e-9), math.floor(model.upper[c] + 1e-9))
              for c in formulation.pool_column.values() if model.upper[c] > model.lower[c]}
    if not bounds:
        return bounds
    deadline = time.perf_counter() + seconds
    lp = Relaxation(model, deadline)
    sizes = _dive(lp, bounds)
    if sizes is None:
        return bounds
    cost = _incumbent(model, sizes, deadline)
    if cost is None:
        return bounds
    return tighten(lp, bounds, cost + MARGIN * (abs(cost) + 1))


def probing_seconds(time_limit_s: float) -> float:
    return min(PROBING_MAX_SECONDS, PROBING_SHARE * time_limit_s)


def bound_pools(formulation: Formulation, seconds: float) -> Formulation:
    """The formulation with `pool_bounds` as cut rows (`pool_bound[offer,mode]`) after its
    other cuts, for the pools whose bounds moved; unchanged for large models, for models with
    spread rows (HiGHS's presolve may loop on those: `planner.linear.SPREAD_ROW_RATIO`) and
    for one period, where a pool is bought for one hour's use, as an instance is, the MIPs are
    small and solve in milliseconds: probing them would cost more than it saves, and would
    import HiGHS into this process (solver libraries stay in the worker for a fast start)."""
    model = formulation.model
    if formulation.periods == 1 or model.variable_count > PROBING_MAX_COLUMNS \
            or model.has_spread_rows:
        return formulation
    before = {c: (model.lower[c], model.upper[c]) for c in formulation.pool_column.values()}
    moved = {c: b for c, b in pool_bounds(formulation, seconds).items() if b != before[c]}
    if not moved:
        return formulation
    names = {column: key for key, column in formulation.pool_column.items()}
    bounded = LinearModel(model.names, model.lower, model.upper, model.integer, model.cost,
                          list(model.rows), dict(model.groups), model.objective_offset)
    for column, (lower, upper) in sorted(moved.items()):
        offer, mode = names[column]
        bounded.add_row("pool_bound", f"pool_bound[{offer},{mode.value}]", {column: 1.0},
                        float(lower), float(upper))
    return replace(formulation, model=bounded, cut_rows=formulation.cut_rows + len(moved))
