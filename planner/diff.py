"""What changed between two plans: allocations added, removed or changed (by workload and
configuration) and the cost delta in total and by workload, pricing mode, provider and component.

Plans are compared in their JSON form, field by field, so fields this module does not know
(added to `Plan` later) are still compared and reported. Solve metadata (solver, bound, gap,
candidate counts) and the explanation text are reported but never make two plans differ.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from planner.plan_figures import configuration, cost_breakdowns

SCHEMA_VERSION = 1
KEY_FIELDS = ("workload", "provider", "region", "instance_type", "pricing")
DETAIL_FIELDS = ("variant", "tensor_parallel", "batch")
METADATA_FIELDS = ("solver", "bound_usd_per_month", "gap", "candidates", "rejected",
                   "schema_version", "problem", "solve_seconds")
# compared by dedicated code below rather than generically
HANDLED_FIELDS = frozenset({"status", "objective_usd_per_month", "allocations", "workloads",
                            "diagnosis", "cost_by_pricing", "cost_by_provider", "cost_components"})
WORKLOAD_SKIPPED = frozenset({"name", "why", "cost_usd_per_month"})
REL_TOLERANCE = 1e-9


@dataclass(frozen=True)
class FieldChange:
    path: str
    before: Any
    after: Any

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "before": self.before, "after": self.after}


@dataclass(frozen=True)
class RecordChange:
    """One record (an allocation, a workload result, a commitment...) that appears, disappears
    or changes; `group` is the workload for allocations, else empty."""

    change: str  # added | removed | changed
    group: str
    label: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    fields: tuple[FieldChange, ...]

    def cost(self, side: dict[str, Any] | None) -> float:
        return float(side.get("cost_usd_per_month") or 0.0) if side else 0.0

    @property
    def cost_delta(self) -> float:
        return self.cost(self.after) - self.cost(self.before)

    def to_dict(self) -> dict[str, Any]:
        return {"change": self.change, "group": self.group, "label": self.label,
                "before": self.before, "after": self.after,
                "fields": [field.to_dict() for field in self.fields],
                "cost_delta_usd_per_month": self.cost_delta}


@dataclass(frozen=True)
class CostRow:
    """Monthly cost of one item in both plans; None means that plan has no solution."""

    name: str
    before: float | None
    after: float | None

    @property
    def delta(self) -> float | None:
        return None if self.before is None or self.after is None else self.after - self.before

    @property
    def changed(self) -> bool:
        return not equal(self.before, self.after)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "before": self.before, "after": self.after, "delta": self.delta}


@dataclass(frozen=True)
class PlanDiff:
    before_label: str
    after_label: str
    status: tuple[str, str]
    total: CostRow
    costs: dict[str, tuple[CostRow, ...]]  # by workload / pricing mode / provider / component
    allocations: tuple[RecordChange, ...]
    workloads: tuple[RecordChange, ...]
    records: dict[str, tuple[RecordChange, ...]]  # other lists of records, e.g. commitments
    other: tuple[FieldChange, ...]
    metadata: tuple[FieldChange, ...]
    diagnosis: tuple[tuple[str, ...], tuple[str, ...]]

    @property
    def same(self) -> bool:
        """No difference in what runs, what it costs or the outcome; metadata aside."""
        return (self.status[0] == self.status[1] and not self.total.changed
                and not self.allocations and not self.workloads and not self.other
                and not any(self.records.values())
                and self.diagnosis[0] == self.diagnosis[1]
                and not any(row.changed for rows in self.costs.values() for row in rows))

    def count(self, change: str) -> int:
        return sum(1 for item in self.allocations if item.change == change)

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "before": self.before_label,
            "after": self.after_label,
            "same": self.same,
            "status": {"before": self.status[0], "after": self.status[1]},
            "total": self.total.to_dict(),
            "costs": {name: [row.to_dict() for row in rows] for name, rows in self.costs.items()},
            "allocations": [item.to_dict() for item in self.allocations],
            "workloads": [item.to_dict() for item in self.workloads],
            "records": {name: [item.to_dict() for item in items] for name, items in self.records.items()},
            "other": [item.to_dict() for item in self.other],
            "metadata": [item.to_dict() for item in self.metadata],
            "diagnosis": {"before": list(self.diagnosis[0]), "after": list(self.diagnosis[1])},
        }


def equal(before: Any, after: Any) -> bool:
    """Equality of JSON values with a relative tolerance on numbers (solver round-off)."""
    numbers = (int, float)
    if isinstance(before, numbers) and isinstance(after, numbers) \
            and not isinstance(before, bool) and not isinstance(after, bool):
        return math.isclose(before, after, rel_tol=REL_TOLERANCE, abs_tol=REL_TOLERANCE)
    if isinstance(before, dict) and isinstance(after, dict):
        return before.keys() == after.keys() and all(equal(before[k], after[k]) for k in before)
    if isinstance(before, list | tuple) and isinstance(after, list | tuple):
        return len(before) == len(after) and all(equal(b, a) for b, a in zip(before, after, strict=True))
    return bool(before == after)


def field_changes(before: Any, after: Any, path: str = "") -> list[FieldChange]:
    """Leaf-level changes between two JSON values; mappings are walked key by key."""
    if isinstance(before, dict) and isinstance(after, dict):
        changes: list[FieldChange] = []
        for key in [*before, *(k for k in after if k not in before)]:
            changes += field_changes(before.get(key), after.get(key), f"{path}.{key}" if path else str(key))
        return changes
    return [] if equal(before, after) else [FieldChange(path, before, after)]


def is_records(value: Any) -> bool:
    """A list whose items are all mappings (or an empty list)."""
    return isinstance(value, list | tuple) and all(isinstance(item, dict) for item in value)


@dataclass(frozen=True)
class RecordKind:
    """How to match the records of one list across two plans and what to call them."""

    key: Callable[[dict[str, Any]], tuple[Any, ...]]
    detail: Callable[[dict[str, Any]], tuple[Any, ...]]
    group: Callable[[dict[str, Any]], str]
    label: Callable[[dict[str, Any]], str]
    ignored: frozenset[str] = frozenset()


def _identity(record: dict[str, Any]) -> tuple[Any, ...]:
    """A record's name, or else all its text fields (provider, region, instance type...)."""
    if "name" in record:
        return (record["name"],)
    return tuple((key, value) for key, value in record.items() if isinstance(value, str))


def _no_detail(record: dict[str, Any]) -> tuple[Any, ...]:
    return ()


ALLOCATIONS = RecordKind(
    key=lambda a: tuple(a.get(field) for field in KEY_FIELDS),
    detail=lambda a: tuple(a.get(field) for field in DETAIL_FIELDS),
    group=lambda a: str(a.get("workload")),
    label=configuration,
    ignored=frozenset(KEY_FIELDS),
)
WORKLOADS = RecordKind(key=_identity, detail=_no_detail, group=lambda r: "",
                       label=lambda r: str(r.get("name")), ignored=WORKLOAD_SKIPPED)
GENERIC = RecordKind(key=_identity, detail=_no_detail, group=lambda r: "",
                     label=lambda r: " ".join(str(v) for _, v in _identity(r)) if "name" not in r
                     else str(r["name"]))


def _keyed(records: list[dict[str, Any]], kind: RecordKind) -> dict[tuple[Any, ...], dict[str, Any]]:
    """Records by key; a key used twice is told apart by the details, then by position."""
    primary = [kind.key(record) for record in records]
    keyed: dict[tuple[Any, ...], dict[str, Any]] = {}
    for key, record in zip(primary, records, strict=True):
        if primary.count(key) > 1:
            key = (*key, *kind.detail(record))
            while key in keyed:
                key = (*key, len(keyed))
        keyed[key] = record
    return keyed


def record_changes(before: list[dict[str, Any]], after: list[dict[str, Any]], kind: RecordKind
                   ) -> tuple[RecordChange, ...]:
    old, new = _keyed(before, kind), _keyed(after, kind)
    changes = []
    for key in [*old, *(k for k in new if k not in old)]:
        a, b = old.get(key), new.get(key)
        fields = () if a is None or b is None else tuple(
            change for change in field_changes(a, b) if change.path.split(".")[0] not in kind.ignored)
        if a is not None and b is not None and not fields:
            continue
        change = "added" if a is None else "removed" if b is None else "changed"
        shown = b or a or {}
        changes.append(RecordChange(change, kind.group(shown), kind.label(shown), a, b, fields))
    return tuple(changes)


def _cost_rows(before: dict[str, float], after: dict[str, float], has_before: bool,
               has_after: bool) -> tuple[CostRow, ...]:
    names = sorted({*before, *after})
    return tuple(CostRow(name, before.get(name, 0.0) if has_before else None,
                         after.get(name, 0.0) if has_after else None) for name in names)


def diff_plans(before: dict[str, Any], after: dict[str, Any], before_label: str = "before",
               after_label: str = "after") -> PlanDiff:
    """Compare two plans given in their JSON form (`Plan.to_dict()` or a plan file)."""
    total_before = before.get("objective_usd_per_month")
    total_after = after.get("objective_usd_per_month")
    has_before, has_after = total_before is not None, total_after is not None
    old_costs, new_costs = cost_breakdowns(before), cost_breakdowns(after)
    costs = {name: _cost_rows(old_costs[name], new_costs.get(name, {}), has_before, has_after)
             for name in old_costs}
    allocations = record_changes(list(before.get("allocations") or []),
                                 list(after.get("allocations") or []), ALLOCATIONS)
    # with no plan on one side, its missing workload results are the status change, not news
    workloads = record_changes(list(before.get("workloads") or []), list(after.get("workloads") or []),
                               WORKLOADS) if has_before and has_after else ()
    records: dict[str, tuple[RecordChange, ...]] = {}
    other: list[FieldChange] = []
    metadata: list[FieldChange] = []
    for key in [*before, *(k for k in after if k not in before)]:
        old, new = before.get(key), after.get(key)
        if key in HANDLED_FIELDS:
            continue
        if key in METADATA_FIELDS:
            metadata += field_changes(old, new, key)
        elif is_records(old or []) and is_records(new or []) and (old or new):
            records[key] = record_changes(list(old or []), list(new or []), GENERIC)
        else:
            other += field_changes(old, new, key)
    return PlanDiff(
        before_label=before_label,
        after_label=after_label,
        status=(str(before.get("status")), str(after.get("status"))),
        total=CostRow("total", total_before, total_after),
        costs=costs,
        allocations=tuple(sorted(allocations, key=lambda c: (c.group, c.label))),
        workloads=workloads,
        records={name: items for name, items in records.items() if items},
        other=tuple(other),
        metadata=tuple(metadata),
        diagnosis=(tuple(before.get("diagnosis") or ()), tuple(after.get("diagnosis") or ())),
    )
