"""CP-SAT (OR-Tools) on the integer model, with exact-where-possible integer scaling.

CP-SAT solves integer programs with integer coefficients only, so the model is rescaled:

* Every variable must be integer; a continuous one (a batch job's instance-hours, which may be
  fractional) makes the backend return `Status.error` with a message naming it. Variable bounds are
  rounded inward (lower up, upper down), which is exact for integers; an infinite bound is
  capped at +-2**40 instances.
* Each row gets its own power of ten `s = 10**k`, the smallest `k <= 6` that makes every
  coefficient an integer (within 1e-9 relative). Then the rescaled row is equivalent to the
  original for integer variables, and its bounds are rounded exactly: a `>=` bound up, a `<=`
  bound down (after forgiving 1e-9 relative floating-point noise, the tolerance the tests'
  brute force uses).
* If no `k <= 6` is exact (capacities such as 3.7 x 0.8 req/s, or a spot-share row whose
  coefficients are capacity x share and capacity x (1 - share)), a safe-direction rounding at
  10**6 was tried first and changed an optimum: in `rag-platform.yaml` the router's plan
  with exactly 50 % spot (equal spot and on-demand capacity, activity 0 <= 0) became
  infeasible because rounding the positive coefficients up and the negative ones towards zero
  breaks exact ties. So such a row is instead scaled by the largest power of two (exact for
  floats) keeping every scaled coefficient below 2**40 and sum |coefficient| x max |variable|
  below 2**52, coefficients are rounded to nearest (relative error < 1e-12), and its bounds
  are relaxed by 1e-7 x max(1, |bound|), HiGHS's own primal feasibility tolerance. After the
  solve every original row is re-checked in floating point: a plan breaking one by more than
  1e-6 relative (`plan check`'s tolerance) is never returned (the result is `Status.error`).
* The objective: when every cost is exact at some 10**k (k <= 4, i.e. to 1e-4 dollars) that
  scale is used and CP-SAT's optimum is the true optimum. Otherwise (prices spanning many
  orders of magnitude: a $1e-6/h offer costs 7.3e-4 $/month and rounded to cents would be
  free, so CP-SAT returned 0.00146 where 0.001095 was optimal) the costs are scaled by the
  largest power of two keeping sum |weight| x max |variable| below 2**62, and rounded to
  nearest (a nonzero cost never to 0). Every plan's scaled cost then differs from its true
  cost by at most D = sum |rounding error| x max |variable| (and, for nonnegative costs and
  variables, by a factor 1 +- E, E the largest relative rounding error), so the proven bound
  is the better of scaled bound - D and scaled bound / (1 + E); CP-SAT's gap limit is halved,
  and the plan is reported optimal only if its true gap to that bound is within the requested
  gap (else `feasible`, honestly). The reported objective is recomputed in dollars from the
  values with `LinearModel.objective`.

Workers: CP-SAT's portfolio needs several workers to find and prove optima quickly even on two
cores (one worker stalls on LP-heavy models), so `num_workers = max(threads, 8)`.

Runs in the solver worker (`planner.backends.isolation`); a solution callback streams each
improving plan that passes the row re-check, with CP-SAT's bound, to the parent.
"""

from __future__ import annotations

import importlib
import math
import time
from dataclasses import dataclass
from typing import Any

from ortools.sat.python import cp_model  # this module is imported only when CP-SAT is used

from planner.backends.base import SolveOptions, SolverResult, SolverWarning, Status
from planner.backends.isolation import Progress, solve_isolated
from planner.linear import LinearModel, Row

MAX_POWER = 6
ROW_REACH = 52
"""Inexact rows: sum |coefficient| * max |variable| after scaling stays below 2**52."""
COEFFICIENT_LIMIT = 40
"""Inexact rows: every scaled coefficient stays below 2**40."""
FEASIBILITY_TOLERANCE = 1e-7
"""Inexact rows: bounds relaxed by this (relative to max(1, |bound|)), HiGHS's default."""
CHECK_TOLERANCE = 1e-6
"""A plan breaking an original row by more than this (`plan check`'s tolerance) is an error."""
OBJECTIVE_MAX_POWER = 4
OBJECTIVE_REACH = 62
"""sum |weight| * max |variable| of the scaled objective stays below 2**62 (CP-SAT: int64)."""
NOISE = 1e-9
VARIABLE_CAP = 2**40
MIN_WORKERS = 8


def _exact(value: float, scale: int) -> bool:
    scaled = value * scale
    return abs(scaled - round(scaled)) <= NOISE * max(1.0, abs(scaled))


def exact_scale(values: list[float], max_power: int = MAX_POWER) -> int | None:
    """Smallest 10**k (k <= max_power) making every value an integer, or None."""
    for power in range(max_power + 1):
        scale = 10**power
        if all(_exact(v, scale) for v in values):
            return scale
    return None


def _round_up(value: float) -> int:
    return math.ceil(value - NOISE * max(1.0, abs(value)))


def _round_down(value: float) -> int:
    return math.floor(value + NOISE * max(1.0, abs(value)))


def scale_row(row: Row, lower_bounds: list[float], upper_bounds: list[float]
              ) -> tuple[list[int], float, float]:
    """The row as integer (coefficients, lower, upper) for integer variables.

    Exact when some 10**k (k <= 6) makes every coefficient an integer; otherwise the row is
    scaled by a large power of two and rounded to nearest, with bounds relaxed by
    `FEASIBILITY_TOLERANCE` (see the module docstring; `violations` re-checks the plan).
    """
    reach = sum(abs(c) * max(1.0, abs(lower_bounds[i]), abs(upper_bounds[i]))
                for i, c in zip(row.indices, row.coefficients, strict=True))
    scale = exact_scale(row.coefficients)
    if scale is not None and reach * scale < 2.0**ROW_REACH:  # else it could overflow int64
        coefficients = [round(c * scale) for c in row.coefficients]
        lower = -math.inf if math.isinf(row.lower) else float(_round_up(row.lower * scale))
        upper = math.inf if math.isinf(row.upper) else float(_round_down(row.upper * scale))
        return coefficients, lower, upper
    largest = max(abs(c) for c in row.coefficients)
    power = min(math.floor(math.log2(2.0**ROW_REACH / reach)),
                math.floor(math.log2(2.0**COEFFICIENT_LIMIT / largest)))
    scale_f = 2.0**power  # a power of two: scaling a float is exact, only rounding is not
    coefficients = [round(c * scale_f) for c in row.coefficients]
    if any(c and not w for c, w in zip(row.coefficients, coefficients, strict=True)):
        raise ValueError(f"row {row.name}: coefficients span {largest:.3g} to "
                         f"{min(abs(c) for c in row.coefficients if c):.3g}, more than "
                         f"{COEFFICIENT_LIMIT} bits")
    lower, upper = -math.inf, math.inf
    if not math.isinf(row.lower):
        slack = FEASIBILITY_TOLERANCE * max(1.0, abs(row.lower))
        lower = float(math.ceil((row.lower - slack) * scale_f))
    if not math.isinf(row.upper):
        slack = FEASIBILITY_TOLERANCE * max(1.0, abs(row.upper))
        upper = float(math.floor((row.upper + slack) * scale_f))
    return coefficients, lower, upper


@dataclass(frozen=True)
class ObjectiveScale:
    """Integer objective weights = round(cost x scale) and how far they can be off."""

    scale: float
    weights: list[int]
    error: float
    """Largest relative rounding error of a nonzero cost (0 when exact)."""
    slack: float
    """Most any plan's scaled cost (/ scale) can differ from its true cost, in dollars."""
    nonnegative: bool
    """Every cost and every variable's lower bound is >= 0 (so cost . x >= 0)."""

    def true_bound(self, scaled_bound: float, model: LinearModel, objective: float
                   ) -> float | None:
        """A proven lower bound on the true optimum (with the offset), at most `objective`."""
        if not math.isfinite(scaled_bound):
            return None
        bounds = [scaled_bound / self.scale - self.slack]
        if self.nonnegative and self.error < 1:
            bounds.append(max(0.0, scaled_bound) / self.scale / (1 + self.error))
        bound = max(bounds)
        if not math.isfinite(bound):
            return None
        return min(bound + model.objective_offset, objective)


def scale_objective(model: LinearModel) -> ObjectiveScale:
    """Exact at 10**k (k <= 4) when that fits in int64, else the finest power of two that
    fits (see the module docstring)."""
    spans = [max(abs(lower), abs(upper)) for lower, upper in zip(model.lower, model.upper,
                                                                 strict=True)]
    reach = sum(abs(c) * min(span, VARIABLE_CAP) for c, span in zip(model.cost, spans, strict=True))
    nonnegative = all(c >= 0 for c in model.cost) and all(lo >= 0 for lo in model.lower)
    exact = exact_scale(model.cost, OBJECTIVE_MAX_POWER)
    if exact is not None and reach * exact < 2.0**OBJECTIVE_REACH:
        return ObjectiveScale(float(exact), [round(c * exact) for c in model.cost], 0.0, 0.0,
                              nonnegative)
    scale = 2.0 ** math.floor(math.log2(2.0**OBJECTIVE_REACH / max(reach, 1e-300)))
    weights = [(round(c * scale) or (1 if c > 0 else -1)) if c else 0 for c in model.cost]
    errors = [abs(c - w / scale) for c, w in zip(model.cost, weights, strict=True)]
    error = max((e / abs(c) for c, e in zip(model.cost, errors, strict=True) if c), default=0.0)
    slack = sum(e * span for e, span in zip(errors, spans, strict=True) if e)
    return ObjectiveScale(scale, weights, error, slack, nonnegative)


def _within_gap(objective: float | None, bound: float | None, relative_gap: float) -> bool:
    if objective is None or bound is None:
        return False
    return objective - bound <= relative_gap * max(abs(objective), 1e-300) * (1 + 1e-9)


def violations(model: LinearModel, values: list[float]) -> list[str]:
    """Rows the plan breaks by more than `CHECK_TOLERANCE` (relative to max(1, |bound|))."""
    found = []
    for row in model.rows:
        activity = model.row_activity(row, values)
        if activity < row.lower - CHECK_TOLERANCE * max(1.0, abs(row.lower)):
            found.append(f"{row.name}: {activity!r} < {row.lower!r}")
        if activity > row.upper + CHECK_TOLERANCE * max(1.0, abs(row.upper)):
            found.append(f"{row.name}: {activity!r} > {row.upper!r}")
    return found


class CpSatBackend:
    name = "cpsat"
    message: str | None = None
    """Why the last solve returned `Status.error` (also issued as a `RuntimeWarning`)."""

    def solve(self, model: LinearModel, options: SolveOptions) -> SolverResult:
        result = solve_isolated(self, model, options)
        self.message = result.message
        return result

    def import_solver(self) -> None:
        importlib.import_module("ortools.sat.python.cp_model")

    def solve_here(self, model: LinearModel, options: SolveOptions, progress: Progress
                   ) -> SolverResult:
        started = time.perf_counter()
        if not all(model.integer):
            column = model.integer.index(False)
            return self._error(f"CP-SAT solves whole numbers only, and '{model.names[column]}' "
                               "is continuous (a batch job's instance-hours); use --solver "
                               "highs, scip or cbc", started)
        cp = cp_model.CpModel()
        variables = []
        for index in range(model.variable_count):
            lower = -VARIABLE_CAP if math.isinf(model.lower[index]) else _round_up(model.lower[index])
            upper = VARIABLE_CAP if math.isinf(model.upper[index]) else _round_down(model.upper[index])
            if lower > upper:
                cp.add_bool_or([])  # empty domain: infeasible
                upper = lower
            variables.append(cp.new_int_var(lower, upper, f"x{index}"))
        try:
            for row in model.rows:
                chosen = [variables[i] for i in row.indices]
                coefficients, row_lower, row_upper = scale_row(row, model.lower, model.upper)
                expression = cp_model.LinearExpr.weighted_sum(chosen, coefficients)
                if row_lower == row_upper:
                    cp.add(expression == int(row_lower))
                elif math.isinf(row_upper):
                    cp.add(expression >= int(row_lower))
                elif math.isinf(row_lower):
                    cp.add(expression <= int(row_upper))
                else:
                    cp.add_linear_constraint(expression, int(row_lower), int(row_upper))
        except (ValueError, OverflowError) as problem:
            return self._error(f"cannot scale the model to integers: {problem}", started)
        objective_scale = scale_objective(model)
        used = [(v, w) for v, w in zip(variables, objective_scale.weights, strict=True) if w]
        cp.minimize(cp_model.LinearExpr.weighted_sum([v for v, _ in used],
                                                     [w for _, w in used]))
        solver = cp_model.CpSolver()
        solver.parameters.max_time_in_seconds = progress.remaining_s()
        inexact = objective_scale.error > 0
        solver.parameters.relative_gap_limit = float(options.relative_gap) / (2 if inexact else 1)
        solver.parameters.num_workers = max(int(options.threads), MIN_WORKERS)
        solver.parameters.random_seed = 0
        solver.parameters.log_search_progress = False
        code = solver.solve(cp, _Streamer(model, variables, objective_scale, progress))
        seconds = time.perf_counter() - started
        has_solution = code in (cp_model.OPTIMAL, cp_model.FEASIBLE)
        values = tuple(float(solver.value(v)) for v in variables) if has_solution else ()
        objective = model.objective(list(values)) if has_solution else None
        broken = violations(model, list(values)) if has_solution else []
        if broken:
            return self._error("CP-SAT plan breaks rows after integer scaling: "
                               + "; ".join(broken[:3]), started)
        bound = None
        if objective is not None:
            bound = objective_scale.true_bound(solver.best_objective_bound, model, objective)
        if code == cp_model.OPTIMAL:
            status = Status.optimal
            if objective_scale.error and not _within_gap(objective, bound, options.relative_gap):
                status = Status.feasible  # optimal for the rounded costs, unproven for the true
        elif code == cp_model.FEASIBLE:
            status = Status.feasible
        elif code == cp_model.INFEASIBLE:
            status = Status.infeasible
        elif code == cp_model.UNKNOWN:
            status = Status.no_solution
        else:  # MODEL_INVALID
            return self._error(f"CP-SAT rejected the model: {cp.validate()}", started)
        return SolverResult(status, objective, bound, values, seconds, self.name)

    def _error(self, message: str, started: float) -> SolverResult:
        """`Status.error` with `message`, also issued as a warning."""
        import warnings

        warnings.warn(message, SolverWarning, stacklevel=3)
        return SolverResult(Status.error, None, None, (), time.perf_counter() - started,
                            self.name, message)


class _Streamer(cp_model.CpSolverSolutionCallback):
    """Sends each improving plan that keeps every original row to `progress`."""

    def __init__(self, model: LinearModel, variables: list[Any], objective_scale: ObjectiveScale,
                 progress: Progress) -> None:
        super().__init__()
        self.model = model
        self.variables = variables
        self.objective_scale = objective_scale
        self.progress = progress

    def on_solution_callback(self) -> None:
        values = [float(self.value(v)) for v in self.variables]
        if violations(self.model, values):
            return
        objective = self.model.objective(values)
        bound = self.objective_scale.true_bound(self.best_objective_bound, self.model, objective)
        self.progress.incumbent(values, objective, bound)
