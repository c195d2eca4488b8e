"""An `AuditResult` as a report (plain text or markdown); JSON lives on the result itself."""

from __future__ import annotations

from typing import Any

from planner.audit import AuditResult, Finding
from planner.report_document import Block, Bullets, Heading, Paragraph, Report, Table, render


def usd(value: float | None) -> str:
    """Cents below $1,000 (small accounts and fixtures), whole dollars above."""
    if value is None:
        return "-"
    return f"${value:,.2f}" if abs(value) < 1000 else f"${value:,.0f}"


def _breakdown(title: str, values: dict[str, float], total: float) -> list[Block]:
    if not values:
        return []
    rows = tuple((name, usd(cost), f"{cost / total:.0%}" if total else "-")
                 for name, cost in values.items())
    return [Heading(title, 3), Table((title.split(" by ")[-1], "$/month", "share"), rows,
                                     ("left", "right", "right"))]


def _spend(result: AuditResult) -> list[Block]:
    kinds = result.billed_by_kind_usd
    rows = result.rows
    blocks: list[Block] = [
        Heading("Actual spend"),
        Paragraph(f"accelerator spend {usd(result.actual_usd_per_month)}/month. The file's "
                  f"BilledCost {usd(result.billed_total_usd)} = accelerator rows mapped to offers "
                  f"{usd(kinds['accelerator'])} ({rows['accelerator']} rows) + unmapped accelerator "
                  f"rows {usd(kinds['unmapped'])} ({rows['unmapped']}) + other rows "
                  f"{usd(kinds['other'])} ({rows['other']})."),
    ]
    total = result.actual_usd_per_month
    blocks += _breakdown("spend by workload", result.by_workload, total)
    blocks += _breakdown("spend by offer", result.by_offer, total)
    blocks += _breakdown("spend by pricing", result.by_pricing, total)
    return blocks


def _plan(result: AuditResult) -> list[Block]:
    plan = result.plan
    blocks: list[Block] = [Heading("Optimal plan for the observed demand"),
                           Paragraph(f"demand: {plan.demand}")]
    if plan.objective_usd_per_month is None:
        blocks.append(Paragraph(f"no plan ({plan.status}): " + "; ".join(plan.diagnosis)))
        return blocks
    blocks.append(Table(("workload", "offer", "pricing", "variant", "instances", "$/month"), tuple(
        (a["workload"], a["offer"], a["pricing"], a["variant"], str(a["instances"]),
         usd(a["cost_usd_per_month"])) for a in plan.allocations),
        ("left", "left", "left", "left", "right", "right")))
    blocks.append(Paragraph(
        f"plan {usd(plan.objective_usd_per_month)}/month ({plan.status}) vs actual "
        f"{usd(result.actual_usd_per_month)}/month: gap {usd(result.gap_usd_per_month)}/month, of "
        f"which the findings below explain {usd(result.explained_usd_per_month)}/month (the rest: "
        f"other hardware, variants and hour-by-hour sizing, and rows without a catalog offer)"))
    return blocks


def _finding(rank: int, finding: Finding) -> list[Block]:
    where = "" if finding.in_gap else (" (beyond the optimal plan)" if finding.savings_usd_per_month
                                       else " (no saving: quality)")
    return [Heading(f"{rank}. {usd(finding.savings_usd_per_month)}/month: {finding.title}{where}", 3),
            Bullets((finding.detail, f"action: {finding.action}",
                     f"problem file: {finding.problem_change}"))]


def _demand(result: AuditResult) -> list[Block]:
    if not result.demand:
        return []
    def share(value: Any) -> str:
        return "-" if value is None else f"{value:.1%}"
    rows = tuple((d["workload"], f"{d['requests']:,}", str(d["span_hours"]), f"{d['peak_rps']:.4g}",
                  f"{d['mean_rps']:.4g}", f"{d['busiest_hour_rps']:.4g}",
                  share(d["slo_violation_share"]), share(d["repeat_share"])) for d in result.demand)
    return [Heading("Observed demand"),
            Table(("workload", "requests", "hours", "peak req/s", "mean req/s", "busiest hour req/s",
                   "missed SLO", "repeated"), rows, ("left",) + ("right",) * 7)]


def _unmapped(result: AuditResult) -> list[Block]:
    if not result.unmapped:
        return []
    rows = tuple((g["what"], g["reason"], str(len(g["lines"])), usd(g["billed_usd"]))
                 for g in result.unmapped)
    return [Heading("Accelerator rows without a catalog offer"),
            Table(("what", "why", "rows", "billed"), rows, ("left", "left", "right", "right"))]


def audit_report(result: AuditResult) -> Report:
    title = (f"audit of '{result.problem}': {result.billing_file}, {result.period_start} to "
             f"{result.period_end} ({result.period_hours:,.0f} h, x{result.monthly_factor:.4g} "
             f"to a month)")
    blocks: list[Block] = [*_spend(result), *_plan(result),
                           Heading("Findings, by savings")]
    if not result.findings:
        blocks.append(Paragraph("none"))
    for rank, finding in enumerate(result.findings, start=1):
        blocks += _finding(rank, finding)
    blocks += _demand(result) + _unmapped(result)
    if result.notes:
        blocks += [Heading("Notes"), Bullets(result.notes)]
    return Report(title, tuple(blocks))


def render_audit(result: AuditResult, output_format: str) -> str:
    return render(audit_report(result), output_format)
