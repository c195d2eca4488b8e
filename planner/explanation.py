"""`plan explain`: the plan with every workload's why, and the plan-level sections.

* cost breakdown by workload, offer, pricing mode, provider and component;
* savings against simple baselines (`planner.baselines`);
* binding limits and what relaxing each is worth, and what each SLO, quality floor and policy
  costs (`planner.sensitivity`);
* with `--force`, the plan re-solved with workloads pinned to given choices, and its delta
  against the optimum (or the diagnosis, when the pins leave no plan).

Every figure comes from a solve here: nothing is typed. Re-solves reuse the base problem's
candidates where the change cannot alter them and leave the per-workload explanations out.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from planner.backends import SolveOptions
from planner.baselines import Baseline, baselines
from planner.budget_mode import SERVE_MOST_VALUE
from planner.candidates import CandidateSet
from planner.catalog import Catalog
from planner.pinning import Pin
from planner.plan import Plan
from planner.plan import _rounded as rounded  # the plan's JSON rounding
from planner.plan_figures import cost_breakdowns
from planner.problem import Problem
from planner.sensitivity import MAX_RESOLVES, LimitWorth, PolicyCost, binding_limits, policy_costs
from planner.solve import Prepared, prepare, solve_in_detail

SCHEMA_VERSION = 1
Progress = Callable[[str], None]


@dataclass(frozen=True)
class Forced:
    """The plan re-solved with pins, against the optimum."""

    pins: tuple[Pin, ...]
    plan: Plan
    delta_usd_per_month: float | None
    """Forced cost minus the optimum (None when the pins leave no plan)."""

    def to_dict(self) -> dict[str, Any]:
        return {"pins": [{"workload": pin.workload, "pinned": pin.text()} for pin in self.pins],
                "status": self.plan.status, "delta_usd_per_month": self.delta_usd_per_month,
                "plan": self.plan.to_dict()}


@dataclass(frozen=True)
class Explanation:
    problem: str
    plan: Plan
    cost_breakdown: dict[str, dict[str, float]]
    baselines: tuple[Baseline, ...] = ()
    limits: tuple[LimitWorth, ...] = ()
    budget_note: str | None = None
    policies: tuple[PolicyCost, ...] = ()
    max_resolves: int = MAX_RESOLVES
    forced: Forced | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, figures rounded as in plan files so the output is stable."""
        return rounded({"schema_version": SCHEMA_VERSION, "problem": self.problem,
                "status": self.plan.status,
                "objective_usd_per_month": self.plan.objective_usd_per_month,
                "cost_breakdown": self.cost_breakdown,
                "baselines": [b.to_dict() for b in self.baselines],
                "binding_limits": [limit.to_dict() for limit in self.limits],
                "budget_note": self.budget_note,
                "policies": [policy.to_dict() for policy in self.policies],
                "max_resolves": self.max_resolves,
                "forced": self.forced.to_dict() if self.forced else None,
                "plan": self.plan.to_dict()})


def cost_by_offer(plan: Plan) -> dict[str, float]:
    """Monthly cost per offer: its allocations' usage and its pools' fees."""
    costs: dict[str, float] = defaultdict(float)
    for allocation in plan.allocations:
        costs[allocation.offer_key] += allocation.cost_usd_per_month
    for pool in plan.commitments:
        costs[pool.offer_key] += pool.cost_usd_per_month
    return {key: value for key, value in sorted(costs.items()) if value}


def breakdown(plan: Plan) -> dict[str, dict[str, float]]:
    figures = cost_breakdowns(plan.to_dict())
    return {"workload": figures["workload"], "offer": cost_by_offer(plan),
            **{key: value for key, value in figures.items() if key != "workload"}}


def budget_note(plan: Plan) -> str | None:
    """What the budget does in a cost-minimising plan: only whether a plan exists."""
    budget, cost = plan.budget_usd_per_month, plan.objective_usd_per_month
    if budget is None or cost is None or plan.budget_mode == SERVE_MOST_VALUE:
        return None
    return (f"the budget does not bind: the least cost, ${cost:,.0f}/month, is "
            f"${budget - cost:,.0f} under the ${budget:,.0f} budget (a budget only decides "
            f"whether a plan exists; raising it saves nothing)")


def _restricted(prepared: Prepared, problem: Problem) -> Prepared:
    """The candidates of the problem's workloads only (a baseline solves one at a time), and
    no rejections: a baseline's plan is not explained, and pinning would build them all (2.2
    million on a fleet of 200, 1.7 GB)."""
    names = {w.name for w in problem.workloads}
    return Prepared(CandidateSet(prepared.candidates.candidates.restricted_to(names), ()),
                    tuple(o for o in prepared.training if o.workload in names))


def explain_plan(problem: Problem, catalog: Catalog, solver: str = "highs",
                 options: SolveOptions | None = None, pins: Sequence[Pin] = (),
                 max_resolves: int = MAX_RESOLVES, progress: Progress = lambda message: None
                 ) -> Explanation:
    """Solve `problem` and explain the plan (see the module docstring)."""
    options = options or SolveOptions()
    progress(f"solving {problem.name} ...")
    prepared = prepare(problem, catalog)
    base = solve_in_detail(problem, catalog, solver, options, prepared=prepared)
    plan = base.plan
    explanation = Explanation(problem.name, plan, breakdown(plan) if plan.allocations else {},
                              max_resolves=max_resolves)
    if plan.objective_usd_per_month is None:
        return explanation
    optimum = plan.objective_usd_per_month

    def resolve(changed: Problem, reuse: bool) -> Plan:
        return solve_in_detail(changed, catalog, solver, options,
                               prepared=prepared if reuse else None, explain=False).plan

    def solve_pinned(changed: Problem, chosen: Sequence[Pin]) -> Plan:
        return solve_in_detail(changed, catalog, solver, options, pins=chosen,
                               prepared=_restricted(prepared, changed), explain=False).plan

    progress("solving the baselines ...")
    found = baselines(problem, catalog, prepared, optimum, solve_pinned)
    formulation = base.formulation.without_cuts()  # LP duals of the limits as written
    limits = binding_limits(problem, formulation, base.result.values, plan, resolve, progress)
    policies = policy_costs(problem, plan, resolve, max_resolves, base.candidates, formulation,
                            progress)
    forced = None
    if pins:
        progress("solving with " + "; ".join(f"{p.workload}: {p.text()}" for p in pins) + " ...")
        pinned = solve_in_detail(problem, catalog, solver, options, pins=pins, prepared=prepared)
        cost = pinned.plan.objective_usd_per_month
        forced = Forced(tuple(pins), pinned.plan, None if cost is None else cost - optimum)
    return Explanation(problem.name, plan, explanation.cost_breakdown, found, tuple(limits),
                       budget_note(plan), tuple(policies), max_resolves, forced)
