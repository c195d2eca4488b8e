"""SCIP through OR-Tools' linear solver wrapper (`pywraplp`; SCIP is bundled in the wheel).

The model is passed row by row through the wrapper's object API. `SetNumThreads` is honoured
only where the bundled SCIP supports it (it runs single-threaded otherwise). OR-Tools reports
a time limit without any solution as NOT_SOLVED, which maps to `no_solution`.

Runs in the solver worker (`planner.backends.isolation`). The wrapper has no solution
callback, so if SCIP overran its own limit and had to be killed, the result is `no_solution`.
"""

from __future__ import annotations

import importlib
import math
import time

from planner.backends.base import SolveOptions, SolverResult, Status
from planner.backends.isolation import Progress, solve_isolated
from planner.linear import LinearModel


class ScipBackend:
    name = "scip"

    def solve(self, model: LinearModel, options: SolveOptions) -> SolverResult:
        return solve_isolated(self, model, options)

    def import_solver(self) -> None:
        importlib.import_module("ortools.linear_solver.pywraplp")

    def solve_here(self, model: LinearModel, options: SolveOptions, progress: Progress
                   ) -> SolverResult:
        from ortools.linear_solver import pywraplp

        solver = pywraplp.Solver.CreateSolver("SCIP")
        if solver is None:
            return SolverResult(Status.error, None, None, (), 0.0, self.name)
        solver.SuppressOutput()
        infinity = solver.infinity()
        variables = []
        for index in range(model.variable_count):
            upper = model.upper[index]
            upper = infinity if math.isinf(upper) else upper
            lower = model.lower[index]
            lower = -infinity if math.isinf(lower) else lower
            name = f"x{index}"
            if model.integer[index]:
                variables.append(solver.IntVar(lower, upper, name))
            else:
                variables.append(solver.NumVar(lower, upper, name))
        for number, row in enumerate(model.rows):
            lower = -infinity if math.isinf(row.lower) else row.lower
            upper = infinity if math.isinf(row.upper) else row.upper
            constraint = solver.Constraint(lower, upper, f"r{number}")
            for index, coefficient in zip(row.indices, row.coefficients, strict=True):
                constraint.SetCoefficient(variables[index], coefficient)
        objective = solver.Objective()
        for index, cost in enumerate(model.cost):
            if cost:
                objective.SetCoefficient(variables[index], cost)
        objective.SetOffset(model.objective_offset)
        objective.SetMinimization()
        solver.SetTimeLimit(max(1, int(progress.remaining_s() * 1000)))
        if options.threads > 1:
            solver.SetNumThreads(int(options.threads))
        parameters = pywraplp.MPSolverParameters()
        parameters.SetDoubleParam(parameters.RELATIVE_MIP_GAP, float(options.relative_gap))
        solver.SetSolverSpecificParametersAsString("randomization/randomseedshift = 0\n")
        started = time.perf_counter()
        code = solver.Solve(parameters)
        seconds = time.perf_counter() - started
        has_solution = code in (pywraplp.Solver.OPTIMAL, pywraplp.Solver.FEASIBLE)
        values = tuple(v.solution_value() for v in variables) if has_solution else ()
        value = model.objective(list(values)) if has_solution else None
        bound: float | None = None
        if has_solution:
            best = objective.BestBound()
            bound = best if math.isfinite(best) else None
        if code == pywraplp.Solver.OPTIMAL:
            status = Status.optimal
            bound = value if bound is None else bound
        elif code == pywraplp.Solver.FEASIBLE:
            status = Status.feasible
        elif code == pywraplp.Solver.INFEASIBLE:
            status = Status.infeasible
        elif code == pywraplp.Solver.NOT_SOLVED:
            status = Status.no_solution
        else:  # UNBOUNDED cannot happen (costs >= 0, bounded below); ABNORMAL, MODEL_INVALID
            status = Status.error
        return SolverResult(status, value, bound, values, seconds, self.name)
