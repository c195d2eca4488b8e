"""`plan diff`, `plan whatif`, `plan frontier`: the budget-negotiation commands.

Output is a plain-text table by default, or `--format json|markdown|html`; `-o FILE` is written
atomically and never overwrites without `--force`. `plan diff` exits like `kubectl diff`:
0 the plans are the same, 1 they differ, 2 an error (a missing or bad plan file, named). The
others follow `plan solve`: 1 bad input; `whatif` exits 2 or 3 when the changed problem has no
plan or hit the time limit; `frontier` exits 0 once every point is solved, with or without a plan.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from planner.backends import SOLVERS
from planner.errors import PlanError
from planner.output import check_target, emit, reports_errors

F = TypeVar("F", bound=Callable[..., Any])
FORMATS = ("table", "json", "markdown", "html")
EXIT_DIFFERENT = 1
EXIT_DIFF_ERROR = 2
EXIT_INFEASIBLE = 2
EXIT_TIME_LIMIT = 3


def output_options(command: F) -> F:
    for option in reversed((
        click.option("--format", "output_format", type=click.Choice(FORMATS), default="table",
                     show_default=True),
        click.option("-o", "--output", type=click.Path(path_type=Path), help="Write to this file."),
        click.option("--force", is_flag=True, help="Overwrite an existing output file."),
    )):
        command = option(command)
    return command


def solver_options(command: F) -> F:
    for option in reversed((
        click.option("--solver", type=click.Choice(SOLVERS), default="highs", show_default=True),
        click.option("--time-limit", type=click.FloatRange(min=0.1, max=86400), default=60.0,
                     show_default=True, help="Seconds each solve may run."),
        click.option("--gap", type=click.FloatRange(min=0, max=1), default=1e-6, show_default=True,
                     help="Relative optimality gap at which to stop."),
    )):
        command = option(command)
    return command


def _json(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2) + "\n"


def refuse_clobber(path: Path | None, force: bool, option: str) -> None:
    """Fail before the solves, not after them, when an output file would be overwritten."""
    if path is not None:
        check_target(path, force, option)


def _progress(message: str) -> None:
    click.echo(message, err=True)


def read_plan_document(path: Path) -> dict[str, Any]:
    """A plan file's JSON, checked to be a plan (so every field can be diffed, known or not).

    Raises:
        InputError: naming the file when it is missing, not JSON or not a plan.
    """
    from planner.cli import read_plan

    read_plan(path)
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return document


@click.command("diff")
@click.argument("before", type=click.Path(path_type=Path))
@click.argument("after", type=click.Path(path_type=Path))
@output_options
@reports_errors
def diff_command(before: Path, after: Path, output_format: str, output: Path | None, force: bool) -> None:
    """What changed from plan BEFORE to plan AFTER (JSON from `plan solve`).

    Exit codes follow `kubectl diff`: 0 same, 1 different, 2 error.
    """
    from planner.diff import diff_plans
    from planner.diff_report import diff_report
    from planner.report_document import render

    try:
        difference = diff_plans(read_plan_document(before), read_plan_document(after),
                                str(before), str(after))
        text = (_json(difference.to_dict()) if output_format == "json"
                else render(diff_report(difference), output_format))
        emit(text, output, force)
    except PlanError as exc:
        exc.exit_code = EXIT_DIFF_ERROR  # kubectl diff: >1 is an error, 1 means "different"
        raise
    if not difference.same:
        sys.exit(EXIT_DIFFERENT)


@click.command("whatif")
@click.argument("problem_file", type=click.Path(path_type=Path))
@click.option("--set", "settings", multiple=True, metavar="PATH=VALUE",
              help="Change the problem: workloads.NAME.FIELD=VALUE, budget_usd_per_month=90000, "
                   "a multiplier like workloads.*.rate_rps=x1.5, or prices.MODE=xK / prices.all=xK. "
                   "Repeat for several changes.")
@solver_options
@output_options
@reports_errors
def whatif_command(problem_file: Path, settings: tuple[str, ...], solver: str, time_limit: float, gap: float,
                   output_format: str, output: Path | None, force: bool) -> None:
    """Solve PROBLEM_FILE as written and with the --set changes; show what changes."""
    from planner.backends import SolveOptions
    from planner.report_document import render
    from planner.whatif import run_whatif, whatif_report

    refuse_clobber(output, force, "-o")
    result = run_whatif(problem_file, settings, solver, SolveOptions(time_limit, gap), _progress)
    text = (_json(result.to_dict()) if output_format == "json"
            else render(whatif_report(result), output_format))
    emit(text, output, force)
    if result.changed.status == "feasible":
        sys.exit(EXIT_TIME_LIMIT)
    if result.changed.status != "optimal":
        sys.exit(EXIT_INFEASIBLE)


@click.command("frontier")
@click.argument("problem_file", type=click.Path(path_type=Path))
@click.option("--vary", "axis", type=click.Choice(["budget", "latency", "quality", "spot-share"]),
              required=True, help="latency: scale every SLO; quality: the quality floor; spot-share: "
                                  "the largest spot share; budget: the monthly budget.")
@click.option("--points", type=int, default=5, show_default=True, help="Values to solve at (2 to 50).")
@click.option("--from", "start", type=float, help="First value (default: a range per axis).")
@click.option("--to", "stop", type=float, help="Last value.")
@click.option("--workload", help="Vary only this workload (default: every workload).")
@click.option("--plot", type=click.Path(path_type=Path), help="Also draw the frontier as a PNG here "
              "(needs matplotlib: pip install 'plan-ai-compute[report]').")
@solver_options
@output_options
@reports_errors
def frontier_command(problem_file: Path, axis: str, points: int, start: float | None, stop: float | None,
                     workload: str | None, plot: Path | None, solver: str, time_limit: float, gap: float,
                     output_format: str, output: Path | None, force: bool) -> None:
    """Least cost across a range of one policy, one solve per point, with the knees marked."""
    from planner.backends import SolveOptions
    from planner.frontier import compute_frontier
    from planner.frontier_plot import plot_png, require_matplotlib, write_png
    from planner.frontier_report import frontier_report
    from planner.problem import load_problem
    from planner.report_document import render

    refuse_clobber(output, force, "-o")
    refuse_clobber(plot, force, "--plot")
    if plot is not None:
        require_matplotlib()
    problem, catalog = load_problem(problem_file)
    frontier = compute_frontier(problem, catalog, axis, points, start, stop, workload, solver,
                                SolveOptions(time_limit, gap), _progress)
    png = plot_png(frontier) if plot is not None else None
    if plot is not None and png is not None:
        write_png(plot, png, force)
        click.echo(f"wrote {plot}", err=True)
    if output_format == "json":
        text = _json(frontier.to_dict())
    else:
        if output_format == "html" and png is None:
            png = _optional_plot(frontier)
        text = render(frontier_report(frontier, png, str(plot) if plot else None), output_format)
    emit(text, output, force)


def _optional_plot(frontier: Any) -> bytes | None:
    """The plot for an HTML report, or None (with a note) when matplotlib is missing."""
    from planner.frontier_plot import INSTALL_HINT, plot_png

    try:
        return plot_png(frontier)
    except PlanError:
        click.echo(f"note: the HTML report has no plot without matplotlib ({INSTALL_HINT})", err=True)
        return None

