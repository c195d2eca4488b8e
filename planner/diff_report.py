"""A `PlanDiff` as a report: summary, cost change by breakdown, allocation changes, and any
other field that changed. Every figure comes from the diff, which comes from the plans."""

from __future__ import annotations

from typing import Any

from planner.diff import DETAIL_FIELDS, CostRow, FieldChange, PlanDiff, RecordChange
from planner.explain import money
from planner.report_document import (
    Block,
    Bullets,
    Heading,
    Paragraph,
    Report,
    Table,
    field_text,
    percent_change,
    show_value,
    signed_money,
)

NO_PLAN = "no plan"
ALLOCATION_COLUMNS_SHOWN = frozenset({"instances", "cost_usd_per_month"})


def _cost(value: float | None) -> str:
    return NO_PLAN if value is None else money(value)


def _delta(row: CostRow) -> tuple[str, str]:
    if row.before is None or row.after is None:
        return ("-", "")
    return (signed_money(row.after - row.before), percent_change(row.before, row.after))


def summary_lines(diff: PlanDiff) -> list[str]:
    if diff.same:
        return ["No changes: the same configurations at the same cost."]
    lines = []
    if diff.status[0] != diff.status[1]:
        lines.append(f"Status: {diff.status[0]} -> {diff.status[1]}.")
    change, share = _delta(diff.total)
    lines.append(f"Total: {_cost(diff.total.before)} -> {_cost(diff.total.after)} per month"
                 + (f" ({change}, {share})" if share else f" ({change})" if change != "-" else "") + ".")
    if diff.allocations:
        lines.append(f"Allocations: {diff.count('added')} added, {diff.count('removed')} removed, "
                     f"{diff.count('changed')} changed.")
    return lines


def cost_table(name: str, rows: tuple[CostRow, ...]) -> Table:
    return Table((name, "before $/month", "after $/month", "change", "change %"),
                 tuple((row.name, _cost(row.before), _cost(row.after), *_delta(row)) for row in rows),
                 ("left", "right", "right", "right", "right"))


def _changes_text(fields: tuple[FieldChange, ...], skipped: frozenset[str] = frozenset()) -> str:
    return "; ".join(f"{c.path} {field_text(c.path, c.before)} -> {field_text(c.path, c.after)}"
                     for c in fields if c.path not in skipped)


def _fields_text(record: dict[str, Any], fields: tuple[str, ...]) -> str:
    return ", ".join(f"{field} {field_text(field, record[field])}" for field in fields if field in record)


def _details(item: RecordChange, fields: tuple[str, ...] | None, skipped: frozenset[str]) -> str:
    """What changed; for an added or removed record, its main fields (`None`: all but its name)."""
    if item.change == "changed":
        return _changes_text(item.fields, skipped)
    side = item.after or item.before or {}
    if fields is None:
        fields = tuple(key for key in side if key not in skipped and not isinstance(side[key], str))
    return _fields_text(side, fields)


def allocation_table(diff: PlanDiff) -> Table:
    rows = []
    for item in diff.allocations:
        before = show_value(item.before.get("instances")) if item.before else "-"
        after = show_value(item.after.get("instances")) if item.after else "-"
        rows.append((item.change, item.group, item.label, f"{before} -> {after}",
                     money(item.cost(item.before)), money(item.cost(item.after)),
                     signed_money(item.cost_delta), _details(item, DETAIL_FIELDS, ALLOCATION_COLUMNS_SHOWN)))
    return Table(("change", "workload", "configuration", "instances", "before $/month",
                  "after $/month", "change $", "details"), tuple(rows),
                 ("left", "left", "left", "right", "right", "right", "right", "left"))


def workload_table(diff: PlanDiff) -> Table:
    return Table(("change", "workload", "details"), tuple(
        (item.change, item.label, _details(item, ("model", "kind", "rate_rps"), frozenset()))
        for item in diff.workloads))


def record_table(name: str, items: tuple[RecordChange, ...]) -> Table:
    """Changes to a list of records this module does not know by name (e.g. commitments)."""
    costed = any("cost_usd_per_month" in (item.after or item.before or {}) for item in items)
    skipped = frozenset({"cost_usd_per_month"}) if costed else frozenset()
    headers = ("change", name.replace("_", " "), *(("before $/month", "after $/month", "change $")
                                                  if costed else ()), "details")
    def costs(item: RecordChange) -> tuple[str, ...]:
        if not costed:
            return ()
        return (money(item.cost(item.before)), money(item.cost(item.after)), signed_money(item.cost_delta))

    rows = tuple((item.change, item.label, *costs(item), _details(item, None, skipped)) for item in items)
    align = ("left", "left", *(("right",) * 3 if costed else ()), "left")
    return Table(headers, rows, align)


def field_table(title: str, changes: tuple[FieldChange, ...]) -> Table:
    return Table((title, "before", "after"), tuple(
        (c.path, field_text(c.path, c.before), field_text(c.path, c.after)) for c in changes))


def diff_blocks(diff: PlanDiff) -> list[Block]:
    """The body of a diff report (also used inside the what-if report)."""
    blocks: list[Block] = [Paragraph(line) for line in summary_lines(diff)]
    blocks += [Heading("Cost change"), cost_table("total", (diff.total,))]
    for name, rows in diff.costs.items():
        if rows:
            blocks += [Heading(f"by {name}", 3), cost_table(name, rows)]
    if diff.allocations:
        blocks += [Heading("Allocations"), allocation_table(diff)]
    if diff.workloads:
        blocks += [Heading("Workload results"), workload_table(diff)]
    for name, items in diff.records.items():
        blocks += [Heading(name.replace("_", " ").capitalize()), record_table(name, items)]
    if diff.other:
        blocks += [Heading("Other changes"), field_table("field", diff.other)]
    if diff.metadata:
        blocks += [Heading("Solve details (not counted as a difference)"),
                   field_table("field", diff.metadata)]
    for label, lines in zip((diff.before_label, diff.after_label), diff.diagnosis, strict=True):
        if lines:
            blocks += [Heading(f"Why {label} has no plan"), Bullets(lines)]
    return blocks


def diff_report(diff: PlanDiff) -> Report:
    return Report(f"Plan diff: {diff.before_label} -> {diff.after_label}", tuple(diff_blocks(diff)))
