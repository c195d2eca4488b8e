"""The backend interface: one linear model in, one typed result out."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Protocol

from planner.linear import LinearModel


class SolverWarning(RuntimeWarning):
    """A solver could not run or failed (shown as a plain `warning:` line by the CLI)."""


class Status(str, Enum):
    optimal = "optimal"
    """Proven optimal within the requested gap."""
    feasible = "feasible"
    """A plan was found but the time limit stopped the proof."""
    infeasible = "infeasible"
    no_solution = "no_solution"
    """Time limit reached before any plan was found (feasibility unknown)."""
    error = "error"


@dataclass(frozen=True)
class SolverResult:
    status: Status
    objective: float | None
    bound: float | None
    values: tuple[float, ...]
    seconds: float
    solver: str
    message: str | None = None
    """Why the solve ended in `Status.error`, when the backend knows."""

    @property
    def gap(self) -> float | None:
        """Relative gap between the plan's cost and the proven lower bound."""
        if self.objective is None or self.bound is None:
            return None
        if abs(self.objective) < 1e-9:
            return 0.0
        return max(0.0, (self.objective - self.bound) / abs(self.objective))


@dataclass(frozen=True)
class SolveOptions:
    time_limit_s: float = 60.0
    """Wall-clock seconds for the whole backend call; it returns by this plus
    `isolation.GRACE_S` whatever the solver does (see `planner.backends.isolation`)."""
    relative_gap: float = 1e-6
    threads: int = 1


class Backend(Protocol):
    name: str

    def solve(self, model: LinearModel, options: SolveOptions) -> SolverResult: ...

    def import_solver(self) -> None:
        """Import the solver's library (what a prestarted worker does while it waits)."""
