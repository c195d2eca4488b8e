"""Decomposition over periods: column generation when demand varies by hour.

With 24 (or 168) periods, whole-workload patterns (`planner.decompose`) tail off: a pattern
fixes a workload's instances in every hour at once, so a round adds one 24-hour vector per
workload and the master needs hundreds of rounds to combine the hours. Here the master is
disaggregated: given its variant, a workload's periods are independent (only the coupling rows
join them), so a whole-workload pattern is a product of per-period *covers* and

    minimise   pool fees + preparations + sum of cover costs x lambda
    subject to the coupling rows of `planner.decompose` (quotas and pools per period, budget,
               preparation links)
               sum_v z[i, v] = 1                            one variant per workload
               sum of lambda over covers of (i, v, p) = z[i, v]   per workload, variant, period

has the same LP bound as the master over whole patterns (the convex hull of a product is the
product of the convex hulls) while one round adds a cover for every period that prices out:
on `generate(10, 0, hourly=True)` the LP converges in 48 rounds where whole patterns had not
in 200. Pricing is unchanged: `decompose.price` finds every (workload, variant, period)'s
cheapest cover exactly and gives the Lagrangian bound L. The first covers are each workload's
cheapest variant's at three prices (pools paid in full per hour, spread over the hours, and
quotas and pools avoided, so that the first LP needs no slack); other variants enter only
when they price out, which keeps the master small. (Wentges smoothing is there, `SMOOTHING`,
but off: it took more rounds here.)

Integer plan and bound: the master MIP over the covers (binary covers and choices, integer
pools; HiGHS). In any plan, each cover's excess over its period's cheapest at the bound's
duals, plus its variant's excess, adds up over all workloads and periods to at most the
plan's cost - L. So for a slack s, every plan either uses only covers within s of their
period's cheapest, which the MIP bounds once they are all in it (listed per period by
`patterns.search`, mode "all": no products across periods, the master combines them), or
costs at least L + s: the bound is min(MIP bound, L + s). With s = U - L (U the plan) the
MIP's optimum is the problem's; when the covers within U - L are too many, s is the widest
tried whose covers are few, and the bound is L + s at most. What limits the proof on
realistic fleets is the master's integrality gap (pools must be whole instances; on
`generate(10, 0, hourly=True)` L = 102,196 while the MIP over the covers bounds its plans
at 103,700 and its plan costs 104,700): closing it needs branching (on the pools), not more
columns.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from planner.backends.base import SolveOptions
from planner.decompose import (
    Column,
    Master,
    Priced,
    Pricing,
    Reduction,
    Structure,
    _cheapest_pairs,
    _SparseModel,
    add_pools_and_preparations,
    candidate_entries,
    choose_columns,
    item_weights,
    next_round,
    price,
)
from planner.patterns import priced_costs, search
from planner.schema import HOURS_PER_MONTH

SMOOTHING = 0.0
"""Weight of the best bound's duals in the duals priced at (Wentges smoothing). Off: on the
generated hourly fleets 0.3, 0.5 and 0.8 all took more rounds and time than plain duals."""
MAX_ROUNDS = 300
"""Column-generation rounds at most."""
SPREADS = (False, True)
"""Initial covers: priced with each committed instance-period paying the pool's whole fee
(False) or the fee spread over the periods (True)."""
CG_SHARE = 0.6
"""Share of the time limit column generation may take."""
WIDEN = 4.0
"""The proof's slack grows by this factor while the covers within it stay few."""
LISTING_SHARE = 0.3
"""Share of the time left that listing covers for the proof may take."""
LISTING_STATES = 5_000_000
"""Partial covers listing may process before giving up (`patterns.search`'s budget): more
would take too long and too much memory."""
MAX_PROOF_COVERS = 50_000
"""Covers within the proof's slack, over all periods, at most (the master MIP must take
them all)."""


@dataclass(frozen=True)
class Cover(Column):
    """One workload's instances of one variant in one period (subproblem `sub` of the
    pricing); `periods` repeats that period per candidate."""

    sub: int = -1


def cover_of(structure: Structure, pricing: Pricing, sub: int, candidates: list[int],
             counts: list[int]) -> Cover:
    """The master column of these instances (candidate positions in the fleet) in `sub`."""
    period = int(pricing.sub_period[sub])
    entries: dict[int, float] = defaultdict(float)
    cost = 0.0
    order = sorted(zip(candidates, counts, strict=True))
    for k, count in order:
        rows, values = candidate_entries(structure, k, period)
        for row, value in zip(rows, values, strict=True):
            entries[row] += count * value
        cost += count * float(structure.solver_cost[k])
    rows_used = sorted(entries)
    return Cover(int(pricing.workload[sub]), int(pricing.variant[sub]),
                 tuple(k for k, _ in order), (period,) * len(order),
                 tuple(n for _, n in order), cost, tuple(rows_used),
                 tuple(entries[r] for r in rows_used), sub)


def covers_from(structure: Structure, pricing: Pricing, priced: Priced,
                subs: np.ndarray | None = None) -> list[Cover]:
    """The covers of `priced.patterns` (of the subproblems `subs`, default all) as columns."""
    chosen = priced.patterns
    keep = np.ones(len(chosen), dtype=bool) if subs is None else np.isin(chosen.subproblem, subs)
    result = []
    for position in np.flatnonzero(keep).tolist():
        items, counts = chosen.of(position)
        result.append(cover_of(structure, pricing, int(chosen.subproblem[position]),
                               pricing.candidate[items].tolist(), counts.tolist()))
    return result


class CoverMaster(Master):
    """The restricted master over covers: `Master`'s coupling and convexity rows, a link row
    per subproblem (its covers sum to its variant's choice) and a choice column per
    (workload, variant) pair."""

    def __init__(self, structure: Structure, pricing: Pricing) -> None:
        super().__init__(structure)
        self.pricing = pricing
        self.subs = pricing.problems.count
        self.link = self.coupling + self.workloads
        """First link row."""
        self.highs.addRows(self.subs, np.zeros(self.subs), np.zeros(self.subs), 0,
                           np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.int32), np.zeros(0))
        self.covers: list[Cover] = []
        self.cover_at: dict[tuple[int, tuple[int, ...], tuple[int, ...]], int] = {}
        self.first_cover = 0

    def choice_entries(self, pair: int) -> tuple[list[int], list[float]]:
        """The choice column of a pair: its workload's convexity row, its link rows (-1) and
        its preparation link."""
        workload, variant = self.pricing.pairs[pair]
        periods = self.structure.fleet.periods
        rows = [self.coupling + workload] + [self.link + j for j in
                                             range(pair * periods, (pair + 1) * periods)]
        values = [1.0] + [-1.0] * periods
        if (workload, variant) in self.structure.prepare_rows:
            rows.append(self.structure.prepare_rows[(workload, variant)][0])
            values.append(1.0)
        return rows, values

    def add_choices(self) -> None:
        for pair in range(len(self.pricing.pairs)):
            rows, values = self.choice_entries(pair)
            self._add(0.0, 0.0, math.inf, rows, values)
        self.first_cover = int(self.highs.getNumCol())

    def add_cover(self, cover: Cover) -> bool:
        key = (cover.sub, cover.candidates, cover.counts)
        if key in self.cover_at:
            return False
        self.cover_at[key] = len(self.covers)
        self.covers.append(cover)
        self._add(cover.cost, 0.0, math.inf, [*cover.rows, self.link + cover.sub],
                  [*cover.values, 1.0])
        return True

    def position_of(self, cover: Cover) -> int:
        return self.cover_at[(cover.sub, cover.candidates, cover.counts)]

    def solve_covers(self) -> tuple[float, np.ndarray, np.ndarray]:
        """(objective, coupling duals (clipped <= 0), link duals)."""
        objective, duals, rest, _ = self.solve_lp()
        return objective, duals, rest[self.workloads:]


def decompose_periods(structure: Structure, pricing: Pricing, options: SolveOptions,
                      started: float, deadline: float, say: Callable[[str], None]
                      ) -> Reduction | None:
    """A plan and a proven bound (see the module doc), None without a plan."""
    fleet = structure.fleet
    master = CoverMaster(structure, pricing)
    master.highs.setOptionValue("threads", int(options.threads))
    master.add_fixed()
    master.add_choices()
    priced = _first_covers(master)
    if priced is None:
        return None  # some workload has no pattern at all
    generating = started + CG_SHARE * (deadline - started)
    final, rounds = _generate(master, priced, generating, options, say)
    solved = _solve_master(master, final, deadline, options, say)
    if solved is None:
        return None
    upper, chosen, bound = solved
    say(f"  plan {upper:,.2f}, bound {bound:,.2f}")
    return Reduction.of(fleet, list(chosen), upper, bound, time.perf_counter() - started,
                        rounds, len(master.covers))


def _first_covers(master: CoverMaster) -> Priced | None:
    """The first covers: each workload's cheapest variant's at pool prices paid in full per
    hour and spread over the hours and, with quotas, at prices that keep off quotas and
    pools (pools are capped by the quotas: the first master LP then rarely needs its
    slack). The last pricing (spread pools), None when some workload has no cover at all."""
    structure, pricing = master.structure, master.pricing
    fleet = structure.fleet
    priced = None
    for spread in SPREADS:
        duals = np.zeros(len(structure.rows.upper))
        for number, fee in enumerate(structure.pool_fee.tolist()):
            rows = structure.pool_rows[number]
            duals[rows[rows >= 0]] = -fee / (fleet.periods if spread else 1)
        priced = price(structure, pricing, duals)
        if not np.isfinite(priced.best).all():
            return None
        _add_cheapest(master, priced)
    if structure.quota_rows.size:
        dearest = float((fleet.fee + fleet.hourly * HOURS_PER_MONTH).max(initial=0.0))
        avoiding = np.zeros(len(structure.rows.upper))
        avoiding[structure.quota_rows.ravel()] = -dearest
        avoiding[structure.pool_rows[structure.pool_rows >= 0]] = -dearest
        _add_cheapest(master, price(structure, pricing, avoiding))
    return priced


def _generate(master: CoverMaster, priced: Priced, deadline: float, options: SolveOptions,
              say: Callable[[str], None]) -> tuple[Priced, int]:
    """Column generation until no cover prices out (or the bound is close enough, or the
    deadline): the round with the best Lagrangian bound, and the rounds run."""
    structure, pricing = master.structure, master.pricing
    final = priced
    rounds = 0
    exact = False  # heuristic pricing of the hardest subproblems until nothing prices out
    last_objective = math.inf
    while rounds < MAX_ROUNDS and time.perf_counter() < deadline:
        rounds += 1
        clock = time.perf_counter()
        objective, duals, link = master.solve_covers()
        lp_seconds = time.perf_counter() - clock
        clock = time.perf_counter()
        smoothed = rounds > 1 and SMOOTHING > 0
        out = np.zeros(0, dtype=np.int64)
        for at in ((SMOOTHING * final.duals + (1 - SMOOTHING) * duals, duals) if smoothed
                   else (duals,)):
            priced = price(structure, pricing, at, priced, exact)
            if priced.bound > final.bound:
                final = priced
            found = priced.patterns
            cost = found.cost if at is duals else priced_costs(
                found, np.maximum(item_weights(structure, pricing, duals), 0.0))
            here = link[found.subproblem]
            out = np.flatnonzero(cost - here < -1e-9 * np.maximum(1.0, np.abs(here)))
            if len(out):
                break
        added = sum(master.add_cover(cover) for cover in covers_from(
            structure, pricing, priced, subs=priced.patterns.subproblem[out]))
        say(f"  round {rounds}: master LP {objective:,.2f}, bound {final.bound:,.2f}, "
            f"{added} covers price out (LP {lp_seconds:.2f} s, pricing "
            f"{time.perf_counter() - clock:.2f} s{', exact' if exact else ''})")
        stop, exact = next_round(objective, final.bound, last_objective, rounds, bool(added),
                                 exact, options.relative_gap)
        last_objective = objective
        if stop:
            break
    return final, rounds


def _solve_master(master: CoverMaster, final: Priced, deadline: float, options: SolveOptions,
                  say: Callable[[str], None]) -> tuple[float, list[Cover], float] | None:
    """The master MIP over the covers generated and every cover within a slack s of its
    period's cheapest at the bound's duals: (plan's cost, its covers, proven bound), None
    without a plan. A plan either uses only covers within s, which the MIP bounds, or costs
    at least L + s. First s is the LP's own gap (what proves a plan at the LP's cost); if the
    plan is dearer (and there is time left), s = U - L (the MIP's optimum is then the
    problem's) or, when the covers within it are too many, the widest s whose covers are
    few, and the MIP again from its plan."""
    lp = master.solve_covers()[0]
    first = max(0.0, lp - final.bound) + options.relative_gap * abs(lp)
    clock = time.perf_counter()
    slack = first if _complete(
        master, final, first, clock + LISTING_SHARE * (deadline - clock)) is not None else 0.0
    # the MIP stops at the plan within the gap of L, or when optimal over its covers
    solved = _master_mip(master, deadline, final.bound, options, say)
    if solved is None:
        return None
    upper, chosen, bound = solved
    bound = max(final.bound, min(bound, final.bound + slack))
    if (upper - bound) / max(abs(upper), 1e-9) <= options.relative_gap \
            or time.perf_counter() >= deadline:
        return upper, chosen, bound
    listing = time.perf_counter() + LISTING_SHARE * (deadline - time.perf_counter())
    full = upper - final.bound
    wider = full if _complete(master, final, full, listing) is not None else slack
    trial = max(first, slack) * WIDEN
    while wider < full and trial < full and time.perf_counter() < listing \
            and _complete(master, final, trial, listing) is not None:
        wider, trial = trial, trial * WIDEN  # fits: try wider
    say(f"  every cover within {wider:,.2f} of the bound listed ({len(master.covers)} in all)")
    if wider <= slack:
        return upper, chosen, bound
    again = _master_mip(master, deadline, final.bound, options, say, chosen)
    if again is None:
        return upper, chosen, bound
    if again[0] < upper:
        upper, chosen = again[0], again[1]
    return upper, chosen, max(bound, min(again[2], final.bound + wider))


def _master_mip(master: CoverMaster, deadline: float, bound: float, options: SolveOptions,
                say: Callable[[str], None], start: list[Cover] | None = None
                ) -> tuple[float, list[Cover], float] | None:
    """The master MIP over every cover it has, stopped once within the gap of `bound`:
    (cost, covers, the MIP's bound over them (-inf when it has none))."""
    target = bound + options.relative_gap * abs(bound) * (1 - 1e-6)
    clock = time.perf_counter()
    solved = _cover_mip(master, np.arange(len(master.covers)), deadline, options, target, start)
    say(f"  MIP over {len(master.covers)} covers: "
        f"{'no plan' if solved is None else f'{solved[0]:,.2f}, bound {solved[2]}'} "
        f"({time.perf_counter() - clock:.2f} s)")
    if solved is None:
        return None
    return solved[0], solved[1], -math.inf if solved[2] is None else solved[2]


def _add_cheapest(master: CoverMaster, priced: Priced) -> None:
    """The covers of every workload's cheapest variant at these prices (the others' only
    when they price out: most variants never do, and their covers would swell the LP)."""
    pricing = master.pricing
    pair_workload = np.array([i for i, _ in pricing.pairs], dtype=np.int64)
    pairs = _cheapest_pairs(priced, pair_workload)
    subs = np.flatnonzero(np.isin(pricing.pair_of, pairs))
    for cover in covers_from(master.structure, pricing, priced, subs):
        master.add_cover(cover)


def _cover_mip(master: CoverMaster, positions: np.ndarray, deadline: float,
               options: SolveOptions, target: float = -math.inf,
               start: list[Cover] | None = None
               ) -> tuple[float, list[Cover], float | None] | None:
    """The integer master over these covers (by position), every choice, pools and
    preparations; `start` (a plan of these covers) is HiGHS's first incumbent."""
    structure, pricing = master.structure, master.pricing
    rows = master.link + master.subs
    model = _SparseModel(rows)
    row_lower = [-math.inf] * master.coupling + [1.0] * master.workloads + [0.0] * master.subs
    row_upper = list(structure.rows.upper) + [1.0] * master.workloads + [0.0] * master.subs
    add_pools_and_preparations(model, structure)
    choice_at = model.count
    for pair in range(len(pricing.pairs)):
        entries, values = master.choice_entries(pair)
        model.column(0.0, 0.0, 1.0, True, entries, values)
    periods = structure.fleet.periods
    return choose_columns(model, master.covers, positions, lambda cover: master.link + cover.sub,
                          None if start is None else [master.position_of(c) for c in start],
                          {choice_at + cover.sub // periods: 1.0 for cover in start or ()},
                          (row_lower, row_upper), deadline, options, target)


def _complete(master: CoverMaster, priced: Priced, slack: float, deadline: float
              ) -> np.ndarray | None:
    """Add every cover within `slack` of its period's cheapest (less its variant's own excess)
    at the duals `priced` was priced at: the positions of all of them, None when there would
    be too many. Lower bounds stand in for optima the pricing only bounded (`Patterns.bound`):
    that only lists more."""
    structure, pricing = master.structure, master.pricing
    pair_workload = np.array([i for i, _ in pricing.pairs], dtype=np.int64)
    lowest = np.full(pricing.problems.count, np.inf)
    lowest[priced.patterns.subproblem] = priced.patterns.lower()
    pair_lower = np.bincount(pricing.pair_of, weights=lowest,
                             minlength=len(pricing.pairs)) + priced.constant
    room = slack - (pair_lower - priced.best[pair_workload])  # per pair
    room_here = room[pricing.pair_of]
    usable = np.isfinite(lowest) & np.isfinite(room_here) & (room_here >= -1e-9)
    base = np.where(usable, lowest, 0.0)
    threshold = np.where(usable, base + np.maximum(np.where(usable, room_here, 0.0), 0.0)
                         + 1e-9 * np.maximum(1.0, np.abs(base)), -1.0)
    weights = item_weights(structure, pricing, priced.duals)
    found = search(pricing.problems, weights, "all", threshold=threshold,
                   deadline=time.monotonic() + max(0.0, deadline - time.perf_counter()),
                   budget=LISTING_STATES)
    if len(found.incomplete) or len(found) > MAX_PROOF_COVERS:
        return None
    positions = []
    for position in range(len(found)):
        items, counts = found.of(position)
        cover = cover_of(structure, pricing, int(found.subproblem[position]),
                         pricing.candidate[items].tolist(), counts.tolist())
        master.add_cover(cover)
        positions.append(master.position_of(cover))
    return np.array(positions, dtype=np.int64)
