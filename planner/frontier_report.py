"""A `Frontier` as a report: what was varied, one row per point, the knees, the plot, and
what the plan runs wherever it changes. Every figure comes from the solved points."""

from __future__ import annotations

from planner.explain import money
from planner.frontier import BUDGET, LATENCY, QUALITY, SPOT, Frontier, FrontierPoint
from planner.report_document import Block, Bullets, Heading, Image, Paragraph, Report, Table, signed_money


def _changed(previous: FrontierPoint | None, point: FrontierPoint) -> str:
    if previous is None or point.cost_usd_per_month is None:
        return ""
    if previous.cost_usd_per_month is None:
        return "first plan"
    names = sorted({*previous.configuration, *point.configuration})
    return ", ".join(n for n in names if previous.configuration.get(n) != point.configuration.get(n))


def points_table(frontier: Frontier) -> Table:
    budget = frontier.axis == BUDGET
    headers = [frontier.label, "status", "least $/month", "change", *(["headroom"] if budget else []),
               "knee", "workloads whose plan changed"]
    rows = []
    previous: FrontierPoint | None = None
    for point in frontier.points:
        cost = point.cost_usd_per_month
        before = previous.cost_usd_per_month if previous else None
        row = [frontier.shown(point.value), point.status, money(cost) if cost is not None else "no plan",
               signed_money(cost - before) if cost is not None and before is not None else ""]
        row += [money(point.value - cost) if cost is not None else ""] if budget else []
        row += ["knee" if point.knee else "", _changed(previous, point)]
        rows.append(tuple(row))
        previous = point
    align = ["right", "left", "right", "right", *(["right"] if budget else []), "left", "left"]
    return Table(tuple(headers), tuple(rows), tuple(align))


def description(frontier: Frontier) -> str:
    first, last = frontier.shown(frontier.points[0].value), frontier.shown(frontier.points[-1].value)
    who = f"workload {frontier.workload}" if frontier.workload else "every workload"
    text = {
        LATENCY: f"Every latency SLO of {who} scaled by a factor from {first} (tighter) to {last} (looser).",
        QUALITY: f"Quality floor (relative to bf16) of {who} set from {first} to {last}.",
        SPOT: f"Largest spot share of {who} set from {first} to {last}.",
        BUDGET: f"Monthly budget from {first} to {last}; the planner minimises cost, so the budget "
                "decides only whether a plan exists.",
    }[frontier.axis]
    return f"{text} Each of the {len(frontier.points)} points is a full solve."


def findings(frontier: Frontier) -> list[str]:
    solved = [p for p in frontier.points if p.cost_usd_per_month is not None]
    lines = [f"{len(solved)} of {len(frontier.points)} points have a plan."]
    if solved and frontier.axis != BUDGET:
        cheapest = min(solved, key=lambda p: (p.cost_usd_per_month, p.value))
        dearest = max(solved, key=lambda p: (p.cost_usd_per_month, -p.value))
        lines.append(f"Least cost {money(cheapest.cost_usd_per_month or 0.0)}/month at "
                     f"{frontier.shown(cheapest.value)}; highest {money(dearest.cost_usd_per_month or 0.0)}"
                     f"/month at {frontier.shown(dearest.value)}.")
    if frontier.axis == BUDGET and solved:
        lowest = solved[0]
        lines.append(f"Lowest budget with a plan here: {frontier.shown(lowest.value)} "
                     f"(the plan costs {money(lowest.cost_usd_per_month or 0.0)}/month).")
    knees = [frontier.shown(p.value) for p in frontier.points if p.knee]
    lines.append(f"Knees (where the slope changes most): {', '.join(knees)}." if knees
                 else "No knee: the cost does not bend within this range.")
    return lines


def configurations(frontier: Frontier) -> list[str]:
    """Each point where the plan changes, with what every workload runs there."""
    items = []
    previous: dict[str, str] | None = None
    for point in frontier.points:
        if point.cost_usd_per_month is not None and point.configuration != previous:
            runs = "; ".join(f"{name}: {text}" for name, text in point.configuration.items())
            items.append(f"{frontier.shown(point.value)}: {runs}")
            previous = point.configuration
    return items


def frontier_report(frontier: Frontier, png: bytes | None = None, plot_path: str | None = None) -> Report:
    blocks: list[Block] = [Paragraph(description(frontier))]
    blocks += [Paragraph(line) for line in findings(frontier)]
    blocks += [Heading("Points"), points_table(frontier)]
    if png is not None:
        blocks += [Heading("Plot"), Image(png, f"least cost by {frontier.label}", plot_path)]
    runs = configurations(frontier)
    if runs:
        blocks += [Heading("What the plan runs (where it changes)"), Bullets(tuple(runs))]
    return Report(f"Cost frontier: {frontier.problem} by {frontier.label}", tuple(blocks))
