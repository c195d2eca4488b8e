"""Solver benchmarks on generated fleets, one command:

    python benchmarks/run.py --sizes 1,10,100,1000,10000 --time-limit 60   # everything
    python benchmarks/run.py --quick                                       # CI-sized

For every size (workloads) and demand (flat, 24-hour and, when asked, 168-hour profiles:
`--demand flat,hourly,weekly`), each case runs in its own
process (its own peak memory; killed if it overruns the limit by far):

* `mip`: the planner's MIP (dominance pruning, per-variant rows, shared pools) solved whole by
  each backend; a backend that cannot prove its optimum within the limit at one size is
  skipped at larger ones (and the table says so);
* `decomposition`: what `solve()` does for large fleets (`planner/decompose.py`): column
  generation with exact pricing, a repair, a proof over the patterns within the gap; HiGHS
  inside, the backend for the final MIP with the chosen instances fixed;
* `naive`: `benchmarks/naive.py` (every candidate unpruned, integer counts, big-M "used"
  binaries, at most two configurations per workload, no shared pools), by HiGHS.

Build s = candidate enumeration + pruning + the model the method solves; solve s = the rest.
Gap = (plan - proven bound) / plan. Then, unless `--quick`: the Melange-shaped instance
(`benchmarks/melange.py`), `problems/mixed-fleet.yaml`, and the cold start of `plan solve`
(quickstart, and a one-workload problem). Progress goes to stderr; the report (markdown) to
stdout, with the machine and load.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import click

sys.path.insert(0, str(Path(__file__).parent))

ROOT = Path(__file__).parent.parent
HEADER = ("workloads", "demand", "method", "solver", "candidates", "variables", "rows",
          "build s", "solve s", "status", "objective $/mo", "gap", "peak MB")
SOLVERS = ("highs", "cbc", "scip", "cpsat")
KILL_AFTER = 3.0
"""A case may take this many times the time limit (plus a minute) before it is killed."""


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_case(size: int, demand: str, method: str, solver: str, time_limit: float, seed: int,
             gap: float) -> dict[str, Any]:
    """One case in this process (see `case`)."""
    from generate import catalog, generate

    from planner import decompose
    from planner.backends import SolveOptions, get_backend
    from planner.candidates import build_candidates
    from planner.formulation import formulate
    from planner.pruning import surviving

    problem = generate(size, seed, hourly=demand == "hourly", weekly=demand == "weekly")
    options = SolveOptions(time_limit_s=time_limit, relative_gap=gap)
    started = time.perf_counter()
    candidates = build_candidates(problem, catalog())
    row: dict[str, Any] = {"candidates": len(candidates.candidates)}
    if method == "naive":
        from naive import naive_model

        model = naive_model(problem, catalog(), candidates)
        build = time.perf_counter() - started
        result = get_backend(solver).solve(model, options)
        row.update(variables=model.variable_count, rows=len(model.rows), build=build,
                   solve=result.seconds, status=result.status.value, objective=result.objective,
                   gap=result.gap)
        return row
    active = surviving(problem, catalog(), candidates)
    row["candidates"] = len(active)
    if method == "mip":
        formulation = formulate(problem, catalog(), candidates.only(active), active)
        build = time.perf_counter() - started
        result = get_backend(solver).solve(formulation.model, options)
        row.update(variables=formulation.model.variable_count, rows=len(formulation.model.rows),
                   build=build, solve=result.seconds, status=result.status.value,
                   objective=result.objective, gap=result.gap)
        return row
    build = time.perf_counter() - started
    started = time.perf_counter()
    reduction = decompose.reduce_fleet(problem, catalog(), candidates, active, force=True,
                                       options=options, progress=say)
    if reduction is None:
        row.update(build=build, solve=time.perf_counter() - started, status="not applicable")
        return row
    formulation = formulate(problem, catalog(), candidates.only(reduction.active),
                            reduction.active)
    result = reduction.solve(formulation, get_backend(solver).solve, options)
    row.update(variables=f"{reduction.columns} patterns", rows=f"{reduction.rounds} rounds",
               build=build, solve=time.perf_counter() - started, status=result.status.value,
               objective=result.objective, gap=result.gap)
    return row


def in_child(size: int, demand: str, method: str, solver: str, time_limit: float, seed: int,
             gap: float) -> dict[str, Any]:
    """`run_case` in a fresh process: its own peak memory, killed if it runs far over."""
    command = [sys.executable, str(Path(__file__)), "case", "--size", str(size), "--method",
               method, "--solver", solver, "--time-limit", str(time_limit), "--seed", str(seed),
               "--gap", str(gap), "--demand", demand]
    started = time.perf_counter()
    try:
        done = subprocess.run(command, capture_output=True, text=True,
                              timeout=KILL_AFTER * time_limit + 60)
    except subprocess.TimeoutExpired:
        return {"status": f"killed after {time.perf_counter() - started:.0f} s"}
    for line in done.stderr.splitlines():
        say(f"    {line}")
    if done.returncode != 0:
        tail = (done.stderr.strip().splitlines() or ["?"])[-1]
        return {"status": f"error: {tail[:80]}"}
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def cell(value: Any, kind: str = "") -> str:
    if value is None or value == "":
        return ""
    if kind == "money":
        return f"{value:,.2f}"
    if kind == "seconds":
        return f"{value:.2f}"
    if kind == "gap":
        return f"{value:.1e}"
    if kind == "mb":
        return f"{value:.0f}"
    return str(value)


def table_row(size: int, demand: str, method: str, solver: str, row: dict[str, Any]) -> str:
    cells = [str(size), demand, method, solver, cell(row.get("candidates")),
             cell(row.get("variables")), cell(row.get("rows")), cell(row.get("build"), "seconds"),
             cell(row.get("solve"), "seconds"), cell(row.get("status")),
             cell(row.get("objective"), "money"), cell(row.get("gap"), "gap"),
             cell(row.get("peak"), "mb")]
    return "| " + " | ".join(cells) + " |"


def finished(row: dict[str, Any]) -> bool:
    return row.get("status") == "optimal"


def cold_start_seconds(problem_file: Path, runs: int = 3) -> float:
    best = float("inf")
    plan = Path(sys.executable).with_name("plan")
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([str(plan), "solve", str(problem_file)], capture_output=True, check=False)
        best = min(best, time.perf_counter() - started)
    return best


def one_workload_file(folder: Path) -> Path:
    from generate import generate

    problem = generate(1, 0)
    path = folder / "one-workload.yaml"
    document = problem.model_dump(mode="json", exclude_defaults=True)
    path.write_text(json.dumps(document), encoding="utf-8")  # JSON is YAML
    return path


def mixed_fleet(solver: str, time_limit: float) -> str:
    """`problems/mixed-fleet.yaml` through `solve()`: time, status, gap."""
    from planner.backends import SolveOptions
    from planner.problem import load_problem
    from planner.solve import solve

    problem, catalog = load_problem(ROOT / "problems" / "mixed-fleet.yaml")
    started = time.perf_counter()
    plan = solve(problem, catalog, solver, SolveOptions(time_limit_s=time_limit), explain=False)
    seconds = time.perf_counter() - started
    gap = "" if plan.gap is None else f", gap {plan.gap:.1e}"
    objective = "" if plan.objective_usd_per_month is None else \
        f", ${plan.objective_usd_per_month:,.2f}/month"
    return f"{seconds:.2f} s, {plan.status}{objective}{gap} ({solver}, {plan.candidates} " \
           f"candidates)"


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
        for line in lscpu.splitlines():
            if line.startswith("Model name:"):
                cpu = line.split(":", 1)[1].strip()
    except OSError:
        pass
    memory = ""
    try:
        kb = int(next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                      if line.startswith("MemTotal")))
        memory = f", {kb / 1024 / 1024:.0f} GB"
    except (OSError, StopIteration, ValueError):
        pass
    return f"{cpu}, {os.cpu_count()} cores{memory}, Python {platform.python_version()}"


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} / {five:.2f} / {fifteen:.2f}"


@click.group(invoke_without_command=True)
@click.option("--sizes", default="1,10,100,1000,10000", show_default=True)
@click.option("--demand", "demands", default="flat,hourly", show_default=True)
@click.option("--solvers", default=",".join(SOLVERS), show_default=True)
@click.option("--naive-sizes", default="10,100", show_default=True,
              help="Sizes at which the naive formulation runs too.")
@click.option("--decompose-from", type=int, default=10, show_default=True,
              help="Smallest size with a decomposition row.")
@click.option("--time-limit", type=float, default=60.0, show_default=True)
@click.option("--gap", type=float, default=1e-4, show_default=True,
              help="Relative gap at which a solve stops (0.01 %).")
@click.option("--large-gap", type=float, default=1e-3, show_default=True,
              help="Relative gap from 10,000 workloads on (0.1 %).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--quick", is_flag=True, help="CI-sized: sizes 1,10; HiGHS and CBC; 10 s; no extras.")
@click.option("--no-extras", is_flag=True, help="Skip Melange, mixed-fleet and cold start.")
@click.pass_context
def main(context: click.Context, sizes: str, demands: str, solvers: str, naive_sizes: str,
         decompose_from: int, time_limit: float, gap: float, large_gap: float, seed: int,
         quick: bool, no_extras: bool) -> None:
    if context.invoked_subcommand is not None:
        return
    if quick:
        sizes, solvers, naive_sizes, time_limit, no_extras = "1,10", "highs,cbc", "10", 10.0, True
    started_load = load()
    stamp = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    lines = []
    gave_up: dict[tuple[str, str], int] = {}
    for size in (int(s) for s in sizes.split(",")):
        for demand in demands.split(","):
            size_gap = large_gap if size >= 10_000 else gap
            cases = [("mip", s) for s in solvers.split(",")]
            if size >= decompose_from:
                cases.append(("decomposition", solvers.split(",")[0]))
            if str(size) in naive_sizes.split(","):
                cases.append(("naive", "highs"))
            for method, solver in cases:
                if method == "mip" and (solver, demand) in gave_up:
                    lines.append(table_row(size, demand, method, solver, {
                        "status": f"skipped: no proof at {gave_up[(solver, demand)]}"}))
                    continue
                say(f"{size} workloads, {demand}, {method}, {solver} (load {load()}) ...")
                row = in_child(size, demand, method, solver, time_limit, seed, size_gap)
                say(f"  -> {row.get('status')} in {row.get('build', 0) + row.get('solve', 0):.1f} s")
                lines.append(table_row(size, demand, method, solver, row))
                if method == "mip" and not finished(row):
                    gave_up[(solver, demand)] = size
    print(f"Machine: {machine()}. Run {stamp}; load average (1/5/15 min) {started_load} at the "
          f"start, {load()} at the end. Time limit {time_limit:.0f} s per solve; gap target "
          f"{gap:.0e} ({large_gap:.0e} from 10,000 workloads).\n")
    print("| " + " | ".join(HEADER) + " |")
    print("|" + "---|" * len(HEADER))
    for line in lines:
        print(line)
    if no_extras:
        return
    from melange import compare

    say("Melange-shaped instance ...")
    print("\nMelange-shaped instance (`benchmarks/melange.py`):\n")
    print("| formulation | buckets | variables | solve s | status | $/month | GPUs |")
    print("|---|---|---|---|---|---|---|")
    for row in compare("highs", time_limit, seed):
        objective = "" if row["objective"] is None else f"{row['objective']:,.0f}"
        gpus = ", ".join(f"{count}x {name}" for name, count in sorted(row["gpus"].items()))
        print(f"| {row['formulation']} | {row['buckets']} | {row['variables']} | "
              f"{row['seconds']:.2f} | {row['status']} | {objective} | {gpus} |")
    say("mixed-fleet ...")
    print(f"\n`problems/mixed-fleet.yaml` (`solve()`, no explanations): "
          f"{mixed_fleet('highs', max(time_limit, 60.0))}")
    say("cold start ...")
    with tempfile.TemporaryDirectory() as folder:
        one = one_workload_file(Path(folder))
        print(f"\n`plan solve` cold start, best of 3 (load {load()}): "
              f"one workload {cold_start_seconds(one):.2f} s, "
              f"`problems/quickstart.yaml` {cold_start_seconds(ROOT / 'problems' / 'quickstart.yaml'):.2f} s")


@main.command()
@click.option("--size", type=int, required=True)
@click.option("--hourly", is_flag=True, help="Same as --demand hourly.")
@click.option("--demand", type=click.Choice(["flat", "hourly", "weekly"]), default="flat")
@click.option("--method", type=click.Choice(["mip", "decomposition", "naive"]), required=True)
@click.option("--solver", default="highs")
@click.option("--time-limit", type=float, default=60.0)
@click.option("--seed", type=int, default=0)
@click.option("--gap", type=float, default=1e-4)
def case(size: int, hourly: bool, demand: str, method: str, solver: str, time_limit: float,
         seed: int, gap: float) -> None:
    """One case, as a JSON line on stdout (used by the runner)."""
    row = run_case(size, "hourly" if hourly else demand, method, solver, time_limit, seed, gap)
    row["peak"] = peak_mb()
    print(json.dumps(row))


if __name__ == "__main__":
    main()
