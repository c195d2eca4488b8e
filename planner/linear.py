"""A solver-independent linear model: named variables, named constraint groups.

The formulation writes into this; each backend translates it for its solver. Keeping the
model as plain arrays makes it cheap to build, easy to snapshot in tests, and lets every
solver read exactly the same rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field

INFINITY = float("inf")


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

    def objective(self, values: list[float]) -> float:
        return self.objective_offset + sum(c * v for c, v in zip(self.cost, values, strict=True))
