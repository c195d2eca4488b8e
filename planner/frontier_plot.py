"""The frontier as a PNG (matplotlib, the optional `report` extra), knees marked."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from planner.errors import PlanError
from planner.explain import money
from planner.frontier import BUDGET, Frontier
from planner.output import write_atomic

INSTALL_HINT = "python -m pip install 'plan-ai-compute[report]'"
LINE, NO_PLAN, KNEE, BUDGET_LINE = "#1f6feb", "#cf222e", "#bf8700", "#8c959f"


def _figure() -> Any:
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise PlanError(f"plots need matplotlib, which is not installed; install it with: {INSTALL_HINT}") \
            from None
    return Figure(figsize=(8, 4.5), dpi=110, layout="constrained")


def plot_png(frontier: Frontier) -> bytes:
    """The least cost against the varied value; points without a plan drawn as crosses.

    Raises:
        PlanError: when matplotlib is not installed (with the command that installs it).
    """
    figure = _figure()  # first: it says how to install matplotlib when it is missing
    from matplotlib.ticker import FuncFormatter

    axes = figure.subplots()
    feasible = [(p.value, p.cost_usd_per_month) for p in frontier.points if p.cost_usd_per_month is not None]
    missing = [p.value for p in frontier.points if p.cost_usd_per_month is None]
    if feasible:
        axes.plot(*zip(*feasible, strict=True), marker="o", color=LINE, label="least cost")
    if frontier.axis == BUDGET:
        budgets = [p.value for p in frontier.points]
        axes.plot(budgets, budgets, linestyle="--", color=BUDGET_LINE, label="budget")
    if missing:
        floor = min((cost for _, cost in feasible), default=0.0)
        axes.scatter(missing, [floor] * len(missing), marker="x", s=70, color=NO_PLAN, label="no plan",
                     zorder=3)
    knees = [p for p in frontier.points if p.knee and p.cost_usd_per_month is not None]
    if knees:
        axes.scatter([p.value for p in knees], [p.cost_usd_per_month for p in knees], s=220,
                     facecolors="none", edgecolors=KNEE, linewidths=2, label="knee", zorder=4)
        for point in knees:
            axes.annotate(f"knee {frontier.shown(point.value)}", (point.value, point.cost_usd_per_month),
                          textcoords="offset points", xytext=(8, 10), color=KNEE)
    axes.xaxis.set_major_formatter(FuncFormatter(lambda value, _: frontier.shown(value)))
    axes.yaxis.set_major_formatter(FuncFormatter(lambda value, _: money(value)))
    axes.set_xlabel(frontier.label + (f" ({frontier.workload})" if frontier.workload else ""))
    axes.set_ylabel("least cost, $/month")
    axes.set_title(f"{frontier.problem}: least cost by {frontier.label}")
    axes.grid(alpha=0.3)
    axes.legend(loc="best")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


def require_matplotlib() -> None:
    """Fail before any solve when a plot is asked for and cannot be drawn."""
    _figure()


def write_png(path: Path, data: bytes, force: bool) -> None:
    """Write `data` to `path` atomically; refuse to clobber without `force` (like -o)."""
    write_atomic(path, data, force, "--plot")
