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
tried whose covers are few, and the bound is L + s at most.

Planning hour by hour: with the pool sizes and each workload's variant fixed, only the
budget joins the periods, so each period is a small problem of its own (`Period`): its own
LP by column generation gives duals that make its Lagrangian bound B tight, the MIP over the
covers within a slack s of their cheapest (instance counts for subproblems with too many)
is its optimum when that costs at most B + s (the same argument, one period at a time).
(Hours of equal demand are one period already, at their summed cost:
`decompose.period_classes`.) After column generation: a plan this way with pool
sizes and variants from a dive on the master LP (`PLAN_SHARE` of the time left; it stops
early when the periods would not fit; a period it has no time for gets a quick plan, a MIP
over a few covers, `_quick_plan`), the master MIP from it (`MIP_SHARE`), and that plan
improved this way with its own pool sizes and variants, from its own covers (never dearer).
On the generated fleets the master MIP mends the dive's pool sizes at 10 workloads (a plan
2 % cheaper); at 100 it finds none cheaper, and planning the periods again gains 0.1-0.2 %.

Where the gap is (measured on `generate(10, 0, hourly=True)`, where L = 102,196): not the
pool sizes' integrality: branching on them in the master (best first, column generation at
each node) had raised the bound to 102,357 (+0.16 %) after 45 nodes, and the nodes with every
pool whole had LPs of 102,217-102,415; with
the pool sizes and variants of such a node fixed, the periods planned exactly cost 103,147
(and 102,218 when each hour could pick its variant, which no plan may). The gap is the
instance counts' granularity within each hour under whole pools and quotas, with one variant
all day: closing it needs branching on covers (or on instances per hour), not more columns
and not the pools alone. Nor the variants alone: the master LP splits one workload's variant
(0.89 / 0.11), and with every workload's variant fixed to the dive's (covers of the others
left out, column generation to the end) its LP is 102,215, with the pools fixed too 102,222,
while the periods planned with both fixed cost at least 102,963: branching on the variant
choice would close 2 % of the gap. The whole MIP, given 20 minutes, ended at 106,506, 6 %
from proven.

Which coupling makes the gap (measured in session 6 on the same fleet, 300 s limit): with the
quotas removed it stays (0.92 %); with reserved pricing removed (no pools, quotas kept) the
decomposition proves 0.004 % in 6 s. So it is the committed pools: a pool's size is one whole
number for all hours and its instances are paid for busy or not, and within an hour the LP
shares them among workloads in fractions (one workload's covers with 2 and 3 committed
instances mixed, a fraction of the on-demand top-up paid). Closing it means deciding per hour
how whole pools are shared, for every pool size and variant choice that could be optimal.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from planner.backends.base import SolveOptions
from planner.backends.highs import silent_highs
from planner.decompose import (
    PENALTY,
    PRIMAL_SIMPLEX,
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
from planner.patterns import (
    FEASIBILITY,
    Dominance,
    Patterns,
    Subproblems,
    concatenate,
    priced_costs,
    restrict,
    search,
    select,
)
from planner.schema import HOURS_PER_MONTH

QUICK_SECONDS = 0.2
"""Time a period's quick plan (`_quick_plan`) gets at least, past the planning's deadline."""
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
FIRST_PROOF_COVERS = 5_000
"""Covers within the first slack (the LP's own gap) at most: that proof is for fleets whose
MIP over the covers is solved fast."""
FIRST_LISTING_STATES = 200_000
"""Partial covers listing them may process."""
DUAL_SIMPLEX = 1
"""HiGHS `simplex_strategy` value for the dual simplex: after a bound change the last basis
stays dual feasible, so the dive re-solves from it."""
FIRST_PERIOD_SLACK = 0.005
"""A period is first solved over the covers within this share of its Lagrangian bound of
their subproblem's cheapest."""
PERIOD_ATTEMPTS = 4
"""Solves of one period's MIP at most (see `_plan_period`)."""
PERIOD_GAP = 1e-3
"""A period's plan this close to its bound is kept without a wider listing: the whole plan's
gap is the decomposition's bound's, an order of magnitude wider."""
MAX_PERIOD_COVERS = 300
"""Covers one subproblem may list within a period's slack; past it (or past
`PERIOD_LISTING_STATES`), the period MIP takes the subproblem's instance counts instead."""
PERIOD_LISTING_STATES = 300_000
"""Partial covers one period's listing may process (`patterns.search`'s budget)."""
SCARCE = 3.0
"""The limits' duals times this price the covers that leave room on them (`_seeds`)."""
PERIOD_ROUNDS = 50
"""Column-generation rounds on one period's LP at most."""
PLAN_SHARE = 0.25
"""Share of the time left after column generation that planning period by period (pool sizes
and variants from `_dive`) may take. Measured on `generate(n, 0, hourly=True)` with a 60 s
limit once pricing was compiled (column generation done in 12 s at 100 workloads): 0.35 let
the periods of 100 workloads finish with the dive's pool sizes and variants, a plan 1.8 %
from the bound that the master MIP, left 9 s, did not improve; 0.25 stops them after one
period and leaves the MIP the time it needs (0.6 %); at 10 workloads both give the same plan."""
DIVE_SHARE = 0.5
"""Share of that time the dive may take (the pools still fractional then are rounded)."""
MIP_SHARE = 0.3
"""Share of the time left then that the master MIP over the covers (from that plan) may take;
the rest plans each period again with its plan's pool sizes and variants. With a whole plan
from the dive (a quick plan for each period not solved in time), the periods use the time
better than the MIP: at 0.6, 60 s gave $783,845-783,902 on 100 workloads x 24 h and $103,219
on 10; at 0.1-0.3, $783,422 and $103,191."""


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
        cost += count * float(structure.solver_cost[k] * structure.fleet.weight[period])
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
    priced = _first_covers(master, deadline)
    if priced is None:
        return None  # some workload has no pattern at all
    generating = started + CG_SHARE * (deadline - started)
    final, rounds = _generate(master, priced, generating, options, say)
    planning = _share(PLAN_SHARE, deadline)
    cost, covers = _plan_by_periods(master, final, _dive(master, _share(DIVE_SHARE, planning)),
                                    planning, options, say)
    if cost is not None and _proven(cost, final.bound, options):
        upper, chosen, bound = cost, covers, final.bound
    else:
        solved = _solve_master(master, final, _share(MIP_SHARE, deadline), options, say,
                               (cost, covers))
        if solved is None and time.perf_counter() < deadline:  # no plan yet: all time left
            solved = _solve_master(master, final, deadline, options, say, (cost, covers))
        if solved is None:
            return None
        upper, chosen, bound = solved
        if not _proven(upper, bound, options) and time.perf_counter() < deadline:
            # the plan's pool sizes and variants, each period on its own from the plan
            again, better = _plan_by_periods(master, final, _fixing_of(master, chosen),
                                             deadline, options, say, chosen)
            if again is not None and again < upper:
                upper, chosen = again, better
    say(f"  plan {upper:,.2f}, bound {bound:,.2f}")
    return Reduction.of(fleet, list(chosen), upper, bound, time.perf_counter() - started,
                        rounds, len(master.covers))


def _first_covers(master: CoverMaster, deadline: float | None = None) -> Priced | None:
    """The first covers: each workload's cheapest variant's at pool prices paid in full per
    hour and spread over the hours and, with quotas, at prices that keep off quotas and
    pools (pools are capped by the quotas: the first master LP then rarely needs its
    slack). The last pricing (spread pools), None when some workload has no cover at all;
    exact until the `deadline` (see `decompose.price`)."""
    structure, pricing = master.structure, master.pricing
    fleet = structure.fleet
    priced = None
    for spread in SPREADS:
        duals = np.zeros(len(structure.rows.upper))
        share = fleet.weight / fleet.weight.sum() if spread else np.ones(fleet.periods)
        for number, fee in enumerate(structure.pool_fee.tolist()):
            rows = structure.pool_rows[number]
            duals[rows[rows >= 0]] = -fee * share[rows >= 0]
        priced = price(structure, pricing, duals, deadline=deadline)
        if not np.isfinite(priced.best).all():
            return None
        _add_cheapest(master, priced)
    if structure.quota_rows.size:
        dearest = float((fleet.fee + fleet.hourly * HOURS_PER_MONTH).max(initial=0.0))
        avoiding = np.zeros(len(structure.rows.upper))
        avoiding[structure.quota_rows.ravel()] = -dearest
        avoiding[structure.pool_rows[structure.pool_rows >= 0]] = -dearest
        _add_cheapest(master, price(structure, pricing, avoiding, deadline=deadline))
    return priced


def _generate(master: CoverMaster, priced: Priced, deadline: float, options: SolveOptions,
              say: Callable[[str], None]) -> tuple[Priced, int]:
    """Column generation until no cover prices out (or the bound is close enough, or the
    deadline: no round starts that would end past it at the last round's pace): the round
    with the best Lagrangian bound, and the rounds run."""
    structure, pricing = master.structure, master.pricing
    final = priced
    rounds = 0
    exact = False  # heuristic pricing of the hardest subproblems until nothing prices out
    last_objective = math.inf
    last_round = 0.0  # seconds: a round that would end past the deadline is not started
    while rounds < MAX_ROUNDS and time.perf_counter() + last_round < deadline:
        rounds += 1
        began = clock = time.perf_counter()
        objective, duals, link = master.solve_covers()
        lp_seconds = time.perf_counter() - clock
        clock = time.perf_counter()
        smoothed = rounds > 1 and SMOOTHING > 0
        out = np.zeros(0, dtype=np.int64)
        for at in ((SMOOTHING * final.duals + (1 - SMOOTHING) * duals, duals) if smoothed
                   else (duals,)):
            priced = price(structure, pricing, at, priced, exact, deadline=deadline)
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
        last_round = time.perf_counter() - began
        if stop:
            break
    return final, rounds


def _share(share: float, deadline: float) -> float:
    """The time by which this share of the time left is up."""
    return time.perf_counter() + share * max(0.0, deadline - time.perf_counter())


def _proven(upper: float, bound: float, options: SolveOptions) -> bool:
    """Whether a plan costing `upper` is within the requested gap of `bound`."""
    return (upper - bound) / max(abs(upper), 1e-9) <= options.relative_gap


def _solve_master(master: CoverMaster, final: Priced, deadline: float, options: SolveOptions,
                  say: Callable[[str], None], start: tuple[float | None, list[Cover]]
                  ) -> tuple[float, list[Cover], float] | None:
    """The master MIP over the covers generated and every cover within a slack s of its
    period's cheapest at the bound's duals: (plan's cost, its covers, proven bound), None
    without a plan. A plan either uses only covers within s, which the MIP bounds, or costs
    at least L + s. First s is the LP's own gap (what proves a plan at the LP's cost); if the
    plan is dearer (and there is time left), s = U - L (the MIP's optimum is then the
    problem's) or, when the covers within it are too many, the widest s whose covers are
    few, and the MIP again from its plan. The first listing only when column generation
    converged, and of few covers (`FIRST_PROOF_COVERS`, `FIRST_LISTING_STATES`): else no MIP
    in the time left proves a plan within it, and listing and adding them (50,000 on 100
    workloads) took 12 s of the MIP's. The
    `start` covers, when a whole plan (a cost given), start the first MIP, and stand unless
    it finds a cheaper one. Part of a plan does not: HiGHS completes a partial start by a
    search of its own that ignores the time limit (on 100 workloads x 24 h the MIP ran 12-17 s
    past its deadline)."""
    cost, covers = start
    lp = master.solve_covers()[0]
    first = max(0.0, lp - final.bound) + options.relative_gap * abs(lp)
    clock = time.perf_counter()
    slack = first if lp - final.bound <= options.relative_gap * abs(lp) and _complete(
        master, final, first, clock + LISTING_SHARE * (deadline - clock),
        FIRST_PROOF_COVERS, FIRST_LISTING_STATES) is not None else 0.0
    # the MIP stops at the plan within the gap of L, or when optimal over its covers
    solved = _master_mip(master, deadline, final.bound, options, say,
                         covers if cost is not None and covers else None)
    if solved is None:
        return None if cost is None else (cost, covers, final.bound)
    upper, chosen, bound = solved
    if cost is not None and cost < upper:
        upper, chosen = cost, covers
    bound = max(final.bound, min(bound, final.bound + slack))
    if _proven(upper, bound, options) or time.perf_counter() >= deadline:
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
    if solved is None:
        say(f"  MIP over {len(master.covers)} covers: no plan ({time.perf_counter() - clock:.2f} s)")
        return None
    own = "none yet" if solved[2] is None else f"{solved[2]:,.2f}"
    say(f"  MIP over {len(master.covers)} covers: {solved[0]:,.2f} (its own bound {own}) "
        f"({time.perf_counter() - clock:.2f} s)")
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


def _complete(master: CoverMaster, priced: Priced, slack: float, deadline: float,
              most: int = MAX_PROOF_COVERS, states: int = LISTING_STATES) -> np.ndarray | None:
    """Add every cover within `slack` of its period's cheapest (less its variant's own excess)
    at the duals `priced` was priced at: the positions of all of them, None when there would
    be more than `most` (or listing them takes more than `states` partial covers). Lower
    bounds stand in for optima the pricing only bounded (`Patterns.bound`): that only lists
    more."""
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
                   deadline=deadline,
                   budget=states)
    if len(found.incomplete) or len(found) > most:
        return None
    positions = []
    for position in range(len(found)):
        items, counts = found.of(position)
        cover = cover_of(structure, pricing, int(found.subproblem[position]),
                         pricing.candidate[items].tolist(), counts.tolist())
        master.add_cover(cover)
        positions.append(master.position_of(cover))
    return np.array(positions, dtype=np.int64)



@dataclass(frozen=True)
class Fixing:
    """What a plan built period by period holds fixed: the integer pool sizes (new instances
    per pool) and each workload's (workload, variant) pair."""

    pools: np.ndarray
    pairs: np.ndarray


def _dive(master: CoverMaster, deadline: float) -> Fixing:
    """Whole pool sizes and one variant per workload from the master LP over the covers it
    has (no pricing: a few LP re-solves). The most fractional pool, weighted by its fee, goes
    to the side (down or up) whose LP costs less, until every pool is whole; then each
    workload keeps its variant with the largest share. Nearest rounding is not good enough:
    on `generate(10, 0, hourly=True)` it gave a plan 2 % dearer than the dive's, but it is
    what the pools not yet whole get at the `deadline` (each LP is limited to the time left:
    on 1,000 workloads x 24 h one LP of the dive ran for minutes)."""
    import highspy

    highs, structure = master.highs, master.structure
    lower = np.zeros(len(structure.pool_fee))
    upper = structure.pool_upper.astype(float).copy()
    # the LP with the last round's covers: by the primal simplex, from column generation's
    # basis (the dual simplex, from a basis that new columns leave dual infeasible, took
    # minutes on 1,000 workloads x 24 h); then the dual simplex, which re-solves fast after
    # a bound change
    highs.setOptionValue("time_limit", max(0.05, deadline - time.perf_counter()))
    values = master.solve_lp()[3]
    highs.setOptionValue("simplex_strategy", DUAL_SIMPLEX)
    while time.perf_counter() < deadline:
        sizes = values[master.pool_columns]
        away = np.minimum(sizes - np.floor(sizes), np.ceil(sizes) - sizes)
        away[away < 1e-6] = 0.0
        if not away.any():
            break
        pool = int(np.argmax(away * np.maximum(structure.pool_fee, 1e-9)))
        sides = []
        for low, high in ((lower[pool], math.floor(sizes[pool])),
                          (math.ceil(sizes[pool]), upper[pool])):
            highs.changeColBounds(master.pool_columns[pool], float(low), float(high))
            highs.setOptionValue("time_limit", max(0.05, deadline - time.perf_counter()))
            objective, _, _, solution = master.solve_lp()
            if highs.getModelStatus() == highspy.HighsModelStatus.kOptimal:
                sides.append((objective, low, high, solution))
        if not sides:  # out of time: the rest is rounded to nearest
            break
        _, lower[pool], upper[pool], values = min(sides, key=lambda side: side[0])
        highs.changeColBounds(master.pool_columns[pool], float(lower[pool]), float(upper[pool]))
    pools = np.round(values[master.pool_columns])
    pairs = _largest_pairs(master.pricing,
                           values[master.first_cover - len(master.pricing.pairs):master.first_cover])
    _release(master)
    return Fixing(pools, pairs)


def _fixing_of(master: CoverMaster, covers: list[Cover]) -> Fixing:
    """A plan's pool sizes (its busiest hour's use of each pool, past the instances already
    held) and variants."""
    structure = master.structure
    use = np.zeros(len(structure.rows.upper))
    for cover in covers:
        use[list(cover.rows)] += cover.values
    rows = structure.pool_rows
    busy = np.where(rows >= 0, use[rows] - np.array(structure.rows.upper)[rows], 0.0)
    pools = np.maximum(np.ceil(busy.max(axis=1, initial=0.0) - 1e-9), 0.0)
    pairs = np.unique(master.pricing.pair_of[[cover.sub for cover in covers]])
    return Fixing(pools, pairs)


def _largest_pairs(pricing: Pricing, choices: np.ndarray) -> np.ndarray:
    """Per workload, its pair with the largest choice value (ascending)."""
    pair_workload = np.array([i for i, _ in pricing.pairs], dtype=np.int64)
    order = np.lexsort((-choices, pair_workload))
    first = np.ones(len(order), dtype=bool)
    first[1:] = pair_workload[order][1:] != pair_workload[order][:-1]
    return np.sort(order[first])


def _release(master: CoverMaster) -> None:
    """The master's pool bounds, simplex and time limit as column generation left them."""
    import highspy

    for pool, column in enumerate(master.pool_columns):
        master.highs.changeColBounds(column, 0.0, float(master.structure.pool_upper[pool]))
    master.highs.setOptionValue("simplex_strategy", PRIMAL_SIMPLEX)
    master.highs.setOptionValue("time_limit", highspy.kHighsInf)


@dataclass(frozen=True)
class Period:
    """One period with the pool sizes and variants fixed: its subproblems (one per workload),
    its coupling rows (pools, quotas) and what one instance of each item puts in them. Given
    those, only the budget joins the periods; each is planned on its own."""

    number: int
    subs: np.ndarray
    """The subproblems (ascending)."""
    part: Subproblems
    """Those subproblems alone."""
    original: np.ndarray
    """Per item of `part`: its item in the pricing."""
    rows: np.ndarray
    limits: np.ndarray
    usage: np.ndarray
    """[item of `part`, row]: one instance's entry."""
    cost: np.ndarray
    """Per item of `part`: one instance's objective coefficient."""
    dominance: Dominance

    def weights(self, duals: np.ndarray) -> np.ndarray:
        """Priced cost of one instance of each item at these duals of `rows` (<= 0)."""
        return np.maximum(self.cost - self.usage @ duals, 0.0)

    def cheapest(self, weights: np.ndarray, exact: bool = True,
                 known: Patterns | None = None) -> Patterns:
        """Each subproblem's cheapest cover at these item weights (`patterns.search`; not
        `exact`: the hardest keep the best found, bounded; `known`: covers to start from)."""
        return search(self.part, weights, "best", incumbent=known, exact=exact,
                      keep=self.dominance.undominated(weights))


def _period_of(master: CoverMaster, number: int, fixing: Fixing) -> Period:
    """Period `number` with these pool sizes and variants. A pool's new instances count
    against its quotas every hour, busy or not: they lower the quotas' limits."""
    structure, pricing = master.structure, master.pricing
    periods = structure.fleet.periods
    subs = np.sort(fixing.pairs * periods + number)
    part, original = restrict(pricing.problems, subs)
    pools = np.flatnonzero(structure.pool_rows[:, number] >= 0)
    rows = np.concatenate([structure.pool_rows[pools, number], structure.quota_rows[:, number]])
    limits = np.array(structure.rows.upper, dtype=float)[rows]
    limits[:len(pools)] += fixing.pools[pools]
    limits[len(pools):] -= structure.pool_quota.T @ fixing.pools
    column = np.full(len(structure.rows.upper), -1, dtype=np.int64)
    column[rows] = np.arange(len(rows))
    k = pricing.candidate[original]
    committed = structure.fleet.committed[k]
    usage = np.zeros((len(k), len(rows)))
    held = np.flatnonzero(committed)
    usage[held, column[structure.pool_rows[structure.pool_of[k[held]], number]]] = 1.0
    free = np.flatnonzero(~committed)
    for quota in range(structure.quota_rows.shape[0]):
        usage[free, column[structure.quota_rows[quota, number]]] = \
            structure.quota_usage[structure.fleet.offer[k[free]], quota]
    return Period(number, subs, part, original, rows, limits, usage,
                  pricing.item_cost[original], Dominance.of(part))


class PeriodLP:
    """One period's LP over covers (HiGHS): a cover per subproblem under the period's limits,
    with a priced slack on each limit so that it is never infeasible."""

    def __init__(self, master: CoverMaster, period: Period) -> None:
        import highspy

        self.period = period
        self.highs = silent_highs()
        limits = len(period.rows)
        subs = len(period.subs)
        self.highs.addRows(limits + subs,
                           np.concatenate([np.full(limits, -highspy.kHighsInf), np.ones(subs)]),
                           np.concatenate([period.limits, np.ones(subs)]), 0,
                           np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.int32), np.zeros(0))
        fleet = master.structure.fleet
        penalty = PENALTY * max(1.0, float((fleet.fee + HOURS_PER_MONTH * fleet.hourly).max(
            initial=0.0)))
        for row in range(limits):
            self.highs.addCol(penalty, 0.0, highspy.kHighsInf, 1, np.array([row], dtype=np.int32),
                              np.array([-1.0]))
        self.covers: list[tuple[int, np.ndarray, np.ndarray]] = []
        """Per cover column (after the slacks): (subproblem, items, counts), as in `part`."""

    def add(self, found: Patterns, positions: np.ndarray) -> None:
        """These covers of `found` (by position) as columns."""
        period = self.period
        for position in positions.tolist():
            items, counts = found.of(position)
            self.covers.append((int(found.subproblem[position]), items, counts))
            entries = counts @ period.usage[items]
            used = np.flatnonzero(entries)
            rows = np.append(used, len(period.rows) + int(found.subproblem[position]))
            # no upper bound (the convexity row is one): a bounded column could price out
            self.highs.addCol(float(counts @ period.cost[items]), 0.0, math.inf, len(rows),
                              rows.astype(np.int32), np.append(entries[used], 1.0))

    def solve(self) -> tuple[np.ndarray, np.ndarray]:
        """(the limits' duals (clipped <= 0), each subproblem's convexity dual)."""
        self.highs.run()
        duals = np.array(self.highs.getSolution().row_dual, dtype=float)
        limits = len(self.period.rows)
        return np.minimum(duals[:limits], 0.0), duals[limits:]

    def support(self) -> Patterns:
        """The covers the last solution uses."""
        values = np.array(self.highs.getSolution().col_value)[len(self.period.rows):]
        used = [self.covers[n] for n in np.flatnonzero(values > 1e-9).tolist()]
        return _patterns_of(used)


def _local(master: CoverMaster, period: Period, cover: Cover) -> Triple:
    """A cover of one of the period's subproblems, numbered as in `Period.part`."""
    local = int(np.searchsorted(period.subs, cover.sub))
    first, stop = int(period.part.start[local]), int(period.part.start[local + 1])
    candidates = master.pricing.candidate[period.original[first:stop]]
    order = np.argsort(candidates)
    items = first + order[np.searchsorted(candidates, cover.candidates, sorter=order)]
    return local, items, np.array(cover.counts, dtype=np.int64)


def _patterns_of(covers: list[tuple[int, np.ndarray, np.ndarray]]) -> Patterns:
    """(subproblem, items, counts) triples as `Patterns` (costs not kept)."""
    sizes = [len(items) for _, items, _ in covers]
    nothing = np.zeros(0, dtype=np.int64)
    return Patterns(np.array([sub for sub, _, _ in covers], dtype=np.int64),
                    np.zeros(len(covers)), np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64),
                    np.concatenate([nothing] + [items for _, items, _ in covers]).astype(np.int64),
                    np.concatenate([nothing] + [counts for _, _, counts in covers]).astype(np.int64))


def _period_duals(master: CoverMaster, period: Period, start: np.ndarray,
                  known: list[Cover], deadline: float) -> tuple[np.ndarray, Patterns]:
    """Duals of the period's limits from column generation on its LP (from the `known`
    covers of its subproblems, column generation's, and those cheapest at the `start`
    duals), and the covers its solution uses: the duals make the period's Lagrangian bound
    tight, so that few covers are within the slack its MIP needs."""
    lp = PeriodLP(master, period)
    if known:
        seeds = _patterns_of([_local(master, period, cover) for cover in known])
        lp.add(seeds, np.arange(len(seeds)))
    duals, convexity = start, np.zeros(len(period.subs))
    found = period.cheapest(period.weights(duals), exact=False)
    out = np.arange(len(found))
    exact = False  # heuristic pricing (the hardest subproblems are a MIP each when exact)
    for _ in range(PERIOD_ROUNDS):
        if time.perf_counter() >= deadline or (exact and not len(out)):
            break
        exact = not len(out)  # until it finds nothing: then once exactly
        if len(out):
            lp.add(found, out)
            duals, convexity = lp.solve()
        found = period.cheapest(period.weights(duals), exact=exact, known=found)
        here = convexity[found.subproblem]
        out = np.flatnonzero(found.cost - here < -1e-9 * np.maximum(1.0, np.abs(here)))
    return duals, lp.support()


Triple = tuple[int, np.ndarray, np.ndarray]
"""One cover within a `Period`: (subproblem, items, counts), numbered as in `Period.part`."""


@dataclass(frozen=True)
class PeriodPlan:
    """One period's covers (one per subproblem) with the pool sizes and variants fixed."""

    cost: float
    covers: list[Triple]
    bound: float
    """A lower bound on the period's cost with those pool sizes and variants."""


def _covers_of(master: CoverMaster, period: Period, plan: PeriodPlan | None) -> list[Cover]:
    """A period's plan as master covers (none without a plan)."""
    return [] if plan is None else [
        cover_of(master.structure, master.pricing, int(period.subs[local]),
                 master.pricing.candidate[period.original[items]].tolist(), counts.tolist())
        for local, items, counts in plan.covers]


def _quick_plan(master: CoverMaster, period: Period, final: Priced, known: list[Cover],
                deadline: float, options: SolveOptions) -> PeriodPlan | None:
    """A plan of a period there was no time to solve: the MIP over a few covers per
    subproblem (`_seeds` at column generation's duals, with the covers `known`; no column
    generation of its own), for `QUICK_SECONDS` at least. Its bound holds only over those
    covers: none is given. Without it, 60 workloads x 168 h on a 30 s limit (38 distinct
    periods, 0.05 s each) had ended without a plan: the master MIP over 42,000 covers found
    none in the time left."""
    support = _patterns_of([_local(master, period, cover) for cover in known])
    found = _period_mip(period, _seeds(period, final.duals[period.rows], support, []),
                        max(deadline, time.perf_counter() + QUICK_SECONDS), options)
    return None if found is None else replace(found, bound=-math.inf)


def _plan_period(period: Period, duals: np.ndarray, support: Patterns, deadline: float,
                 options: SolveOptions, start: list[Triple] | None = None
                 ) -> PeriodPlan | None:
    """The cheapest covers of the period under its limits. First the MIP over a few covers
    per subproblem (`_seeds`: fast, and a start for the next). At duals y <= 0 of the
    limits, a plan of the period costs at least B = the sum of each subproblem's cheapest
    priced cover + y x limits, plus its covers' excess over their cheapest: the MIP over the
    covers within a slack s of their cheapest (instance counts for subproblems with too many)
    finds the period's optimum when that costs at most B + s. Subproblems with very many
    covers within s first get fewer (`_listing`): fast, and right unless the MIP finds no plan;
    then they get instance counts, then s grows by `WIDEN`, twice, then every subproblem gets
    instance counts (exact, and slow). A plan dearer than B + s by more than `PERIOD_GAP` is
    improved once, from the covers within what it needs. A `start` (a plan of the period)
    is among the first covers and the first MIP's start: no plan found is dearer."""
    weights = period.weights(duals)
    best = period.cheapest(weights)
    cheapest = np.full(len(period.subs), np.inf)
    cheapest[best.subproblem] = best.lower()
    if not np.isfinite(cheapest).all():
        return None
    bound = float(cheapest.sum() + duals @ period.limits)
    found = _period_mip(period, _seeds(period, duals, support, start or []), deadline,
                        options, start or None)
    if found is not None:  # its MIP's bound is over the seeds alone
        found = replace(found, bound=bound)
    slack = FIRST_PERIOD_SLACK * max(abs(bound), 1.0)
    strict, tries = False, 0
    while tries < PERIOD_ATTEMPTS and time.perf_counter() < deadline and (
            found is None or found.cost - bound > PERIOD_GAP * abs(found.cost)):
        tries += 1
        listing = slack <= WIDEN ** 2 * FIRST_PERIOD_SLACK * max(abs(bound), 1.0)
        listed, narrowed = _listing(period, weights, cheapest, slack, deadline) \
            if listing else (None, np.zeros(len(period.subs), dtype=bool))
        solved = _period_mip(period, listed, deadline, options,
                             None if found is None else found.covers,
                             narrowed if strict else None)
        if solved is None:  # too few covers to meet the limits: all of them, or a wider s
            if listing and not strict and narrowed.any():
                strict = True
            else:
                slack *= WIDEN
            continue
        exact = not listing or strict or not narrowed.any()
        if found is None or solved.cost <= found.cost:
            found = replace(solved, bound=max(bound, min(solved.bound, bound + slack)
                                              if exact else bound))
        if found.cost <= bound + slack * (1 + 1e-9) and exact:
            break
        slack, strict = found.cost - bound, True
    return found


def _seeds(period: Period, duals: np.ndarray, support: Patterns, start: list[Triple]
           ) -> Patterns:
    """A few covers per subproblem that some plan of the period likely combines: those of
    its LP's solution and of `start`, and each subproblem's cheapest with the limits' prices
    raised (for the subproblems the LP splits, which its rounding must move off the scarce
    limits) and with the limits avoided where it can (a plan in the hardest hours, where the
    MIP over many covers finds none, or only a poor one, in its time)."""
    dearest = float(period.cost.max(initial=0.0)) + 1.0
    pieces = [support, period.cheapest(period.weights(SCARCE * duals), exact=False),
              period.cheapest(period.weights(np.full(len(duals), -dearest)), exact=False),
              _patterns_of(start)]
    triples = {_key(int(found.subproblem[n]), *found.of(n)): (int(found.subproblem[n]),
                                                                *found.of(n))
               for found in pieces for n in range(len(found))}
    return _patterns_of(list(triples.values()))


def _listing(period: Period, weights: np.ndarray, cheapest: np.ndarray, slack: float,
             deadline: float) -> tuple[Patterns, np.ndarray]:
    """Each subproblem's covers within `slack` of its cheapest or, for those with too many
    for `PERIOD_LISTING_STATES` (small instances, a wide slack), within a narrower slack
    (divided by `WIDEN` until they fit, at most `PERIOD_ATTEMPTS` times): the covers, and
    which subproblems got a narrower slack (or none: their covers are `incomplete`)."""
    room = np.full(len(period.subs), float(slack))
    pending = np.ones(len(period.subs), dtype=bool)
    narrowed = np.zeros(len(period.subs), dtype=bool)
    pieces = []
    for _ in range(PERIOD_ATTEMPTS):
        listed = search(period.part, weights, "all",
                        threshold=np.where(pending, cheapest + room
                                           + 1e-9 * np.maximum(1.0, np.abs(cheapest)), -1.0),
                        deadline=deadline,
                        budget=PERIOD_LISTING_STATES)
        given_up = np.zeros(len(period.subs), dtype=bool)
        given_up[listed.incomplete] = True
        pieces.append(select(listed, pending[listed.subproblem] & ~given_up[listed.subproblem]))
        pending &= given_up
        narrowed |= pending
        if not pending.any():
            break
        room[pending] /= WIDEN
    return replace(concatenate(pieces), incomplete=np.flatnonzero(pending)), narrowed


def _period_mip(period: Period, listed: Patterns | None, deadline: float,
                options: SolveOptions, start: list[Triple] | None = None,
                counted: np.ndarray | None = None) -> PeriodPlan | None:
    """The period's MIP: a binary per listed cover (one per subproblem), and integer instance
    counts for the subproblems with too many (or incompletely listed) covers, those
    `counted`, or all without a listing; HiGHS starts from `start` (a plan of these covers),
    when given. Its plan and bound (over these covers), None without a plan."""
    count = len(period.subs)
    listed = listed if listed is not None else _patterns_of([])
    per_sub = np.bincount(listed.subproblem, minlength=count)
    counted = (per_sub > MAX_PERIOD_COVERS) | (per_sub == 0) | (
        counted if counted is not None else False)
    counted[listed.incomplete] = True
    model = _SparseModel(len(period.rows) + count)
    bounds = ([-math.inf] * len(period.rows) + [1.0] * count, period.limits.tolist() + [1.0] * count)
    chosen = [n for n in range(len(listed)) if not counted[listed.subproblem[n]]]
    column_of: dict[tuple[int, bytes, bytes], int] = {}
    for n in chosen:
        items, counts = listed.of(n)
        entries = counts @ period.usage[items]
        used = np.flatnonzero(entries)
        column_of[_key(int(listed.subproblem[n]), items, counts)] = model.column(
            float(counts @ period.cost[items]), 0.0, 1.0, True,
            [*used.tolist(), len(period.rows) + int(listed.subproblem[n])],
            [*entries[used].tolist(), 1.0])
    counting = {local: _count_columns(period, local, model, bounds)
                for local in np.flatnonzero(counted).tolist()}
    for sub, items, counts in start or ():
        if sub in counting:
            model.start.update(zip(counting[sub][items - period.part.start[sub]].tolist(),
                                   counts.astype(float).tolist(), strict=True))
        elif _key(sub, items, counts) in column_of:
            model.start[column_of[_key(sub, items, counts)]] = 1.0
    solved = model.solve(*bounds, deadline, options)
    if solved is None:
        return None
    cost, values, mip_bound = solved
    plan = [(int(listed.subproblem[n]), *listed.of(n)) for n in chosen
            if values[column_of[_key(int(listed.subproblem[n]), *listed.of(n))]] > 0.5]
    for local, columns in counting.items():
        numbers = np.round(values[columns]).astype(np.int64)
        used = np.flatnonzero(numbers > 0)
        plan.append((local, int(period.part.start[local]) + used, numbers[used]))
    return PeriodPlan(cost, plan, -math.inf if mip_bound is None else mip_bound)


def _key(sub: int, items: np.ndarray, counts: np.ndarray) -> tuple[int, bytes, bytes]:
    """A cover's identity, whatever the order of its items."""
    order = np.argsort(items)
    return sub, items[order].astype(np.int64).tobytes(), counts[order].astype(np.int64).tobytes()


def _count_columns(period: Period, local: int, model: _SparseModel,
                   bounds: tuple[list[float], list[float]]) -> np.ndarray:
    """Subproblem `local` as integer instance counts of its items in the period MIP (its
    demand, replica and spot rows as the MIP writes them; its one-cover row, which counts do
    not use, left at zero): the items' model columns."""
    part = period.part
    row_lower, row_upper = bounds
    row_lower[len(period.rows) + local] = row_upper[len(period.rows) + local] = 0.0
    first, stop = int(part.start[local]), int(part.start[local + 1])
    sides = [(part.item_demand, model.row(float(part.demand[local]) - FEASIBILITY, math.inf,
                                          *bounds) if part.demand[local] > 0 else -1),
             (part.item_replicas, model.row(float(part.replicas[local]), math.inf, *bounds)
              if part.replicas[local] > 0 else -1),
             (part.item_spot, model.row(-math.inf, FEASIBILITY, *bounds)
              if (part.item_spot[first:stop] != 0).any() else -1)]
    columns = []
    for item in range(first, stop):
        used = np.flatnonzero(period.usage[item])
        rows = used.tolist() + [row for _, row in sides if row >= 0]
        values = period.usage[item, used].tolist() + [float(of[item]) for of, row in sides
                                                      if row >= 0]
        columns.append(model.column(float(period.cost[item]), 0.0, float(part.upper[item]), True,
                                    rows, values))
    return np.array(columns, dtype=np.int64)


def _plan_by_periods(master: CoverMaster, final: Priced, fixing: Fixing, deadline: float,
                     options: SolveOptions, say: Callable[[str], None],
                     start: list[Cover] | None = None) -> tuple[float | None, list[Cover]]:
    """A plan with these pool sizes and variants, each period solved on its own (from duals
    of its own LP; from its part of `start`, a plan with them, when given), priced whole by
    the master MIP over its covers (pools, preparations, budget): (cost, covers). A period
    without a plan in time (or not started by the deadline) keeps its part of `start`: the
    plan is then no dearer. Without `start`, planning stops once the periods left would not
    fit in the time left at the pace so far; without a plan for every period, the cost is
    None and the covers are those found (for the master MIP to complete)."""
    clock = time.perf_counter()
    starting: dict[int, list[Cover]] = defaultdict(list)
    for cover in start or ():
        starting[int(master.pricing.sub_period[cover.sub])].append(cover)
    known: dict[int, list[Cover]] = defaultdict(list)
    chosen = set(fixing.pairs.tolist())
    for cover in master.covers:
        if int(master.pricing.pair_of[cover.sub]) in chosen:
            known[int(master.pricing.sub_period[cover.sub])].append(cover)
    periods = [_period_of(master, number, fixing)
               for number in range(master.structure.fleet.periods)]
    plans: dict[int, PeriodPlan | None] = {}
    covers: list[Cover] = []
    whole = True
    least = 0.0  # the periods' bounds with these pool sizes and variants
    for period in periods:
        count = len(periods) - len(plans)
        pace = (time.perf_counter() - clock) / max(len(plans), 1) * count
        left = deadline - time.perf_counter()
        if (start and left > 0) or pace <= left:
            share = time.perf_counter() + (deadline - time.perf_counter()) / count
            duals, support = _period_duals(master, period, final.duals[period.rows],
                                           known[period.number], share)
            plans[period.number] = _plan_period(period, duals, support, share, options,
                                                [_local(master, period, cover)
                                                 for cover in starting[period.number]])
        plan = plans.get(period.number)
        least += -math.inf if plan is None else plan.bound
        if plan is not None:
            covers += _covers_of(master, period, plan)
        elif starting[period.number]:
            covers += starting[period.number]
        else:  # not solved in time: a quick plan, with no bound
            found = _quick_plan(master, period, final, known[period.number], deadline, options)
            whole = whole and found is not None
            covers += _covers_of(master, period, found)
    for cover in covers:
        master.add_cover(cover)
    planned = sum(plan is not None for plan in plans.values())
    fees = float(master.structure.pool_fee @ fixing.pools)
    say(f"  pool sizes and variants fixed, {planned} of {len(periods)} periods solved on "
        f"their own ({time.perf_counter() - clock:.2f} s): "
        f"{sum(cover.cost for cover in covers) + fees:,.2f}, at least {least + fees:,.2f} "
        f"with these pool sizes and variants")
    if not whole or (start and not planned):  # nothing new: `start` is priced already
        return None, covers
    positions = np.array([master.position_of(cover) for cover in covers], dtype=np.int64)
    priced = _cover_mip(master, positions, max(deadline, time.perf_counter() + 1.0), options,
                        start=covers)
    return (None, covers) if priced is None else (priced[0], priced[1])
