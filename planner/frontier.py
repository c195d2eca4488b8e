"""`plan frontier`: the least cost across a range of one policy (budget, latency SLOs, quality
floor or spot share), one full solve per point, with the knees where the slope changes most.

Since the planner minimises cost, varying the budget shows feasibility: below the least cost
no plan exists, above it the plan and its cost do not change.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from planner.backends import SolveOptions
from planner.catalog import Catalog, did_you_mean
from planner.errors import PlanError, input_error
from planner.explain import money
from planner.plan import Plan
from planner.problem import Problem

SCHEMA_VERSION = 1
BUDGET, LATENCY, QUALITY, SPOT = "budget", "latency", "quality", "spot-share"
AXES = (BUDGET, LATENCY, QUALITY, SPOT)
MAX_POINTS = 50
# without --from/--to: SLO factors, floors and shares; budgets relative to the least cost
DEFAULT_RANGES = {LATENCY: (0.5, 2.0), QUALITY: (0.9, 1.0), SPOT: (0.0, 1.0), BUDGET: (0.75, 1.5)}
LIMITS = {LATENCY: (0.0, False, 1e6), QUALITY: (0.0, True, 1.0), SPOT: (0.0, True, 1.0),
          BUDGET: (0.0, False, 1e12)}  # lowest, whether the lowest is allowed, highest
LABELS = {BUDGET: "budget $/month", LATENCY: "SLO factor", QUALITY: "quality floor",
          SPOT: "max spot share"}
KNEE_SHARE = 0.5  # a knee's change of slope is at least this share of the largest change
POINTS_PER_KNEE = 3  # at most one knee per this many interior points (at least one)
FLAT = 1e-9


class NoPlanAtAnyBudget(PlanError):
    exit_code = 2


@dataclass(frozen=True)
class FrontierPoint:
    value: float
    status: str
    cost_usd_per_month: float | None
    cost_by_pricing: dict[str, float]
    configuration: dict[str, str]
    seconds: float = field(default=0.0, compare=False)
    knee: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"value": self.value, "status": self.status,
                "cost_usd_per_month": self.cost_usd_per_month,
                "cost_by_pricing": self.cost_by_pricing, "configuration": self.configuration,
                "knee": self.knee}


@dataclass(frozen=True)
class Frontier:
    problem: str
    axis: str
    workload: str | None
    points: tuple[FrontierPoint, ...]

    @property
    def label(self) -> str:
        return LABELS[self.axis]

    def shown(self, value: float) -> str:
        return axis_value(self.axis, value)

    def to_dict(self) -> dict[str, Any]:
        return {"schema_version": SCHEMA_VERSION, "problem": self.problem, "vary": self.axis,
                "label": self.label, "workload": self.workload,
                "points": [point.to_dict() for point in self.points]}


def axis_value(axis: str, value: float) -> str:
    if axis == BUDGET:
        return money(value)
    if axis == LATENCY:
        return f"x{value:.3g}"
    if axis == SPOT:
        return f"{value:.0%}"
    return f"{value:.3f}"


def spaced(start: float, stop: float, points: int, geometric: bool = False) -> list[float]:
    """`points` values from `start` to `stop`, both included, evenly spaced (or in equal ratios:
    SLO factors from x0.5 to x2 then pass through x1)."""
    if geometric:
        ratio = (stop / start) ** (1 / (points - 1))
        inner = [start * ratio ** index for index in range(points - 1)]
    else:
        inner = [start + (stop - start) / (points - 1) * index for index in range(points - 1)]
    return [float(f"{value:.10g}") for value in inner] + [stop]


def check_range(axis: str, start: float, stop: float, points: int) -> None:
    """Raises InputError naming the option when the range cannot be used for `axis`."""
    lowest, lowest_allowed, highest = LIMITS[axis]
    for option, value in (("--from", start), ("--to", stop)):
        too_low = value < lowest or (value == lowest and not lowest_allowed)
        if too_low or value > highest:
            bound = f">= {lowest:g}" if lowest_allowed else f"> {lowest:g}"
            raise input_error(option, f"{axis} values must be {bound} and <= {highest:g} (got {value:g})")
    if not start < stop:
        raise input_error("--from", f"must be below --to (got {start:g} and {stop:g})")
    check_points(points)


def check_points(points: int) -> None:
    if not 2 <= points <= MAX_POINTS:
        raise input_error("--points", f"must be 2 to {MAX_POINTS} (got {points})")


def _slo_limits(workload: Any) -> dict[str, float]:
    """The latency limits a workload sets (online workloads have an `slo`; others none)."""
    slo = getattr(workload, "slo", None)
    return {} if slo is None else {key: limit for key, limit in slo.model_dump().items() if limit is not None}


def _targets(problem: Problem, axis: str, workload: str | None) -> list[str]:
    """Names of the workloads the axis changes; raises InputError when there are none."""
    names = [w.name for w in problem.workloads]
    if workload is not None and workload not in names:
        raise input_error("--workload", f"unknown workload '{workload}'{did_you_mean(workload, names)} "
                                        f"(valid: {', '.join(names)})")
    chosen = [w for w in problem.workloads if workload in (None, w.name)]
    if axis == LATENCY:
        found = [w.name for w in chosen if _slo_limits(w)]
    else:
        key = "min_quality" if axis == QUALITY else "max_spot_share"
        found = [w.name for w in chosen if key in type(w).model_fields]
    if not found:
        what = {LATENCY: "latency SLO", QUALITY: "quality floor", SPOT: "spot share"}[axis]
        raise input_error("--vary", f"{axis}: workload '{workload}' has no {what} to vary" if workload
                          else f"{axis}: no workload has a {what} to vary")
    return found


def vary(problem: Problem, axis: str, value: float, targets: Sequence[str]) -> Problem:
    """The problem with one policy set to `value` (for SLOs: every SLO scaled by `value`)."""
    if axis == BUDGET:
        return problem.model_copy(update={"budget_usd_per_month": value})
    workloads = []
    for workload in problem.workloads:
        slo = getattr(workload, "slo", None)
        if workload.name not in targets:
            workloads.append(workload)
        elif axis == LATENCY:
            scaled = {key: limit * value for key, limit in _slo_limits(workload).items()}
            workloads.append(workload.model_copy(update={"slo": slo.model_copy(update=scaled)})
                             if slo is not None else workload)
        else:
            key = "min_quality" if axis == QUALITY else "max_spot_share"
            workloads.append(workload.model_copy(update={key: value}))
    return problem.model_copy(update={"workloads": tuple(workloads)})


def configuration(plan: Plan) -> dict[str, str]:
    """Per workload, what it runs on: `2x H100-SXMx8 reserved_3y int8 + 1x ...`."""
    used: dict[str, list[str]] = {}
    for a in plan.allocations:
        used.setdefault(a.workload, []).append(
            f"{a.instances}x {a.accelerator}x{a.accelerators_per_instance} {a.pricing} {a.variant}")
    return {name: " + ".join(parts) for name, parts in used.items()}


def knee_indices(values: Sequence[float], costs: Sequence[float | None]) -> set[int]:
    """Points where the slope of cost changes most, and where plans start to exist.

    The change of slope is measured in units of the whole range (so axes of any unit compare);
    a knee's change is at least KNEE_SHARE of the largest; the sharpest one per POINTS_PER_KNEE
    interior points are kept.
    """
    knees = {i for i in range(1, len(costs)) if costs[i] is not None and costs[i - 1] is None}
    known = [c for c in costs if c is not None]
    cost_span = max(known) - min(known) if known else 0.0
    value_span = values[-1] - values[0] if values else 0.0
    if cost_span <= FLAT * max(1.0, abs(max(known, default=0.0))) or value_span <= 0:
        return knees
    changes: dict[int, float] = {}
    for i in range(1, len(costs) - 1):
        before, here, after = costs[i - 1], costs[i], costs[i + 1]
        if before is None or here is None or after is None:
            continue
        left = (here - before) / (values[i] - values[i - 1])
        right = (after - here) / (values[i + 1] - values[i])
        changes[i] = abs(right - left) * value_span / cost_span
    largest = max(changes.values(), default=0.0)
    if largest > FLAT:
        ranked = sorted((i for i, change in changes.items() if change >= KNEE_SHARE * largest),
                        key=lambda i: -changes[i])
        knees |= set(ranked[:max(1, (len(costs) - 2) // POINTS_PER_KNEE)])
    return knees


Solver = Callable[[Problem], Plan]


def frontier_values(problem: Problem, axis: str, points: int, start: float | None, stop: float | None,
                    run: Solver) -> list[float]:
    """The values to solve at; the default budget range is relative to the least cost."""
    low, high = DEFAULT_RANGES[axis]
    if axis == BUDGET and (start is None or stop is None):
        least = run(problem.model_copy(update={"budget_usd_per_month": None}))
        if least.objective_usd_per_month is None:
            raise NoPlanAtAnyBudget("no plan at any budget: " + "; ".join(least.diagnosis))
        low, high = low * least.objective_usd_per_month, high * least.objective_usd_per_month
    start = low if start is None else start
    stop = high if stop is None else stop
    check_range(axis, start, stop, points)
    return spaced(start, stop, points, geometric=axis == LATENCY)


def compute_frontier(problem: Problem, catalog: Catalog, axis: str, points: int = 5,
                     start: float | None = None, stop: float | None = None,
                     workload: str | None = None, solver: str = "highs",
                     options: SolveOptions | None = None,
                     progress: Callable[[str], None] = lambda message: None) -> Frontier:
    """Solve the problem at each value of the axis.

    Raises:
        InputError: a range or workload that cannot be used (before any solve runs).
    """
    from planner.solve import solve

    if axis not in AXES:
        raise input_error("--vary", f"unknown axis '{axis}'{did_you_mean(axis, AXES)}")
    check_points(points)
    targets = [] if axis == BUDGET else _targets(problem, axis, workload)
    if workload is not None and axis == BUDGET:
        raise input_error("--workload", "the budget is shared by all workloads; leave --workload out")
    if start is not None and stop is not None:
        check_range(axis, start, stop, points)

    def run(changed: Problem) -> Plan:
        return solve(changed, catalog, solver, options)

    values = frontier_values(problem, axis, points, start, stop, run)
    solved: list[FrontierPoint] = []
    for index, value in enumerate(values, start=1):
        began = time.perf_counter()
        # a point shows costs and choices, not each workload's why
        plan = solve(vary(problem, axis, value, targets), catalog, solver, options,
                     explain=False)
        seconds = time.perf_counter() - began
        data = plan.to_dict()  # figures rounded as in plan files, so JSON output is stable
        cost = data["objective_usd_per_month"]
        progress(f"[{index}/{len(values)}] {axis} {axis_value(axis, value)}: {plan.status}"
                 + (f", {money(cost)}/month" if cost is not None else "") + f" ({seconds:.1f} s)")
        solved.append(FrontierPoint(value, plan.status, cost, data["cost_by_pricing"],
                                    configuration(plan), seconds))
    knees = knee_indices(values, [point.cost_usd_per_month for point in solved])
    marked = tuple(FrontierPoint(p.value, p.status, p.cost_usd_per_month, p.cost_by_pricing,
                                 p.configuration, p.seconds, i in knees) for i, p in enumerate(solved))
    return Frontier(problem.name, axis, workload, marked)
