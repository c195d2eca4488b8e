"""Solver backends behind one interface; solvers are imported only when used."""

from __future__ import annotations

from planner.backends.base import Backend, SolveOptions, SolverResult, SolverWarning, Status

SOLVERS = ("highs", "cbc", "scip", "cpsat")


def get_backend(name: str) -> Backend:
    """The backend called `name` (one of `SOLVERS`)."""
    if name == "highs":
        from planner.backends.highs import HighsBackend

        return HighsBackend()
    if name == "cbc":
        from planner.backends.cbc import CbcBackend

        return CbcBackend()
    if name == "scip":
        from planner.backends.scip import ScipBackend

        return ScipBackend()
    if name == "cpsat":
        from planner.backends.cpsat import CpSatBackend

        return CpSatBackend()
    raise ValueError(f"unknown solver '{name}' (choose from {', '.join(SOLVERS)})")


def prestart(name: str) -> None:
    """Start the worker process for the solver called `name` now, and have it import the
    solver, while the caller builds the model (see `planner.backends.isolation`)."""
    from planner.backends.isolation import prestart as start_worker

    start_worker(get_backend(name))


__all__ = ["SOLVERS", "Backend", "SolveOptions", "SolverResult", "SolverWarning", "Status",
           "get_backend", "prestart"]
