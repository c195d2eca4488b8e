"""Command line: a thin layer over the pipeline. Exit codes: 0 plan, 1 bad input or error,
2 infeasible (with a diagnosis), 3 time limit with a feasible but unproven plan."""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path
from typing import Any

import click

from planner.backends import SOLVERS
from planner.errors import input_error
from planner.output import emit, reports_errors

EXIT_INFEASIBLE = 2
EXIT_TIME_LIMIT = 3

LAZY_COMMANDS = {
    "audit": "planner.audit_commands:audit",
    "catalog": "planner.catalog_commands:catalog",
    "diff": "planner.negotiate_commands:diff_command",
    "explain": "planner.explain_commands:explain_command",
    "export": "planner.export_commands:export",
    "frontier": "planner.negotiate_commands:frontier_command",
    "profile": "planner.audit_commands:profile",
    "whatif": "planner.negotiate_commands:whatif_command",
}
"""Commands that live in their own modules: name -> "module:attribute"."""


class LazyGroup(click.Group):
    """A group that imports a command's module only when the command runs or is listed
    (`plan --help`), so that `plan solve` does not import what `plan audit` needs."""

    def __init__(self, *args: Any, lazy: dict[str, str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = lazy

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy and cmd_name not in self.commands:
            module, attribute = self.lazy[cmd_name].split(":")
            self.add_command(getattr(importlib.import_module(module), attribute), cmd_name)
        return super().get_command(ctx, cmd_name)


@click.group(cls=LazyGroup, lazy=LAZY_COMMANDS)
@click.version_option(package_name="plan-ai-compute")
def main() -> None:
    """plan: proven-optimal AI compute plans, explained."""


@main.command()
@click.argument("problem_file", type=click.Path(path_type=Path))
@click.option("--solver", type=click.Choice(SOLVERS), default="highs", show_default=True)
@click.option("--time-limit", type=click.FloatRange(min=0.1, max=86400), default=60.0,
              show_default=True, help="Seconds the solver may run.")
@click.option("--gap", type=click.FloatRange(min=0, max=1), default=1e-6, show_default=True,
              help="Relative optimality gap at which to stop.")
@click.option("--format", "output_format", type=click.Choice(["table", "json", "markdown", "html"]),
              default="table", show_default=True)
@click.option("-o", "--output", type=click.Path(path_type=Path), help="Write to this file.")
@click.option("--force", is_flag=True, help="Overwrite an existing output file.")
@reports_errors
def solve(problem_file: Path, solver: str, time_limit: float, gap: float, output_format: str,
          output: Path | None, force: bool) -> None:
    """Find the cheapest plan that meets every SLO, quota and budget in PROBLEM_FILE."""
    from planner.backends import SolveOptions, prestart
    from planner.problem import load_problem
    from planner.progress import Throttled, reporting
    from planner.report import render_table
    from planner.solve import solve as run_solve

    problem, catalog = load_problem(problem_file)
    prestart(solver)  # the solver loads while the model is built
    click.echo(f"solving {problem.name}: {len(problem.workloads)} workloads, "
               f"{len(catalog.offers)} offers ...", err=True)
    with reporting(Throttled(lambda line: click.echo(line, err=True))):
        plan = run_solve(problem, catalog, solver, SolveOptions(time_limit, gap))
    if output_format in ("markdown", "html"):
        from planner.report_plan import render_plan

        text = render_plan(plan.to_dict(), problem, output_format)
    else:
        text = plan.to_json() if output_format == "json" else render_table(plan, problem)
    emit(text, output, force)
    if plan.status == "optimal":
        return
    if plan.status == "feasible":
        sys.exit(EXIT_TIME_LIMIT)
    if plan.status in ("infeasible", "no_solution"):
        if output is not None or output_format != "table":
            click.echo("no plan: " + "\n  ".join(plan.diagnosis), err=True)
        sys.exit(EXIT_INFEASIBLE)
    sys.exit(1)


@main.command()
@click.argument("problem_file", type=click.Path(path_type=Path))
@click.argument("plan_file", type=click.Path(path_type=Path))
@reports_errors
def check(problem_file: Path, plan_file: Path) -> None:
    """Re-check a plan against its problem without a solver: PROBLEM_FILE (the YAML), then
    PLAN_FILE (JSON from `plan solve`)."""
    from planner.problem import load_problem
    from planner.verify import check_plan

    problem, catalog = load_problem(problem_file)
    plan = read_plan(plan_file)
    result = check_plan(problem, catalog, plan)
    if result.valid:
        click.echo(f"valid: {len(plan.allocations)} allocations, "
                   f"${result.cost_usd_per_month:,.2f}/month recomputed")
        return
    click.echo(f"invalid: {len(result.violations)} violations", err=True)
    for violation in result.violations:
        click.echo(f"  - {violation}", err=True)
    sys.exit(1)


def read_plan(path: Path) -> Any:
    from planner.plan import plan_from_dict

    if path.is_dir():
        raise input_error(str(path), "plan file is a directory, expected JSON from plan solve")
    if not path.is_file():
        raise input_error(str(path), "plan file not found")
    if path.stat().st_size > 50_000_000:
        raise input_error(str(path), "plan file is larger than 50 MB")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return plan_from_dict(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise input_error(str(path), f"not valid JSON ({exc})") from None
    except (ValueError, TypeError, KeyError) as exc:
        raise input_error(str(path), f"not a plan file ({exc})") from None


if __name__ == "__main__":
    main()
