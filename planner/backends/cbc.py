"""CBC through PuLP. PuLP's own status is unreliable after a time limit (it reports
'Infeasible' when CBC merely found nothing in time), so we read CBC's log for the outcome,
the objective and the proven bound.

Runs in the solver worker (`planner.backends.isolation`); CBC is its child, in its process
group, so a kill at the deadline takes CBC too. PuLP's model, solution and log files go to the
solve's scratch folder, which the parent removes even after a kill. CBC reports no plan before
it ends, so a kill at the deadline gives `no_solution`; CBC's own limit normally ends it first.
"""

from __future__ import annotations

import importlib
import math
import re
import tempfile
import time
from pathlib import Path

from planner.backends.base import SolveOptions, SolverResult, Status
from planner.backends.isolation import Progress, solve_isolated
from planner.linear import LinearModel

FILE_SHARE = 0.5
"""CBC's clock runs from after PuLP has written the model file until before it reads the
solution back; the two take about half as long as building the PuLP model (0.26 s + ~0.2 s vs
0.92 s on 11,058 columns), so that much of the remaining time is kept back for them."""


def to_pulp(model: LinearModel):  # type: ignore[no-untyped-def]
    """The same model as a PuLP problem; variables are named x0..xn in column order."""
    import pulp

    problem = pulp.LpProblem("plan", pulp.LpMinimize)
    variables = [
        pulp.LpVariable(
            f"x{index}",
            lowBound=model.lower[index],
            upBound=None if model.upper[index] == float("inf") else model.upper[index],
            cat=pulp.LpInteger if model.integer[index] else pulp.LpContinuous,
        )
        for index in range(model.variable_count)
    ]
    problem += pulp.lpSum(c * variables[i] for i, c in enumerate(model.cost) if c) + 0.0
    for number, row in enumerate(model.rows):
        expression = pulp.lpSum(c * variables[i] for i, c in zip(row.indices, row.coefficients,
                                                                 strict=True))
        if row.lower == row.upper:
            problem += expression == row.lower, f"r{number}"
            continue
        if row.lower > -float("inf"):
            problem += expression >= row.lower, f"r{number}_lo"
        if row.upper < float("inf"):
            problem += expression <= row.upper, f"r{number}_hi"
    return problem, variables


NO_PUMP = ["feasibilityPump off"]
"""CBC 2.10 (bundled with PuLP 3.3) proved a wrong optimum with its feasibility pump on: on the
10-workload benchmark fleet (seed 0) "Optimal" at $273,193-275,193 (by seed), while HiGHS,
SCIP and CP-SAT prove $272,802.64, and CBC itself accepts that plan when its integers are
fixed. The pump's "round again with cutoff" reduced-cost fixing cuts the optimum off (the same
shape as coin-or/Cbc issues 96 and 107); with the pump off every seed finds $272,802.64."""


_RESULT = re.compile(r"^Result - (.*)$", re.MULTILINE)
_OBJECTIVE = re.compile(r"^Objective value:\s+(\S+)", re.MULTILINE)
_PRESOLVE_INFEASIBLE = re.compile(r"^Problem is infeasible", re.MULTILINE)
_PREPROCESS_INFEASIBLE = re.compile(r"^Pre-processing says infeasible or unbounded", re.MULTILINE)
_BOUND = re.compile(r"^Lower bound:\s+(\S+)", re.MULTILINE)


class CbcBackend:
    name = "cbc"

    def solve(self, model: LinearModel, options: SolveOptions) -> SolverResult:
        return solve_isolated(self, model, options)

    def import_solver(self) -> None:
        importlib.import_module("pulp")

    def solve_here(self, model: LinearModel, options: SolveOptions, progress: Progress
                   ) -> SolverResult:
        import pulp

        started = time.perf_counter()
        problem, variables = to_pulp(model)
        built_s = time.perf_counter() - started
        with tempfile.TemporaryDirectory(dir=progress.scratch) as folder:
            log_path = Path(folder) / "cbc.log"
            solver = pulp.PULP_CBC_CMD(
                msg=False, timeLimit=max(progress.remaining_s() - FILE_SHARE * built_s, 0.05),
                gapRel=options.relative_gap, threads=options.threads, logPath=str(log_path),
                keepFiles=False, options=["randomSeed 1", "randomCbcSeed 1", *NO_PUMP,
                                          *_scaling(model)],
            )
            solver.tmpDir = folder
            started = time.perf_counter()
            problem.solve(solver)
            seconds = time.perf_counter() - started
            log = log_path.read_text(errors="replace") if log_path.exists() else ""
        return _result(log, model, variables, seconds)


def _bounded_below(model: LinearModel) -> bool:
    """The objective cannot fall without limit: each cost term is bounded below by its
    variable's bound (the planner's costs are >= 0 on variables >= 0)."""
    return all(c == 0 or (c > 0 and lower > -math.inf) or (c < 0 and upper < math.inf)
               for c, lower, upper in zip(model.cost, model.lower, model.upper, strict=True))


def _scaling(model: LinearModel) -> list[str]:
    """Clp's default (geometric) scaling of a spread row made CBC call a feasible problem
    infeasible at its first LP; without scaling it solves (see `linear.SPREAD_ROW_RATIO`)."""
    return ["scaling off"] if model.has_spread_rows else []


def _result(log: str, model: LinearModel, variables: list, seconds: float
            ) -> SolverResult:
    result = _RESULT.search(log)
    text = result.group(1) if result else ""
    if not text and _PRESOLVE_INFEASIBLE.search(log):
        text = "infeasible (presolve)"
    if not text and _PREPROCESS_INFEASIBLE.search(log) and _bounded_below(model):
        text = "infeasible (preprocessing)"  # "or unbounded" cannot be: see _bounded_below
    objective_match = _OBJECTIVE.search(log)
    bound_match = _BOUND.search(log)
    has_solution = objective_match is not None and "infeasible" not in text.lower()
    values = tuple(float(v.varValue or 0.0) for v in variables) if has_solution else ()
    objective = model.objective(list(values)) if has_solution else None
    bound = float(bound_match.group(1)) + model.objective_offset if bound_match else None
    if text.startswith("Optimal"):
        status = Status.optimal
        bound = objective if bound is None else bound
    elif "infeasible" in text.lower():
        status = Status.infeasible
    elif text.startswith("Stopped"):
        status = Status.feasible if has_solution else Status.no_solution
    else:
        status = Status.error
    return SolverResult(status, objective, bound, values, seconds, "cbc")
