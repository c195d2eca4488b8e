"""HiGHS through highspy, fed the model as arrays (no expression objects)."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from planner.backends.base import SolveOptions, SolverResult, Status
from planner.linear import LinearModel


@contextmanager
def _quiet_stdout() -> Iterator[None]:
    """HiGHS prints a banner from C++ when constructed; keep our stdout clean for JSON."""
    sys.stdout.flush()
    saved = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)


class HighsBackend:
    name = "highs"

    def solve(self, model: LinearModel, options: SolveOptions) -> SolverResult:
        import highspy
        import numpy as np

        with _quiet_stdout():
            highs = highspy.Highs()
        highs.setOptionValue("output_flag", False)
        highs.setOptionValue("time_limit", float(options.time_limit_s))
        highs.setOptionValue("mip_rel_gap", float(options.relative_gap))
        highs.setOptionValue("threads", int(options.threads))
        highs.setOptionValue("random_seed", 0)
        inf = highspy.kHighsInf
        n = model.variable_count
        lower = np.array(model.lower, dtype=float)
        upper = np.where(np.isinf(model.upper), inf, np.array(model.upper, dtype=float))
        highs.addVars(n, lower, upper)
        highs.changeColsCost(n, np.arange(n, dtype=np.int32), np.array(model.cost, dtype=float))
        integer_columns = np.flatnonzero(np.array(model.integer, dtype=bool)).astype(np.int32)
        if integer_columns.size:
            highs.changeColsIntegrality(
                integer_columns.size, integer_columns,
                np.full(integer_columns.size, highspy.HighsVarType.kInteger))
        if model.rows:
            starts = np.zeros(len(model.rows), dtype=np.int32)
            indices: list[int] = []
            values: list[float] = []
            for position, row in enumerate(model.rows):
                starts[position] = len(indices)
                indices.extend(row.indices)
                values.extend(row.coefficients)
            row_lower = np.array([r.lower if r.lower > -1e300 else -inf for r in model.rows])
            row_upper = np.array([r.upper if r.upper < 1e300 else inf for r in model.rows])
            highs.addRows(len(model.rows), row_lower, row_upper, len(indices), starts,
                          np.array(indices, dtype=np.int32), np.array(values, dtype=float))
        started = time.perf_counter()
        highs.run()
        seconds = time.perf_counter() - started
        return _result(highs, highspy, model, seconds)


def _result(highs: Any, highspy: Any, model: LinearModel, seconds: float) -> SolverResult:
    status = highs.getModelStatus()
    info = highs.getInfo()
    has_solution = info.primal_solution_status == 2  # kSolutionStatusFeasible
    values = tuple(highs.getSolution().col_value) if has_solution else ()
    objective = model.objective_offset + info.objective_function_value if has_solution else None
    any_integer = any(model.integer)
    bound = None
    if any_integer and info.mip_dual_bound > -1e300:
        bound = model.objective_offset + info.mip_dual_bound
    kinds = highspy.HighsModelStatus
    if status == kinds.kOptimal:
        outcome = Status.optimal
        if bound is None:
            bound = objective
    elif status in (kinds.kInfeasible,) or status == kinds.kUnboundedOrInfeasible:
        outcome = Status.infeasible
    elif status in (kinds.kTimeLimit, kinds.kInterrupt, kinds.kIterationLimit,
                    kinds.kSolutionLimit):
        outcome = Status.feasible if has_solution else Status.no_solution
    else:
        outcome = Status.error
    return SolverResult(outcome, objective, bound, values, seconds, "highs")
