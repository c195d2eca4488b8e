"""Solver backends behind one interface; solvers are imported only when used."""

from __future__ import annotations

from planner.backends.base import Backend, SolveOptions, SolverResult, Status

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


__all__ = ["SOLVERS", "Backend", "SolveOptions", "SolverResult", "Status", "get_backend"]
