"""The smallest changes that make a problem with conflicting shared limits feasible.

Every workload can be served on its own, but the budget and quotas, together with the
workloads' policies (spot share, min_replicas, SLOs, quality floors), admit no plan. For each
limit alone we find the least relaxation that admits one:

* budget: the least cost without a budget (a re-solve);
* a quota, a workload's spot share or its min_replicas: an elastic variable on that limit's
  rows of the MIP (every other row kept), minimised: accelerators over the quota, replicas
  under the minimum, capacity over the spot share (read back as the share that plan needs);
* a workload's latency SLO or quality floor: re-solves with the limit relaxed to values at which
  rejected configurations become feasible (their TTFT, TPOT or E2E up to `SLO_REACH` times the
  SLO; the quality of a (model, variant) the workload allows, an alternative's included, so
  that a cheaper sibling under a lower floor is found), the loosest first to see whether any
  helps, then bisection for the least, at most `BISECTION_STEPS` re-solves (when they run out,
  the least value found to work is given).

Relaxations are ranked by their size relative to the limit (a spot share by its change in share
points). When no single change suffices, one elastic MIP over all the MIP's limits at once gives
a combination. A diagnosis runs at most `MAX_SOLVES` MIPs within a time budget (each solve gets
what is left of it) and says which limits it did not try.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from planner.backends import SolverResult, Status
from planner.candidates import CandidateSet, Reason, quality_of
from planner.catalog import Catalog
from planner.costing import standalone_cost
from planner.formulation import Formulation
from planner.linear import LinearModel, Row
from planner.plan import Plan, choice_text
from planner.problem import BatchWorkload, OnlineWorkload, Problem, Quota, ServingWorkload

MAX_SOLVES = 12
"""MIPs one diagnosis may run (elastic models and re-solves)."""
SLO_REACH = 3.0
"""How far an SLO is relaxed at most (times its value)."""
SLO_LADDER = (1.25, 1.5, 2.0)
"""Factors of the SLO the bisection tries first (then it narrows down between them)."""
BISECTION_STEPS = 4
SLO_METRICS = ((Reason.ttft, "ttft_ms", "TTFT"), (Reason.tpot, "tpot_ms", "TPOT"),
               (Reason.e2e, "e2e_ms", "E2E"))
TOLERANCE = 1e-6
MIN_SECONDS = 0.5
"""A solve is not started with less time than this left."""


@dataclass(frozen=True)
class Relaxation:
    """One change that makes the problem feasible on its own."""

    limit: str
    change: str
    relative: float
    """Size of the change relative to the limit (share points for a spot share)."""
    points: bool = False
    """`relative` is in share points."""

    def text(self) -> str:
        if self.points:
            return f"{self.change} (+{self.relative * 100:.0f} points)"
        return f"{self.change} ({self.relative:+.0%})"


def quota_text(quota: Quota) -> str:
    return " ".join(part for part in (quota.accelerator, quota.provider, quota.region) if part)


def elastic(model: LinearModel, limits: Sequence[tuple[list[int], float, float]]
            ) -> tuple[LinearModel, list[int]]:
    """A copy of `model` whose only cost is new columns e >= 0, one per (rows, cost, upper
    bound), each loosening its rows: subtracted where a row has an upper bound, added where it
    has a lower one."""
    columns = list(range(model.variable_count, model.variable_count + len(limits)))
    rows = list(model.rows)
    for column, (indices, _, _) in zip(columns, limits, strict=True):
        for index in indices:
            row = rows[index]
            sign = -1.0 if row.upper < math.inf else 1.0
            rows[index] = Row(row.name, row.group, [*row.indices, column],
                              [*row.coefficients, sign], row.lower, row.upper)
    return LinearModel(
        names=[*model.names, *(f"elastic[{n}]" for n in range(len(limits)))],
        lower=[*model.lower, *(0.0 for _ in limits)],
        upper=[*model.upper, *(bound for _, _, bound in limits)],
        integer=[*model.integer, *(False for _ in limits)],
        cost=[0.0] * model.variable_count + [cost for _, cost, _ in limits],
        rows=rows, groups=model.groups), columns


def lift_quota_caps(model: LinearModel, uncapped: dict[int, float], rows: list[int]
                    ) -> LinearModel:
    """A copy of `model` whose columns in `rows` are back at their bounds from before the
    quotas capped them, with the variant links (whose big-M is the bound) to match."""
    lifted = {i for index in rows for i in model.rows[index].indices if i in uncapped}
    if not lifted:
        return model
    upper = [uncapped[i] if i in lifted else bound for i, bound in enumerate(model.upper)]
    links = []
    for row in model.rows:
        use = next((i for i, c in zip(row.indices, row.coefficients, strict=True)
                    if i in lifted and c > 0), None)
        if row.group == "variant_link" and use is not None:
            row = Row(row.name, row.group, row.indices,
                      [c if c > 0 else -upper[use] for c in row.coefficients], row.lower, row.upper)
        links.append(row)
    return LinearModel(model.names, model.lower, upper, model.integer, model.cost, links,
                       model.groups, model.objective_offset)


def spot_share_needed(model: LinearModel, rows: list[int], values: Sequence[float],
                      share: float) -> float:
    """The largest spot share in `rows` (spot_share rows of `model`, written at `share`) of a
    solution to a model with more columns: a spot column's coefficient is capacity x
    (1 - share), another's -capacity x share."""
    needed = 0.0
    for index in rows:
        row = model.rows[index]
        spot = other = 0.0
        for column, coefficient in zip(row.indices, row.coefficients, strict=True):
            if coefficient > 0:
                spot += coefficient / (1 - share) * values[column]
            else:
                other += -coefficient / share * values[column]
        if spot + other > TOLERANCE:
            needed = max(needed, spot / (spot + other))
    return needed


def _with_workload(problem: Problem, name: str, **update: object) -> Problem:
    workloads = tuple(w.model_copy(update=update) if w.name == name else w
                      for w in problem.workloads)
    return problem.model_copy(update={"workloads": workloads})


@dataclass(frozen=True)
class Resolver:
    """How a diagnosis solves, each call within the given seconds: a changed MIP (its
    answer), or a changed problem (its plan, without explanations)."""

    solve_model: Callable[[LinearModel, float], SolverResult]
    solve_problem: Callable[[Problem, float], Plan]
    seconds: float
    """Time budget of the whole diagnosis."""
    max_solves: int = MAX_SOLVES


@dataclass
class RelaxationSearch:
    """One diagnosis: the problem, its MIP, and how to re-solve."""

    problem: Problem
    catalog: Catalog
    candidates: CandidateSet
    formulation: Formulation
    resolver: Resolver
    solves: int = 0
    found: list[Relaxation] = field(default_factory=list)
    not_enough: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    deadline: float = field(default=0.0)

    def __post_init__(self) -> None:
        self.deadline = time.monotonic() + self.resolver.seconds

    def _room(self, limit: str, record: bool = True) -> bool:
        """Count one more solve, or note `limit` as not tried when the cap or the time budget
        is reached."""
        if self.solves < self.resolver.max_solves and self._left() >= MIN_SECONDS:
            self.solves += 1
            return True
        if record:
            self.skipped.append(limit)
        return False

    def _left(self) -> float:
        return self.deadline - time.monotonic()

    def _plan(self, changed: Problem) -> Plan:
        return self.resolver.solve_problem(changed, max(MIN_SECONDS, self._left()))

    def _elastic(self, limit: str, rows: list[int] | None, upper: float = math.inf
                 ) -> tuple[tuple[float, ...], int] | None:
        """The solution minimising an elastic variable on `rows`, and the variable rounded up
        to whole units; None (noted as not enough, or not tried when the solve ran out of
        time) without one."""
        if not rows or not self._room(limit):
            return None
        base = self.formulation.model
        if self.formulation.row_tags[rows[0]].limit == "quota":  # its caps on bounds go too
            base = lift_quota_caps(base, self.formulation.uncapped_upper, rows)
        model, (column,) = elastic(base, [(rows, 1.0, upper)])
        result = self.resolver.solve_model(model, max(MIN_SECONDS, self._left()))
        if result.status not in (Status.optimal, Status.feasible):
            (self.not_enough if result.status is Status.infeasible else self.skipped).append(limit)
            return None
        return result.values, math.ceil(result.values[column] - TOLERANCE)

    def _feasible(self, limit: str, changed: Problem, record: bool = True) -> bool | None:
        """Whether `changed` has a plan; None when unknown (the cap or the time budget)."""
        if not self._room(limit, record):
            return None
        plan = self._plan(changed)
        if plan.objective_usd_per_month is not None:
            return True
        return False if plan.status == Status.infeasible.value else None

    # -- limits of the MIP ---------------------------------------------------------------

    def budget(self) -> float | None:
        """The least cost without a budget (None: no plan even then)."""
        budget = self.problem.budget_usd_per_month
        if budget is None or not self._room("budget"):
            return None
        plan = self._plan(self.problem.model_copy(update={"budget_usd_per_month": None}))
        least = plan.objective_usd_per_month
        if least is None:
            if plan.status == Status.infeasible.value:
                self.not_enough.append("budget")
            return None
        raise_by = max(0.0, least - budget)
        self.found.append(Relaxation("budget", f"raise the budget by ${raise_by:,.0f}/month to "
                                               f"${least:,.0f}/month", raise_by / budget))
        return least

    def quotas(self) -> None:
        limits = self.formulation.limit_rows()
        for number, quota in enumerate(self.problem.quotas):
            rows = limits.get(("quota", str(number)))
            limit = f"quota[{number}] {quota_text(quota)}"
            _, amount = self._elastic(limit, rows) or ((), 0)
            if amount > 0:
                self.found.append(Relaxation(
                    limit, f"allow {amount} more {quota_text(quota)} accelerators "
                           f"(quota[{number}]: {quota.max_accelerators} -> "
                           f"{quota.max_accelerators + amount})",
                    amount / max(1, quota.max_accelerators)))

    def spot_shares(self) -> None:
        limits = self.formulation.limit_rows()
        for workload in self.problem.workloads:
            rows = limits.get(("spot_share", workload.name))
            share = getattr(workload, "max_spot_share", 1.0)
            limit = f"{workload.name} max_spot_share"
            solved = self._elastic(limit, rows)
            if solved is None:
                continue
            needed = spot_share_needed(self.formulation.model, rows or [], solved[0], share)
            new = min(1.0, math.ceil(needed * 100 - TOLERANCE) / 100)
            if new > share:
                self.found.append(Relaxation(
                    limit, f"raise {workload.name} max_spot_share from {share:.0%} to {new:.0%}",
                    new - share, points=True))

    def min_replicas(self) -> None:
        limits = self.formulation.limit_rows()
        for workload in self.problem.online():
            rows = limits.get(("min_replicas", workload.name))
            if workload.min_replicas <= 1:
                continue
            limit = f"{workload.name} min_replicas"
            _, amount = self._elastic(limit, rows, workload.min_replicas - 1) or ((), 0)
            if amount > 0:
                self.found.append(Relaxation(
                    limit, f"lower {workload.name} min_replicas from {workload.min_replicas} to "
                           f"{workload.min_replicas - amount}", amount / workload.min_replicas))

    # -- limits on candidates (re-solves) ------------------------------------------------

    def _least(self, limit: str, targets: list[float], changed: Callable[[float], Problem],
               ladder: Sequence[int] = ()) -> float | None:
        """The first target (ordered from the least change) at which a plan exists: the last
        one first, then bisection (feasibility only grows along the targets), splitting at the
        `ladder` positions first while any lies in the range."""
        if not targets:
            return None
        loosest = self._feasible(limit, changed(targets[-1]))
        if not loosest:
            if loosest is False:
                self.not_enough.append(limit)
            return None
        low, high = 0, len(targets) - 1  # targets[high] is feasible
        for _ in range(BISECTION_STEPS):
            if low >= high:
                break
            inside = [i for i in ladder if low <= i < high]
            middle = inside[len(inside) // 2] if inside else (low + high) // 2
            works = self._feasible(limit, changed(targets[middle]), record=False)
            if works is None:
                break
            if works:
                high = middle
            else:
                low = middle + 1
        return targets[high]

    def slos(self, workload: OnlineWorkload) -> None:
        rejections = self.candidates.rejections_for(workload.name)
        for reason, attribute, label in SLO_METRICS:
            target = getattr(workload.slo, attribute)
            if target is None:
                continue
            targets = sorted({float(math.ceil(getattr(r.estimate, attribute))) for r in rejections
                              if r.reason is reason and r.estimate is not None})
            targets = [t for t in targets if target < t <= SLO_REACH * target]
            ladder = sorted({max(i for i, t in enumerate(targets) if t <= factor * target)
                             for factor in SLO_LADDER if targets and targets[0] <= factor * target})
            limit = f"{workload.name} {label}"

            def changed(value: float, attribute: str = attribute) -> Problem:
                slo = workload.slo.model_copy(update={attribute: value})
                return _with_workload(self.problem, workload.name, slo=slo)

            least = self._least(limit, targets, changed, ladder)
            if least is not None:
                self.found.append(Relaxation(
                    limit, f"relax {workload.name} {label} from {target:,.0f} ms to {least:,.0f} ms",
                    (least - target) / target))

    def quality_floor(self, workload: ServingWorkload) -> None:
        """Each floor lowered to the quality of an allowed (model, variant) below it: an
        alternative's, relative to the workload's own model at bf16 (`min_quality`), or its
        score (`min_quality_score`), may be what lets a cheaper sibling in."""
        qualities = choice_qualities(workload, self.catalog)
        for attribute, measure in (("min_quality", "relative"), ("min_quality_score", "score")):
            floor = getattr(workload, attribute)
            if floor is None:
                continue
            levels = {choice: float(getattr(choice, measure)) for choice in qualities}
            targets = sorted({level for level in levels.values() if level < floor}, reverse=True)
            limit = f"{workload.name} {attribute}"

            def changed(value: float, attribute: str = attribute) -> Problem:
                return _with_workload(self.problem, workload.name, **{attribute: value})

            least = self._least(limit, targets, changed)
            if least is not None:
                admitted = ", ".join(choice_text(choice.model, choice.variant, workload.model)
                                     for choice, level in levels.items() if level == least)
                self.found.append(Relaxation(
                    limit, f"lower {workload.name} {attribute} from {floor:.3f} to "
                           f"{_typed_floor(least)} (admits {admitted})", (floor - least) / floor))

    # -- all at once ---------------------------------------------------------------------

    def combined(self) -> list[str]:
        """One elastic MIP over every limit of the MIP, each weighted by 1 / its size."""
        limits = self.formulation.limit_rows()
        chosen: list[tuple[str, list[int], float, float]] = []
        budget = self.problem.budget_usd_per_month
        if budget is not None and ("budget", "") in limits:
            chosen.append(("budget", limits[("budget", "")], 1 / budget, math.inf))
        for number, quota in enumerate(self.problem.quotas):
            if ("quota", str(number)) in limits:
                chosen.append((f"quota {number}", limits[("quota", str(number))],
                               1 / max(1, quota.max_accelerators), math.inf))
        for workload in self.problem.online():
            if ("min_replicas", workload.name) in limits and workload.min_replicas > 1:
                chosen.append((f"replicas {workload.name}", limits[("min_replicas", workload.name)],
                               1 / workload.min_replicas, workload.min_replicas - 1))
        if not chosen or not self._room("all limits together"):
            return []
        quota_rows = [row for name, rows, _, _ in chosen if name.startswith("quota") for row in rows]
        base = lift_quota_caps(self.formulation.model, self.formulation.uncapped_upper, quota_rows)
        model, columns = elastic(base, [(rows, cost, upper) for _, rows, cost, upper in chosen])
        result = self.resolver.solve_model(model, max(MIN_SECONDS, self._left()))
        if result.status not in (Status.optimal, Status.feasible):
            return []
        parts = []
        for (name, _, _, _), column in zip(chosen, columns, strict=True):
            amount = result.values[column]
            kind, _, subject = name.partition(" ")
            if amount <= TOLERANCE:
                continue
            if kind == "budget":
                parts.append(f"raise the budget by ${amount:,.0f}/month")
            elif kind == "quota":
                quota = self.problem.quotas[int(subject)]
                parts.append(f"allow {math.ceil(amount - TOLERANCE)} more {quota_text(quota)} "
                             f"accelerators (quota[{subject}])")
            else:
                parts.append(f"lower {subject} min_replicas by {math.ceil(amount - TOLERANCE)}")
        return parts


class ChoiceQuality(NamedTuple):
    """The quality of one (model, variant) a workload allows, as its two floors measure it."""

    model: str
    variant: str
    relative: float
    """Relative to the workload's own model at bf16 (`min_quality`)."""
    score: float
    """The served model's score times the variant's retention (`min_quality_score`)."""


def _typed_floor(level: float) -> str:
    """`level` to 3 decimals, rounded down: typed back into the problem file, the floor must
    still admit what it was lowered for (0.8306 shown as 0.831 would not)."""
    shown = math.floor(level * 1000) / 1000
    text = f"{shown:.3f}"
    return text if float(text) <= level else f"{shown - 0.001:.3f}"


def choice_qualities(workload: ServingWorkload, catalog: Catalog) -> list[ChoiceQuality]:
    """Every (model, variant) the workload allows, its alternatives' included."""
    variants = [v for v in catalog.variants.values()
                if workload.variants is None or v.name in workload.variants]
    return [ChoiceQuality(model, variant.name, quality_of(workload, catalog, variant, model)[0],
                          catalog.models[model].quality * variant.quality_retention)
            for model in workload.models for variant in variants]


def serving_by_cost(problem: Problem, candidates: CandidateSet) -> list[ServingWorkload]:
    """Serving workloads, the most expensive alone first (their limits likely matter most)."""
    def alone(workload: ServingWorkload) -> float:
        costs = [standalone_cost(problem, workload, c) for c in candidates.for_workload(workload.name)]
        return min(costs, default=0.0)

    serving = [w for w in problem.workloads if isinstance(w, OnlineWorkload | BatchWorkload)]
    return sorted(serving, key=lambda w: (-alone(w), w.name))


def smallest_relaxations(search: RelaxationSearch) -> list[str]:
    """Lines for the diagnosis: each single change that admits a plan, smallest first; what
    is not enough alone; what was not tried; a combination when nothing single works. Call
    `search.budget()` first for the budget to be among them."""
    search.quotas()
    search.spot_shares()
    search.min_replicas()
    for workload in serving_by_cost(search.problem, search.candidates):
        if isinstance(workload, OnlineWorkload):
            search.slos(workload)
        search.quality_floor(workload)
    lines = []
    ranked = sorted(search.found, key=lambda r: (r.relative, r.limit))
    if ranked:
        lines.append("changes that each make a plan possible on their own, smallest first:")
        lines += [f"  {n}. {r.text()}" for n, r in enumerate(ranked, start=1)]
    if search.not_enough:
        lines.append(f"not enough on its own: {', '.join(search.not_enough)}")
    if not ranked:
        together = search.combined()
        if together:
            lines.append("no single change is enough; together: " + ", ".join(together))
    if search.skipped:
        lines.append(f"not tried (a diagnosis runs at most {search.resolver.max_solves} solves "
                     f"in {search.resolver.seconds:g} s): " + ", ".join(search.skipped))
    return lines
