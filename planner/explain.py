"""Explanations: why each workload runs where it does, and why a problem has no plan.

Every figure here is recomputed from candidates and the plan's allocations, never typed.
"""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, NamedTuple, TypeVar

import numpy as np

from planner.backends import Status
from planner.budget_mode import requests_per_month
from planner.candidates import Candidate, CandidateSet, Reason, Rejection, config_choice
from planner.catalog import Catalog, PricingMode
from planner.costing import (
    busy_by_period,
    busy_summary,
    peak_instances,
    standalone_cost,
    standalone_costs,
)
from planner.enumeration import REASONS, CandidateTable, RejectionArrays
from planner.formulation import Formulation, quota_matches
from planner.plan import Allocation
from planner.problem import (
    AnyWorkload,
    BatchWorkload,
    OnlineWorkload,
    Problem,
    ServingWorkload,
    TrainingWorkload,
)
from planner.schema import HOURS_PER_MONTH
from planner.training import TrainingOption

if TYPE_CHECKING:
    from planner.relaxations import Resolver

T = TypeVar("T")

MAX_LINES_PER_SECTION = 4
HIDDEN_REASONS = {Reason.dominated, Reason.no_price}
ROUNDING = 1e-9
"""Relative margin under a cost computed on arrays, for a sum Python rounds differently."""


def money(value: float) -> str:
    return f"${value:,.0f}"


def demand_text(workload: AnyWorkload) -> str:
    if isinstance(workload, OnlineWorkload):
        flat = len(set(workload.hourly)) == 1
        return f"{workload.peak_rps:g} req/s" + ("" if flat else " at peak")
    if isinstance(workload, BatchWorkload):
        window = workload.window
        return (f"{workload.requests_per_day:,.0f} requests/day in "
                f"{window.start_hour:02d}:00-{window.end_hour:02d}:00")
    return f"{workload.train_tokens:,.0f} tokens within {workload.deadline_days:g} days"


def describe(candidate: Candidate, workload_model: str | None = None) -> str:
    config = candidate.config
    return (f"{config.offer.accelerator}x{config.offer.count} {config.offer.key} "
            f"{candidate.mode.value} {config_choice(config, workload_model or config.model)} "
            f"b{config.batch}")


def coupled_reason(problem: Problem, catalog: Catalog, workload: ServingWorkload,
                   candidate: Candidate, allocations: tuple[Allocation, ...]) -> str:
    """Which shared limit keeps a cheaper feasible candidate out of the plan."""
    if candidate.mode is PricingMode.spot and workload.max_spot_share < 1:
        return (f"spot share would be 100 % > allowed {workload.max_spot_share:.0%}")
    needed = peak_instances(problem, workload, candidate) * candidate.accelerators
    for quota in problem.quotas:
        if not quota_matches(quota, catalog, candidate):
            continue
        used_by_others = sum(
            a.instances * a.accelerators_per_instance for a in allocations
            if a.workload != workload.name
            and quota.covers(catalog, a.accelerator, a.provider, a.region))
        if used_by_others + needed > quota.max_accelerators:
            left = max(0, quota.max_accelerators - used_by_others)
            return (f"needs {needed} {candidate.config.offer.accelerator}, quota allows "
                    f"{left} more")
    if problem.budget_usd_per_month is not None:
        return "the joint plan under the budget is cheaper overall"
    if candidate.mode.committed:
        return "a pool of its own would idle off-peak; shared or hourly capacity is cheaper"
    return "the joint plan is cheaper overall (shared limits)"


def rejection_cost(problem: Problem, workload: ServingWorkload, rejection: Rejection,
                   utilisation: float) -> float | None:
    """About what the rejected option would have cost for this workload, at hourly rates."""
    if rejection.cost_usd_per_month is None:
        return None
    perf = rejection.estimate
    return _alone_cost(problem, workload, rejection.cost_usd_per_month,
                       None if perf is None else perf.throughput_rps,
                       rejection.config.replicas_per_instance, utilisation)


def _alone_cost(problem: Problem, workload: ServingWorkload, price_usd_per_month: float,
                throughput_rps: float | None, replicas_per_instance: int,
                utilisation: float) -> float:
    """`rejection_cost` from the rejection's figures: without a throughput, its price."""
    if throughput_rps is None or throughput_rps <= 0:
        return price_usd_per_month
    capacity = throughput_rps * utilisation * replicas_per_instance
    busy = busy_by_period(problem, workload, capacity, replicas_per_instance)
    return sum(busy) * price_usd_per_month / problem.periods


def _rejection_floors(problem: Problem, workload: ServingWorkload, rejections: RejectionArrays,
                      utilisation: float) -> np.ndarray:
    """`rejection_cost` of every rejection at once, less a margin for the rounding of a batch
    workload's sum (`busy_summary`): a floor under each exact cost (NaN without a price)."""
    throughput = rejections.throughput_rps
    costed = throughput > 0  # NaN (no estimate) is not
    replicas = rejections.replicas_per_instance
    capacity = np.where(costed, throughput, 1.0) * utilisation * replicas
    total, _ = busy_summary(problem, workload, capacity, replicas)
    return np.where(costed, total * rejections.price / problem.periods * (1 - ROUNDING),
                    rejections.price)


def _cheapest_per_key(items: Iterable[tuple[tuple[str, ...], float, T]],
                      text: Callable[[float, T], str]) -> list[tuple[float, str]]:
    """Per key, the first of the cheapest items, as (cost, `text`), cheapest first: the text
    is written only for those."""
    best: dict[tuple[str, ...], tuple[float, T]] = {}
    for key, cost, item in items:
        if key not in best or cost < best[key][0]:
            best[key] = (cost, item)
    return sorted((cost, text(cost, item)) for cost, item in best.values())


def explain_workload(problem: Problem, catalog: Catalog, workload: ServingWorkload,
                     candidates: CandidateSet, mine: list[Allocation],
                     allocations: tuple[Allocation, ...], plan_cost: float,
                     served: str | None = None, *,
                     plan_choices: frozenset[tuple[str, str]] | None = None) -> list[str]:
    """Runner-ups on other hardware and pricing modes, and why cheaper options lost.
    `plan_cost` is the workload's cost in the plan, its share of committed pools included;
    `served` what the plan serves when it is not the whole demand (alternatives are still
    costed for the whole demand); `plan_choices` the (model, variant) choices the plan serves
    (`planner.families.served_choices`), computed from `allocations` when None: a caller
    explaining every workload of a plan computes them once."""
    from planner.families import model_choice_lines, one_time_reason, served_choices  # it imports this module

    choices = served_choices(problem, allocations) if plan_choices is None else plan_choices

    def why_lost(candidate: Candidate, cost: float) -> str:
        return (one_time_reason(problem, catalog, workload, candidate, cost, choices, plan_cost)
                or coupled_reason(problem, catalog, workload, candidate, allocations))

    options = candidates.options_of(workload.name)
    costs = _option_costs(problem, workload, options,
                          candidates.candidate_table_for(workload.name))
    accelerators, modes = costs.accelerator, costs.mode
    allowed = ~((modes == PRICING.index(PricingMode.spot)) & (workload.max_spot_share < 1))

    def cheapest(groups: np.ndarray, eligible: np.ndarray, text: Callable[[float, Candidate], str],
                 limit: float = math.inf) -> list[tuple[float, str]]:
        """Per group, the first of the cheapest eligible options costing less than `limit`,
        as (cost, `text`), cheapest first: the text is written only for those."""
        found = _cheapest_per_group(groups, costs.floor, np.flatnonzero(eligible), costs.cost_of,
                                    limit)
        return sorted((cost, text(cost, options[position])) for cost, position in found)

    lines = [f"plan: {money(plan_cost)}/month for {served or demand_text(workload)} "
             f"from {len(options)} feasible configurations"]
    chosen_accelerators = {a.accelerator for a in mine}
    runner_ups = cheapest(
        accelerators, allowed & _among(accelerators, [
            name not in chosen_accelerators for name in costs.accelerator_names]),
        lambda cost, c: f"runner-up on {c.config.offer.accelerator}: "
                        f"{describe(c, workload.model)} at {money(cost)}/month "
                        f"({_delta(cost - plan_cost)})")
    lines += [text for _, text in runner_ups[:MAX_LINES_PER_SECTION - 1]]
    chosen_modes = {a.pricing for a in mine}
    by_mode = cheapest(
        modes, allowed & _among(modes, [m.value not in chosen_modes for m in PRICING]),
        lambda cost, c: f"best {c.mode.value}: {describe(c, workload.model)} at "
                        f"{money(cost)}/month ({_delta(cost - plan_cost)})")
    lines += [text for _, text in by_mode]
    cheaper_feasible = cheapest(
        accelerators * len(PRICING) + modes, np.ones(len(options), dtype=bool),
        lambda cost, c: f"{describe(c, workload.model)} would cost {money(cost)}/month alone, "
                        f"but {why_lost(c, cost)}", plan_cost - 0.5)
    lines += [text for _, text in cheaper_feasible[:MAX_LINES_PER_SECTION]]
    ruled_out = _ruled_out(problem, workload, candidates, plan_cost - 0.5)
    lines += [f"ruled out: {text}" for _, text in ruled_out[:MAX_LINES_PER_SECTION]]
    lines += model_choice_lines(problem, catalog, workload, candidates, mine, choices,
                                plan_cost)
    return lines


PRICING = tuple(PricingMode)
"""`_OptionCosts.mode` is a position in this."""


class _OptionCosts(NamedTuple):
    """A workload's candidates (options) as what the explanation groups and costs them by."""

    accelerator: np.ndarray
    """Position in `accelerator_names`."""
    accelerator_names: list[str]
    mode: np.ndarray
    """Position in `PRICING`."""
    floor: np.ndarray
    """Under `standalone_cost`, and close to it."""
    cost_of: Callable[[int], float]
    """The option's `standalone_cost`, by position."""


def _option_costs(problem: Problem, workload: ServingWorkload, options: Sequence[Candidate],
                  table: CandidateTable | None) -> _OptionCosts:
    """From the table's arrays when it holds the workload's options: then only the options
    that could be picked are costed one by one."""
    if table is None:
        names = sorted({c.config.offer.accelerator for c in options})
        costs = [standalone_cost(problem, workload, c) for c in options]
        return _OptionCosts(
            np.array([names.index(c.config.offer.accelerator) for c in options], dtype=np.int64),
            names, np.array([PRICING.index(c.mode) for c in options], dtype=np.int64),
            np.array(costs, dtype=float), costs.__getitem__)
    context = table.context
    arrays = table.candidate_arrays(table.index[workload.name])
    modes = np.array([PRICING.index(m) for m in context.modes], dtype=np.int64)[arrays.mode]
    committed = np.array([mode.committed for mode in PRICING], dtype=bool)[modes]
    floors = standalone_costs(problem, workload, arrays, committed) * (1 - ROUNDING)
    known: dict[int, float] = {}

    def cost_of(position: int) -> float:
        if position not in known:
            known[position] = standalone_cost(problem, workload, options[position])
        return known[position]

    return _OptionCosts(context.accelerator_code[arrays.offer], context.accelerator_names, modes,
                        floors, cost_of)


def _among(codes: np.ndarray, flags: list[bool]) -> np.ndarray:
    """Per code, its flag."""
    return np.array(flags, dtype=bool)[codes]


def _cheapest_per_group(groups: np.ndarray, floors: np.ndarray, positions: np.ndarray,
                        cost_of: Callable[[int], float | None], limit: float,
                        stages: np.ndarray | None = None) -> list[tuple[float, int]]:
    """Per group, of the `positions` (ascending) costing less than `limit`: the first of the
    cheapest, of the furthest stage (the least `stages`) where there is any, as (cost,
    position). `floors` under the costs spare costing most positions (`_first_furthest`)."""
    positions = positions[floors[positions] < limit]
    stage = np.zeros(len(positions), dtype=np.int64) if stages is None else stages[positions]
    group = groups[positions]
    order = np.lexsort((positions, floors[positions], stage, group))
    positions, group = positions[order], group[order]
    items = list(zip(stage[order].tolist(), floors[positions].tolist(), positions.tolist(),
                     positions.tolist(), strict=True))
    found = []
    ends = [*(np.flatnonzero(np.diff(group)) + 1).tolist(), len(items)]
    for start, stop in itertools.pairwise([0, *ends]):
        best = _first_furthest(items[start:stop], cost_of, limit)
        if best is not None:
            found.append((best[0], best[2]))
    return found


def _priced_rejections(problem: Problem, workload: ServingWorkload, candidates: CandidateSet,
                       limit: float) -> Iterator[tuple[Rejection, float]]:
    """The shown rejections that may cost less than `limit`, each with a floor on its cost.

    Any configuration needs an instance in each period where an infinitely fast one needs
    any (demand or `min_replicas`), so a rejection costs at least its price for those periods
    alone: one whose floor reaches `limit` is passed over without costing it (most of them,
    on a large catalog)."""
    periods = problem.periods
    fewest = sum(1 for busy in busy_by_period(problem, workload, math.inf, 1) if busy > 0)
    share = min(fewest / periods, 1.0)
    # the same test on the catalog's arrays first, with room for rounding: most are not built
    below = limit / share * (1 + 1e-6) + 1e-6 if share > 0 and limit > 0 else None
    for rejection in candidates.rejections_for(workload.name, below):
        price = rejection.cost_usd_per_month
        if rejection.reason in HIDDEN_REASONS or price is None:
            continue
        # no more than `rejection_cost` in floating point too: the same operations on fewer
        # instances, or the price itself when it has no throughput to divide by
        floor = min(fewest * price / periods, price)
        if floor < limit:
            yield rejection, floor


def _cheaper_rejections(problem: Problem, workload: ServingWorkload, candidates: CandidateSet,
                        limit: float) -> Iterator[tuple[Rejection, float]]:
    """The shown rejections that would have cost less than `limit`, with that cost."""
    utilisation = problem.performance.utilisation_cap
    for rejection, _ in _priced_rejections(problem, workload, candidates, limit):
        cost = rejection_cost(problem, workload, rejection, utilisation)
        if cost is not None and cost < limit:
            yield rejection, cost


def _ruled_out(problem: Problem, workload: ServingWorkload, candidates: CandidateSet,
               limit: float) -> list[tuple[float, str]]:
    """`_furthest_per_accelerator` of `_cheaper_rejections`, costing only the rejections that
    could be picked: per accelerator, stages from the furthest down, and within a stage in
    order of their floors until a floor exceeds the cheapest cost found (ties go to the first
    in enumeration order, as there). From the table's arrays when it holds the workload's
    rejections: then only the ones picked are built, and the floors are the costs themselves
    (up to rounding)."""
    table = candidates.rejection_table_for(workload.name)
    if table is not None:
        return _ruled_out_of_table(problem, workload, table, limit)
    utilisation = problem.performance.utilisation_cap
    by_accelerator: dict[str, list[tuple[int, float, int, Rejection]]] = defaultdict(list)
    for order, (rejection, floor) in enumerate(
            _priced_rejections(problem, workload, candidates, limit)):
        by_accelerator[rejection.config.offer.accelerator].append(
            (-STAGE.get(rejection.reason, 0), floor, order, rejection))
    picked: list[tuple[Rejection, float]] = []
    for items in by_accelerator.values():
        items.sort(key=lambda item: item[:3])
        best = _first_furthest(items, lambda r: rejection_cost(problem, workload, r, utilisation),
                               limit)
        if best is not None:
            picked.append((best[2], best[0]))
    return _furthest_per_accelerator(picked, workload.model)


def _ruled_out_of_table(problem: Problem, workload: ServingWorkload, table: CandidateTable,
                        limit: float) -> list[tuple[float, str]]:
    """`_ruled_out` from the table's arrays: positions stand for the rejections."""
    utilisation = problem.performance.utilisation_cap
    index = table.index[workload.name]
    rejections = table.rejection_arrays(index)
    floors = _rejection_floors(problem, workload, rejections, utilisation)
    codes = rejections.reason
    shown = np.flatnonzero(~HIDDEN_CODES[codes] & ~np.isnan(floors))  # NaN: no price

    def cost_of(position: int) -> float:
        speed = float(rejections.throughput_rps[position])
        return _alone_cost(problem, workload, float(rejections.price[position]),
                           None if math.isnan(speed) else speed,
                           int(rejections.replicas_per_instance[position]), utilisation)

    picked = _cheapest_per_group(table.context.accelerator_code[rejections.offer], floors,
                                 shown, cost_of, limit, -STAGE_CODES[codes])
    return _furthest_per_accelerator(
        [(table.rejection_at(index, position), cost) for cost, position in picked],
        workload.model)


def _first_furthest(items: list[tuple[int, float, int, T]], cost_of: Callable[[T], float | None],
                    limit: float) -> tuple[float, int, T] | None:
    """Of one accelerator's items (-stage, floor under the cost, order, item), sorted: the
    cheapest (first of equals) of the furthest stage with any costing less than `limit`,
    as (cost, order, item), costing items only until it is found."""
    best: tuple[float, int, T] | None = None
    for position, (stage, floor, order, item) in enumerate(items):
        # found: a nearer stage, or a floor above it in this one, cannot be picked instead
        if best is not None and (stage != items[position - 1][0] or floor > best[0]):
            break
        cost = cost_of(item)
        if cost is not None and cost < limit and (best is None or (cost, order) < best[:2]):
            best = (cost, order, item)
    return best


# How far a configuration got before it failed: the furthest failure is the most telling
# ("TPOT 61 ms > SLO 50 ms" says more than "no fp8 kernels on T4").
STAGE = {Reason.variant_not_allowed: 0, Reason.variant_unsupported: 1, Reason.quality: 2,
         Reason.quota: 2, Reason.spot_not_allowed: 2, Reason.memory: 3, Reason.ttft: 4,
         Reason.tpot: 4, Reason.e2e: 4}
STAGE_CODES = np.array([STAGE.get(reason, 0) for reason in REASONS], dtype=np.int64)
HIDDEN_CODES = np.array([reason in HIDDEN_REASONS for reason in REASONS], dtype=bool)
"""`STAGE` and `HIDDEN_REASONS` by `RejectionArrays.reason`."""


def _furthest_per_accelerator(items: Iterable[tuple[Rejection, float]], workload_model: str
                              ) -> list[tuple[float, str]]:
    """Per accelerator, the cheapest of the rejections that got furthest, cheapest first."""
    best: dict[str, tuple[int, float, Rejection]] = {}
    for rejection, cost in items:
        key = rejection.config.offer.accelerator
        rank = (-STAGE.get(rejection.reason, 0), cost)
        if key not in best or rank < (-best[key][0], best[key][1]):
            best[key] = (STAGE.get(rejection.reason, 0), cost, rejection)
    lines = []
    for _, cost, r in best.values():
        lines.append((cost, f"{r.config.offer.accelerator}x{r.config.tensor_parallel} "
                            f"{config_choice(r.config, workload_model)} b{r.config.batch} "
                            f"({r.config.offer.key}) from "
                            f"{money(cost)}/month: {r.detail}"))
    return sorted(lines)


def _delta(amount: float) -> str:
    return f"+{money(amount)}" if amount >= 0 else f"-{money(-amount)}"


def nearest_misses(workload: AnyWorkload, rejections: list[Rejection]) -> list[str]:
    """For a workload with no feasible configuration: how close each limit came."""
    by_reason: dict[Reason, list[Rejection]] = defaultdict(list)
    for rejection in rejections:
        by_reason[rejection.reason].append(rejection)
    lines = []
    targets = []
    if isinstance(workload, OnlineWorkload):
        slo = workload.slo
        targets = [(Reason.ttft, "ttft_ms", slo.ttft_ms), (Reason.tpot, "tpot_ms", slo.tpot_ms),
                   (Reason.e2e, "e2e_ms", slo.e2e_ms)]
    late = by_reason.get(Reason.deadline, [])
    if late:
        best = min(late, key=lambda r: float(r.detail.split(" h ", 1)[0].replace(",", "")))
        lines.append(f"fastest run: {best.detail} ({best.config.offer.key})")
    for reason, attribute, target in targets:
        misses = [r for r in by_reason.get(reason, []) if r.estimate is not None]
        if misses and target is not None:
            best = min(misses, key=lambda r: getattr(r.estimate, attribute))
            value = getattr(best.estimate, attribute)
            lines.append(f"best {reason.value.upper()} reachable is {value:.1f} ms on "
                         f"{best.config.offer.accelerator}x{best.config.tensor_parallel} "
                         f"{best.config.variant} batch {best.config.batch} vs SLO {target:g} ms")
    memory = [r for r in by_reason.get(Reason.memory, []) if r.estimate is not None]
    if memory:
        best = max(memory, key=lambda r: r.estimate.memory_usable_gb - r.estimate.memory_needed_gb
                   if r.estimate else 0)
        assert best.estimate is not None
        lines.append(f"closest memory fit: {best.estimate.memory_needed_gb:.1f} GB needed vs "
                     f"{best.estimate.memory_usable_gb:.1f} GB on "
                     f"{best.config.tensor_parallel}x{best.config.offer.accelerator}")
    quality = by_reason.get(Reason.quality, [])
    if quality:
        lines.append(f"quality: {quality[0].detail} for the variants available")
    counts = ", ".join(f"{reason.value} {len(items)}" for reason, items in sorted(
        by_reason.items(), key=lambda item: -len(item[1])))
    if counts:
        lines.append(f"rejected configurations by reason: {counts}")
    return lines


def diagnose(problem: Problem, catalog: Catalog, candidates: CandidateSet, status: Status,
             training: tuple[TrainingOption, ...] = (), *,
             formulation: Formulation | None = None, resolver: Resolver | None = None,
             message: str | None = None) -> list[str]:
    """Why there is no plan: per-workload dead ends first, then coupled limits. With the MIP
    (`formulation`) and a way to re-solve (`resolver`), the smallest changes that each admit a
    plan (`planner.relaxations`); without, the shared limits and a lower bound on the cost.
    `message`: the solver's own account of a `Status.error`."""
    if status is Status.no_solution:
        return ["time limit reached before any plan was found; raise --time-limit"]
    if status is Status.error:
        return [f"the solver failed: {message}" if message else
                "the solver failed; try another --solver"]
    lines = []
    trained = {option.workload for option in training}
    for workload in problem.workloads:
        options = candidates.for_workload(workload.name)
        if isinstance(workload, TrainingWorkload):
            if workload.name not in trained:
                lines.append(f"workload '{workload.name}': no offer and accelerator count "
                             "finishes the run in time")
                lines += [f"  {line}" for line in
                          nearest_misses(workload, candidates.rejections_for(workload.name))]
            continue
        if not options:
            lines.append(f"workload '{workload.name}': no configuration meets its limits")
            lines += [f"  {line}" for line in
                      nearest_misses(workload, candidates.rejections_for(workload.name))]
        elif workload.max_spot_share < 1 and all(c.mode is PricingMode.spot for c in options):
            lines.append(f"workload '{workload.name}': only spot configurations meet its limits, "
                         f"but max_spot_share is {workload.max_spot_share:.0%}; allow "
                         "on-demand or reserved pricing, or raise max_spot_share to 100%")
    if lines:
        return lines
    lines.append("every workload can be served on its own; shared limits conflict:")
    cheapest = sum(min(standalone_cost(problem, w, c) for c in candidates.for_workload(w.name)
                       if c.mode is not PricingMode.spot or w.max_spot_share >= 1)
                   for w in problem.workloads if not isinstance(w, TrainingWorkload))
    cheapest += sum(min(o.cost_usd_per_month for o in training if o.workload == w.name)
                    for w in problem.workloads if isinstance(w, TrainingWorkload))
    from planner.relaxations import RelaxationSearch, smallest_relaxations  # infeasible only

    search = None
    if formulation is not None and resolver is not None:  # its cuts hold only unrelaxed
        search = RelaxationSearch(problem, catalog, candidates, formulation.without_cuts(), resolver)
    budget = problem.budget_usd_per_month
    if budget is not None:
        least = search.budget() if search is not None else None
        if least is not None:
            lines.append(f"  budget {money(budget)}/month; the least cost that meets every SLO "
                         f"is {money(least)}/month (raise the budget by "
                         f"{money(max(0.0, least - budget))})")
        elif search is not None and "budget" in search.not_enough:
            lines.append(f"  budget {money(budget)}/month; other limits conflict too: without "
                         f"any budget there is still no plan (the workloads alone cost at least "
                         f"{money(cheapest)}/month)")
        else:
            lines.append(f"  budget {money(budget)}/month; the workloads alone cost at least "
                         f"{money(cheapest)}/month")
    if search is not None:
        return lines + [f"  {line}" for line in smallest_relaxations(search)]
    for number, quota in enumerate(problem.quotas):
        what = " ".join(part for part in (quota.accelerator, quota.provider, quota.region) if part)
        lines.append(f"  quota[{number}] {what}: max {quota.max_accelerators} accelerators")
    if any(getattr(w, "max_spot_share", 1) < 1 for w in problem.workloads):
        lines.append("  spot shares are capped for some workloads")
    return lines


def served_text(workload: OnlineWorkload, admitted: tuple[float, ...]) -> str | None:
    """`4.808 of 6 req/s admitted` when the plan serves less than the whole demand."""
    periods = len(admitted) or 1
    if requests_per_month(admitted, periods) >= \
            requests_per_month(workload.rates(periods), periods) * (1 - 1e-9):
        return None
    return f"{max(admitted):.4g} of {demand_text(workload)} admitted"


def admission_text(workload: OnlineWorkload, admitted: tuple[float, ...]
                   ) -> list[str]:
    """budget_mode serve_most_value: how much of the workload's demand the plan serves."""
    periods = len(admitted) or 1
    rates = workload.rates(periods)
    asked, served = requests_per_month(rates, periods), requests_per_month(admitted, periods)
    if served >= asked * (1 - 1e-9):
        return [f"admitted: the whole demand ({demand_text(workload)})"]
    order = f"priority {workload.priority}"
    if workload.value_usd_per_1k_requests is not None:
        order += f", ${workload.value_usd_per_1k_requests:g} per 1,000 requests"
    if len(set(rates)) == 1:
        amount = (f"admitted {admitted[0]:.4g} of {rates[0]:g} req/s ({served / asked:.0%}), "
                  f"{rates[0] - admitted[0]:.4g} req/s shed")
    else:
        amount = (f"admitted {served / asked:.0%} of the requests (at most {max(admitted):.4g} "
                  f"of {max(rates):g} req/s in an hour), {asked - served:,.0f} requests/month shed")
    return [f"{amount}: the budget and quotas do not cover every workload's whole demand, so "
            f"demand of higher priority and value is served first ({order})"]


def explain_training(workload: TrainingWorkload, options: list[TrainingOption],
                     chosen: TrainingOption | None, rejections: list[Rejection]) -> list[str]:
    """The chosen run, the best alternative per accelerator and per pricing mode, and why
    faster or cheaper counts were ruled out."""
    if chosen is None:
        return []
    runs = f"{workload.runs_per_horizon:g} run{'s' if workload.runs_per_horizon != 1 else ''}"
    lines = [f"plan: {chosen.label()} for {chosen.hours:,.0f} h per run at "
             f"{money(chosen.cost_usd_per_run)} ({runs} over the horizon: "
             f"{money(chosen.cost_usd_per_month)}/month)"
             + (f"; spot overhead {chosen.overhead:.1%}" if chosen.overhead else "")]
    others = _cheapest_per_key(
        (((o.offer.accelerator,), o.cost_usd_per_month, o) for o in options
         if o.offer.accelerator != chosen.offer.accelerator),
        lambda cost, o: f"runner-up on {o.offer.accelerator}: {o.label()} {o.hours:,.0f} h at "
                        f"{money(cost)}/month ({_delta(cost - chosen.cost_usd_per_month)})")
    lines += [text for _, text in others[:MAX_LINES_PER_SECTION - 1]]
    late = sorted((r for r in rejections if r.reason is Reason.deadline
                   and r.cost_usd_per_month is not None
                   and r.cost_usd_per_month <= chosen.cost_usd_per_month + 0.5),
                  key=lambda r: r.cost_usd_per_month or 0.0)
    lines += [f"ruled out: {r.config.offer.key} from {money(r.cost_usd_per_month or 0.0)}/month: "
              f"{r.detail}" for r in late[:MAX_LINES_PER_SECTION]]
    return lines


def hours_per_period(problem: Problem) -> float:
    return HOURS_PER_MONTH / problem.periods
