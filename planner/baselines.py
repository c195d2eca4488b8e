"""Simple plans people would otherwise pick, each solved for real and re-checked.

* `one accelerator, on demand, bf16`: every serving workload on one accelerator type, rented
  on demand, running its own model (not an alternative: the baseline is what one would do
  without the planner) at bf16 (training runs on demand). The type is the one whose cheapest
  configurations for each workload alone add up lowest; the best `ACCELERATORS_TRIED` types
  are solved with every workload pinned to them and the cheapest plan is kept.
* `each workload alone`: a per-task optimiser. Each workload gets its cheapest single
  configuration (offer, pricing mode, model, variant) chosen and sized for it alone, committed pools
  bought for it alone; the plans are added up. A configuration whose solve fails alone (a
  quota) gives way to the next cheapest, up to `CONFIGS_TRIED`.

Baselines are solved without the budget (they are what one would pay) and re-checked with
`check_plan` against the problem as written, so a baseline over the budget, or over a quota
once the workloads are added up, shows as such.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from planner.budget_mode import MEET_ALL
from planner.candidates import Candidate
from planner.catalog import Catalog, PricingMode
from planner.costing import standalone_cost
from planner.pinning import Pin
from planner.plan import CommitmentResult, Plan, choice_text
from planner.problem import BatchWorkload, OnlineWorkload, Problem, TrainingWorkload, tile
from planner.solve import Prepared, preparation_cost, summarise, workload_results
from planner.verify import check_plan

ACCELERATORS_TRIED = 3
CONFIGS_TRIED = 3
BASELINE_VARIANT = "bf16"
ONE_ACCELERATOR = "one accelerator, on demand, bf16"
EACH_ALONE = "each workload alone"

SolvePinned = Callable[[Problem, Sequence[Pin]], Plan]
"""Solve a problem (whose candidates are a subset of the base problem's) with pins."""


@dataclass(frozen=True)
class Baseline:
    name: str
    description: str
    """What the baseline runs, e.g. `every workload on L40S`."""
    cost_usd_per_month: float | None
    saving_usd_per_month: float | None
    """The baseline's cost minus the optimum's: what the plan saves against it."""
    violations: tuple[str, ...] = ()
    """What `check_plan` finds against the problem as written (e.g. the budget)."""
    plan: Plan | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description,
                "cost_usd_per_month": self.cost_usd_per_month,
                "saving_usd_per_month": self.saving_usd_per_month,
                "valid": self.plan is not None and not self.violations,
                "violations": list(self.violations),
                "allocations": [dataclasses.asdict(a) for a in self.plan.allocations]
                if self.plan is not None else []}


def unbudgeted(problem: Problem) -> Problem:
    return problem.model_copy(update={"budget_usd_per_month": None, "budget_mode": MEET_ALL})


def _serving(problem: Problem) -> list[OnlineWorkload | BatchWorkload]:
    return [w for w in problem.workloads if isinstance(w, OnlineWorkload | BatchWorkload)]


def _result(problem: Problem, catalog: Catalog, name: str, description: str, plan: Plan | None,
            optimum: float) -> Baseline:
    if plan is None or plan.objective_usd_per_month is None:
        return Baseline(name, description, None, None, (), None)
    check = check_plan(problem, catalog, plan)
    return Baseline(name, description, check.cost_usd_per_month,
                    check.cost_usd_per_month - optimum, check.violations, plan)


def accelerator_ranking(problem: Problem, prepared: Prepared) -> list[tuple[float, str]]:
    """(sum of each serving workload's cheapest on-demand bf16 configuration of its own model
    alone, type) for every accelerator type that serves them all, cheapest first."""
    best: dict[tuple[str, str], float] = {}
    workloads = {w.name: w for w in _serving(problem)}
    for candidate in prepared.candidates.candidates:
        workload = workloads.get(candidate.workload)
        if workload is None or candidate.mode is not PricingMode.on_demand \
                or candidate.config.choice != (workload.model, BASELINE_VARIANT):
            continue
        key = (candidate.workload, candidate.config.offer.accelerator)
        cost = standalone_cost(problem, workload, candidate)
        best[key] = min(cost, best.get(key, cost))
    totals: dict[str, list[float]] = defaultdict(list)
    for (_, accelerator), cost in best.items():
        totals[accelerator].append(cost)
    return sorted((sum(costs), accelerator) for accelerator, costs in totals.items()
                  if len(costs) == len(workloads))


def one_accelerator(problem: Problem, catalog: Catalog, prepared: Prepared, optimum: float,
                    solve_pinned: SolvePinned) -> Baseline:
    ranking = accelerator_ranking(problem, prepared)
    if not _serving(problem) or not ranking:
        return Baseline(ONE_ACCELERATOR, "no accelerator type serves every workload's own model "
                                         "on demand at bf16", None, None)
    trained = [w.name for w in problem.workloads if isinstance(w, TrainingWorkload)]
    best: tuple[float, str, Plan] | None = None
    no_plan = []
    for _, accelerator in ranking[:ACCELERATORS_TRIED]:
        pins = [Pin(w.name, accelerator=accelerator, pricing=PricingMode.on_demand,
                    model=w.model, variant=BASELINE_VARIANT) for w in _serving(problem)]
        pins += [Pin(name, pricing=PricingMode.on_demand) for name in trained]
        plan = solve_pinned(unbudgeted(problem), pins)
        cost = plan.objective_usd_per_month
        if cost is None:
            no_plan.append(accelerator)
        elif best is None or cost < best[0]:
            best = (cost, accelerator, plan)
    if best is None:
        return Baseline(ONE_ACCELERATOR, "no plan with every workload on one accelerator type "
                        f"(tried {', '.join(a for _, a in ranking[:ACCELERATORS_TRIED])})",
                        None, None)
    unplanned = f" ({', '.join(no_plan)}: no plan within the limits)" if no_plan else ""
    own = ", each its own model" if any(w.alternatives for w in _serving(problem)) else ""
    return _result(problem, catalog, ONE_ACCELERATOR,
                   f"every serving workload on {best[1]}, on demand, {BASELINE_VARIANT}{own}"
                   f"{unplanned}", best[2], optimum)


def _alone(problem: Problem, workload: OnlineWorkload | BatchWorkload,
           candidates: list[Candidate]) -> list[tuple[float, Candidate]]:
    """The workload's single configurations by their cost alone (spot only where it may
    take the whole workload)."""
    usable = [c for c in candidates if c.mode is not PricingMode.spot or workload.max_spot_share >= 1]
    return sorted(((standalone_cost(problem, workload, c), c) for c in usable),
                  key=lambda item: (item[0], item[1].index))


def each_alone(problem: Problem, catalog: Catalog, prepared: Prepared, optimum: float,
               solve_pinned: SolvePinned) -> Baseline:
    parts: list[Plan] = []
    chosen: list[str] = []
    for workload in problem.workloads:
        alone = unbudgeted(problem).model_copy(update={"workloads": (workload,)})
        if isinstance(workload, TrainingWorkload):
            tries: list[tuple[Pin, ...]] = [()]
        else:
            configs = _alone(problem, workload, prepared.candidates.for_workload(workload.name))
            tries = [(Pin(workload.name, offer=c.config.offer.key, pricing=c.mode,
                          model=c.config.model, variant=c.config.variant),)
                     for _, c in configs[:CONFIGS_TRIED]]
        plan = next((p for p in (solve_pinned(alone, pins) for pins in tries)
                     if p.objective_usd_per_month is not None), None)
        if plan is None:
            return Baseline(EACH_ALONE, f"no single configuration serves {workload.name} alone",
                            None, None)
        parts.append(plan)
        chosen += [f"{workload.name}: {a.accelerator}x{a.accelerators_per_instance} "
                   f"{a.offer_key} {a.pricing} {choice_text(a.model, a.variant, workload.model)}"
                   for a in plan.allocations if a.workload == workload.name]
    combined = added_up(problem, catalog, prepared, parts)
    return _result(problem, catalog, EACH_ALONE, "; ".join(chosen), combined, optimum)


def added_up(problem: Problem, catalog: Catalog, prepared: Prepared, parts: list[Plan]) -> Plan:
    """One plan from the plans of single workloads, on the problem's period grid: allocations
    side by side, pools of the same offer and mode counted together, preparation once."""
    periods = problem.periods
    allocations = tuple(
        dataclasses.replace(a, instances_by_period=tile(a.instances_by_period, periods))
        if a.instances_by_period else a for part in parts for a in part.allocations)
    pools: dict[tuple[str, str], list[CommitmentResult]] = defaultdict(list)
    for part in parts:
        for pool in part.commitments:
            pools[(pool.offer_key, pool.pricing)].append(pool)
    commitments = tuple(_pool_sum(members, periods) for _, members in sorted(pools.items()))
    preparation = preparation_cost(problem, catalog, allocations)
    by_pricing, by_provider, components = summarise(allocations, commitments, preparation)
    statuses = {part.status for part in parts}
    return Plan(
        problem=problem.name, status="feasible" if "feasible" in statuses else "optimal",
        solver=parts[0].solver, objective_usd_per_month=sum(components.values()),
        bound_usd_per_month=None, gap=None, allocations=allocations,
        workloads=workload_results(problem, catalog, prepared.candidates, prepared.training,
                                   allocations, commitments, explain=False),
        cost_by_pricing=by_pricing, cost_by_provider=by_provider, cost_components=components,
        budget_usd_per_month=problem.budget_usd_per_month,
        candidates=sum(part.candidates for part in parts), rejected=0, periods=periods,
        commitments=commitments)


def _pool_sum(members: list[CommitmentResult], periods: int) -> CommitmentResult:
    first = members[0]
    new = sum(m.new for m in members)
    busy = [sum(values) for values in zip(*(tile(m.busy_by_period, periods) for m in members),
                                         strict=True)]
    size = first.existing + new
    return dataclasses.replace(first, new=new, cost_usd_per_month=sum(m.cost_usd_per_month
                                                                      for m in members),
                               busy_by_period=tuple(busy),
                               utilisation=sum(busy) / (periods * size) if size else 0.0)


def baselines(problem: Problem, catalog: Catalog, prepared: Prepared, optimum: float,
              solve_pinned: SolvePinned) -> tuple[Baseline, ...]:
    return (one_accelerator(problem, catalog, prepared, optimum, solve_pinned),
            each_alone(problem, catalog, prepared, optimum, solve_pinned))

