"""HiGHS through highspy, fed the model as arrays (no expression objects).

Runs in the solver worker (`planner.backends.isolation`): every improving plan and the proven
bound are streamed to the parent through HiGHS callbacks, and the MIP interrupt callback
stops the search at the deadline even when HiGHS's own clock started late.
"""

from __future__ import annotations

import importlib
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from planner.backends.base import SolveOptions, SolverResult, Status
from planner.backends.isolation import Progress, solve_isolated
from planner.linear import LinearModel

LARGE_MODEL_COLUMNS = 2_000
"""From this many columns on, HiGHS's probing and enumeration presolve are switched off.

Both end in `finaliseProbing`, whose clique cover (`aggregateVarBounds`) never checks the time
limit and grows with (integer columns) x (binaries linked to them): on the unpruned
10-workload fleet (11,058 columns, 56 variant binaries) it ran 200 s past a 5 s limit and
found no plan; without the two rules presolve takes 0.3 s and a plan comes in 11 s. Single
runs, 60 s limit, default vs rules off: unpruned quickstart (2,315 columns) 17.1 s vs 4.1 s,
unpruned rag-platform (4,430) 24.5 s vs 5.7 s, mixed-fleet (10,257) 33.7 s vs 21.9 s, 30 and
100 generated workloads (3,518 and 11,479) hit the limit either way with the same gap. Below
2,000 columns neither wins (the pruned 10-workload fleet, 1,027 columns: 10.5 s vs 14.0 s;
the pruned examples: under a second either way), so small models keep HiGHS's defaults.
"""
PROBING_AND_ENUMERATION = (1 << 15) | (1 << 16)
"""`presolve_rule_off` bits 15 (probing) and 16 (enumeration) in HiGHS 1.16."""

_scheduler: tuple[int, int] | None = None
"""(pid, threads) of HiGHS's process-wide scheduler as last started by `_ready_scheduler`."""


@contextmanager
def quiet_stdout() -> Iterator[None]:
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


def silent_highs(threads: int = 1) -> Any:
    """A new HiGHS instance that prints nothing (no banner on our stdout, no log), on
    `threads` threads."""
    import highspy

    with quiet_stdout():
        highs = highspy.Highs()
    highs.setOptionValue("output_flag", False)
    highs.setOptionValue("threads", int(threads))
    return highs


class HighsBackend:
    name = "highs"

    def solve(self, model: LinearModel, options: SolveOptions) -> SolverResult:
        return solve_isolated(self, model, options)

    def import_solver(self) -> None:
        importlib.import_module("highspy")

    def solve_here(self, model: LinearModel, options: SolveOptions, progress: Progress
                   ) -> SolverResult:
        import highspy

        _ready_scheduler(highspy, options.threads)
        highs = silent_highs(options.threads)
        highs.setOptionValue("mip_rel_gap", float(options.relative_gap))
        highs.setOptionValue("random_seed", 0)
        if model.variable_count >= LARGE_MODEL_COLUMNS:
            highs.setOptionValue("presolve_rule_off", PROBING_AND_ENUMERATION)
        if model.has_spread_rows:
            # `strengthenInequalities`, a presolve step no rule bit switches off, shrinks a
            # row's violation by its smallest coefficient per pass and checks the time limit
            # only between rows: on a spread budget row it looped without end (3 columns; 4 ms
            # without presolve)
            highs.setOptionValue("presolve", "off")
        _load(highs, highspy, model)
        _stream(highs, model, progress)
        highs.setOptionValue("time_limit", progress.remaining_s())
        started = time.perf_counter()
        highs.run()
        seconds = time.perf_counter() - started
        return _result(highs, highspy, model, seconds)


def _ready_scheduler(highspy: Any, threads: int) -> None:
    """Make HiGHS's process-wide thread scheduler fit `threads`.

    HiGHS refuses (`Status.error`) a solve with another thread count than its scheduler was
    started with, and a scheduler inherited through fork (a parent that ran HiGHS itself, e.g.
    for sensitivity LPs) has no threads behind it: a solve with its thread count hung. So a
    scheduler this process did not start is dropped without waiting for its (absent) threads,
    and one it did start is reset when the thread count changes.
    """
    global _scheduler
    if _scheduler is None or _scheduler[0] != os.getpid():
        highspy.Highs.resetGlobalScheduler(False)
    elif _scheduler[1] != threads:
        highspy.Highs.resetGlobalScheduler(True)
    _scheduler = (os.getpid(), threads)


def _load(highs: Any, highspy: Any, model: LinearModel) -> None:
    import numpy as np

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


def _stream(highs: Any, model: LinearModel, progress: Progress) -> None:
    """Send improving plans and bounds to `progress`; interrupt the MIP at the deadline."""
    offset = model.objective_offset

    def improving(event: Any) -> None:
        data = event.data_out
        bound = data.mip_dual_bound
        progress.incumbent(list(data.mip_solution), offset + data.objective_function_value,
                           offset + bound if bound > -1e300 else None)

    def interrupt(event: Any) -> None:
        bound = event.data_out.mip_dual_bound
        if bound > -1e300:
            progress.bound(offset + bound)
        if time.monotonic() > progress.deadline:
            event.interrupt()

    highs.cbMipImprovingSolution.subscribe(improving)
    highs.cbMipInterrupt.subscribe(interrupt)


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
