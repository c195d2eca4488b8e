"""`plan profile` (hourly demand from a request log) and `plan audit` (spend vs the optimal plan).

Errors follow cli.py's convention: one message on stderr naming file, line and column, exit 1,
never a traceback. `-o FILE` is written atomically and never overwrites without `--force`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import click

from planner.backends import SOLVERS
from planner.output import emit, reports_errors
from planner.requestlog import CACHE_WINDOW_S, HOURS_PER_DAY, HOURS_PER_WEEK, LogSummary, WorkloadStats

DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _progress(what: str) -> Callable[[int], None]:
    def report(rows: int) -> None:
        click.echo(f"{what}: {rows:,} rows read ...", err=True)

    return report


def _time(seconds: float) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.timezone.utc).strftime("%Y-%m-%d %H:%M")


def _rate(value: float) -> str:
    return f"{float(f'{value:.4g}'):g}"


def _slot_name(index: int, periods: int) -> str:
    if periods == HOURS_PER_WEEK:
        return f"{DAYS[index // HOURS_PER_DAY]} {index % HOURS_PER_DAY:02d}:00"
    return f"{index:02d}:00"


def profile_yaml(summary: LogSummary, week: bool) -> str:
    """The profiles as YAML a person can paste: comments with the figures, then one list item
    per workload with its `profile_rps` (one line per day for a weekly profile)."""
    workloads = sorted(summary.workloads.values(), key=lambda s: s.name)
    first = min(s.first_s for s in workloads)
    last = max(s.last_s for s in workloads)
    out = [f"# plan profile {summary.file}: {summary.rows:,} requests, {len(workloads)} "
           f"workload{'s' if len(workloads) != 1 else ''}, {_time(first)} to {_time(last)} UTC",
           "# profile_rps: mean requests/s per hour (UTC); paste into the workload's entry in "
           "workloads:, replacing rate_rps and shape"]
    for stats in workloads:
        out += _workload_yaml(stats, HOURS_PER_WEEK if week else stats.default_periods())
    return "\n".join(out) + "\n"


def _workload_yaml(stats: WorkloadStats, periods: int) -> list[str]:
    profile = stats.profile(periods)
    peak = max(profile)
    where = _slot_name(profile.index(peak), periods)
    tokens = []
    if stats.mean_prompt_tokens() is not None:
        tokens.append(f"prompt {stats.mean_prompt_tokens():.0f}")
    if stats.mean_output_tokens() is not None:
        tokens.append(f"output {stats.mean_output_tokens():.0f}")
    out = ["", f"# {stats.name}: {stats.requests:,} requests over {stats.span_hours:,} h "
               f"({stats.span_days:.1f} days); peak {_rate(peak)} req/s ({where} UTC), mean "
               f"{_rate(sum(profile) / periods)} req/s, busiest single hour "
               f"{_rate(stats.busiest_hour_rps())} req/s"]
    if tokens:
        out.append(f"#   mean tokens: {', '.join(tokens)}")
    if stats.repeat_share() is not None:
        out.append(f"#   repeated prompts within {CACHE_WINDOW_S:g} s: {stats.repeat_share():.1%}")
    if stats.span_hours < HOURS_PER_DAY:
        out.append("#   the log is shorter than a day: hours it does not reach take its mean rate")
    if periods == HOURS_PER_WEEK and stats.span_hours < HOURS_PER_WEEK:
        out.append("#   the log is shorter than a week: hours it does not reach take that hour "
                   "of the day's mean")
    out.append(f"- name: {stats.name}")
    if periods == HOURS_PER_DAY:
        out.append(f"  profile_rps: [{', '.join(_rate(v) for v in profile)}]")
        return out
    out.append("  profile_rps: [  # 168 values, Monday 00:00 UTC first")
    for day in range(7):
        values = ", ".join(_rate(v) for v in profile[day * HOURS_PER_DAY:(day + 1) * HOURS_PER_DAY])
        out.append(f"    {values}{',' if day < 6 else ''}  # {DAYS[day]}")
    out.append("  ]")
    return out


@click.command()
@click.argument("requests_file", type=click.Path(path_type=Path))
@click.option("--workload", help="Only this workload (the log's workload or model column); names "
              "the profile of a log without one.")
@click.option("--week", is_flag=True, help="168 hourly values (Monday first) even for a log "
              "shorter than a week (the default from 7 days of log on).")
@click.option("-o", "--output", type=click.Path(path_type=Path), help="Write the YAML to this file.")
@click.option("--force", is_flag=True, help="Overwrite an existing output file.")
@reports_errors
def profile(requests_file: Path, workload: str | None, week: bool, output: Path | None,
            force: bool) -> None:
    """Hourly demand profile per workload from REQUESTS_FILE (CSV or JSON lines), as YAML."""
    from planner.requestlog import summarise_log

    summary = summarise_log(requests_file, only=workload, progress=_progress(str(requests_file)))
    emit(profile_yaml(summary, week), output, force)


@click.command()
@click.option("--billing", "billing_file", required=True, type=click.Path(path_type=Path),
              help="FOCUS cost-and-usage export (CSV).")
@click.option("--requests", "requests_file", type=click.Path(path_type=Path),
              help="Request log (CSV or JSON lines) with the demand that really occurred.")
@click.option("--problem", "problem_file", required=True, type=click.Path(path_type=Path),
              help="The problem file the workloads are described in.")
@click.option("--format", "output_format", type=click.Choice(["table", "json", "markdown"]),
              default="table", show_default=True)
@click.option("--solver", type=click.Choice(SOLVERS), default="highs", show_default=True,
              help="Solver for the optimal plan.")
@click.option("--cache-window", type=click.FloatRange(min=0, max=30 * 86400), default=CACHE_WINDOW_S,
              show_default=True, help="Seconds within which a repeated prompt counts as cacheable.")
@click.option("-o", "--output", type=click.Path(path_type=Path), help="Write to this file.")
@click.option("--force", is_flag=True, help="Overwrite an existing output file.")
@reports_errors
def audit(billing_file: Path, requests_file: Path | None, problem_file: Path, output_format: str,
          solver: str, cache_window: float, output: Path | None, force: bool) -> None:
    """Actual spend vs the optimal plan for the demand that occurred, with ranked findings."""
    from planner.audit import audit as run_audit
    from planner.audit import latency_limits, match_log, solve_observed
    from planner.audit_report import render_audit
    from planner.focus import read_focus
    from planner.problem import load_problem
    from planner.requestlog import summarise_log

    problem, catalog = load_problem(problem_file)
    billing = read_focus(billing_file, catalog, progress=_progress(str(billing_file)))
    log = observed = None
    notes: list[str] = []
    if requests_file is not None:
        log = summarise_log(requests_file, latency_limits(problem), cache_window,
                            progress=_progress(str(requests_file)))
        observed, notes = match_log(problem, log)
    click.echo(f"solving {problem.name} for the observed demand ...", err=True)
    plan, demand = solve_observed(problem, catalog, observed or {}, solver)
    result = run_audit(problem, catalog, billing, log, observed or {}, plan, demand, cache_window, notes)
    text = result.to_json() if output_format == "json" else render_audit(result, output_format)
    emit(text, output, force)
