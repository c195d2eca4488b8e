"""A solver-independent linear model: named variables, named constraint groups.

The formulation writes into this; each backend translates it for its solver. Keeping the
model as plain arrays makes it cheap to build, easy to snapshot in tests, and lets every
solver read exactly the same rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field

INFINITY = float("inf")
SPREAD_ROW_RATIO = 1e10
"""A row whose largest |coefficient| is this many times its smallest is "spread": solvers'
row scaling and presolve break on such rows (a budget row with $7.3e-4 and $7.3e11 per month,
from a $1e-6/h and a $1e9/h offer: HiGHS's presolve looped without end, CBC's LP declared the
problem infeasible), so the backends switch those steps off for it (see `highs.py`, `cbc.py`).
The planner's own rows reach 3.6e7 (the unpruned rag-platform budget row), well below."""


@dataclass
class Row:
    name: str
    group: str
    indices: list[int]
    coefficients: list[float]
    lower: float
    upper: float


@dataclass
class LinearModel:
    """Minimise cost . x subject to lower <= A x <= upper, bounds and integrality."""

    names: list[str] = field(default_factory=list)
    lower: list[float] = field(default_factory=list)
    upper: list[float] = field(default_factory=list)
    integer: list[bool] = field(default_factory=list)
    cost: list[float] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)
    groups: dict[str, str] = field(default_factory=dict)
    """Constraint group name -> one-line description."""
    objective_offset: float = 0.0

    def add_variable(self, name: str, lower: float, upper: float, integer: bool, cost: float
                     ) -> int:
        self.names.append(name)
        self.lower.append(lower)
        self.upper.append(upper)
        self.integer.append(integer)
        self.cost.append(cost)
        return len(self.names) - 1

    def add_group(self, group: str, description: str) -> None:
        self.groups[group] = description

    def add_row(self, group: str, name: str, terms: dict[int, float], lower: float = -INFINITY,
                upper: float = INFINITY) -> None:
        if group not in self.groups:
            raise KeyError(f"constraint group '{group}' has no description")
        indices = sorted(terms)
        self.rows.append(Row(name, group, indices, [terms[i] for i in indices], lower, upper))

    @property
    def variable_count(self) -> int:
        return len(self.names)

    def row_activity(self, row: Row, values: list[float]) -> float:
        return sum(c * values[i] for i, c in zip(row.indices, row.coefficients, strict=True))

    def widest_row_ratio(self) -> float:
        """The largest max |coefficient| / min |coefficient| over the rows (1 if none)."""
        widest = 1.0
        for row in self.rows:
            magnitudes = [abs(c) for c in row.coefficients if c]
            if magnitudes:
                widest = max(widest, max(magnitudes) / min(magnitudes))
        return widest

    @property
    def has_spread_rows(self) -> bool:
        """Some row's coefficients span `SPREAD_ROW_RATIO` or more."""
        return self.widest_row_ratio() >= SPREAD_ROW_RATIO

    def objective(self, values: list[float]) -> float:
        return self.objective_offset + sum(c * v for c, v in zip(self.cost, values, strict=True))
