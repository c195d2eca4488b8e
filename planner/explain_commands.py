"""`plan explain`: the plan, every workload's why, and what the plan saves, what binds and what
each policy costs. Exit codes as `plan solve`: 0 a plan, 1 bad input, 2 no plan (with the
diagnosis), 3 time limit with an unproven plan. A `--force` that leaves no plan is part of
the explanation (its diagnosis is shown) and does not change the exit code.

`--force` pins a workload's choice (as the design names it), so overwriting an existing
output file takes `--overwrite` here.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from planner.errors import input_error
from planner.negotiate_commands import FORMATS, solver_options
from planner.output import emit, reports_errors

EXIT_INFEASIBLE = 2
EXIT_TIME_LIMIT = 3


@click.command("explain")
@click.argument("problem_file", type=click.Path(path_type=Path))
@click.option("--force", "forces", multiple=True, metavar="workload=NAME,KEY=VALUE,...",
              help="Re-solve with this choice pinned and show the delta against the optimum; "
                   "keys: accelerator, pricing, model, variant, provider, region, offer. Repeat for "
                   "other workloads (all pins apply together).")
@click.option("--max-resolves", type=click.IntRange(min=0, max=1000), default=8, show_default=True,
              help="Re-solves for what each SLO, quality floor and policy costs; the rest are "
                   "listed as skipped.")
@solver_options
@click.option("--format", "output_format", type=click.Choice(FORMATS), default="table",
              show_default=True)
@click.option("-o", "--output", type=click.Path(path_type=Path), help="Write to this file.")
@click.option("--overwrite", is_flag=True, help="Overwrite an existing output file.")
@reports_errors
def explain_command(problem_file: Path, forces: tuple[str, ...], max_resolves: int, solver: str,
                    time_limit: float, gap: float, output_format: str, output: Path | None,
                    overwrite: bool) -> None:
    """Solve PROBLEM_FILE and explain the plan: each workload's why, the cost breakdown, the
    savings against simple baselines, what each binding limit is worth and what each SLO,
    quality floor and policy costs."""
    from planner.backends import SolveOptions
    from planner.explain_report import explanation_report
    from planner.explanation import explain_plan
    from planner.pinning import OPTION, parse_pin
    from planner.problem import load_problem
    from planner.report_document import render

    if output is not None and output.exists() and not overwrite:
        raise input_error(str(output), "output file exists; pass --overwrite to replace it", "-o")
    problem, catalog = load_problem(problem_file)
    pins = [parse_pin(text, problem, catalog) for text in forces]
    repeated = sorted({p.workload for p in pins if [q.workload for q in pins].count(p.workload) > 1})
    if repeated:
        raise input_error(OPTION, f"workload {', '.join(repeated)} is pinned more than once; "
                                  "put every field in one --force")
    explanation = explain_plan(problem, catalog, solver, SolveOptions(time_limit, gap), pins,
                               max_resolves, lambda message: click.echo(message, err=True))
    text = (json.dumps(explanation.to_dict(), indent=2) + "\n" if output_format == "json"
            else render(explanation_report(explanation, problem), output_format))
    emit(text, output, overwrite)
    status = explanation.plan.status
    if status == "feasible":
        sys.exit(EXIT_TIME_LIMIT)
    if status in ("infeasible", "no_solution"):
        if output is not None or output_format != "table":
            click.echo("no plan: " + "\n  ".join(explanation.plan.diagnosis), err=True)
        sys.exit(EXIT_INFEASIBLE)
    if status != "optimal":
        sys.exit(1)
