"""Solver benchmarks on generated fleets: `python benchmarks/run.py [--sizes 1,10,100]
[--solvers highs,cbc,scip,cpsat] [--time-limit 60] [--no-prune]`.

Prints one row per (size, solver) with dominance pruning, plus a "naive" row per size and
solver (the same MIP with prune=False) unless --no-prune (then only naive rows). Progress on
stderr. Ends with the cold-start wall time of `plan solve problems/quickstart.yaml`.
"""

from __future__ import annotations

import resource
import subprocess
import sys
import time
from pathlib import Path

import click

sys.path.insert(0, str(Path(__file__).parent))

from generate import _catalog, generate

from planner.backends import SolveOptions, get_backend
from planner.candidates import build_candidates
from planner.formulation import formulate
from planner.pruning import surviving

ROOT = Path(__file__).parent.parent
HEADER = ("workloads", "solver", "pruned", "candidates", "variables", "rows", "build s",
          "solve s", "status", "objective $/mo", "gap", "peak RSS MB")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cold_start_seconds(runs: int = 3) -> float:
    best = float("inf")
    plan = Path(sys.executable).with_name("plan")
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([str(plan), "solve", str(ROOT / "problems" / "quickstart.yaml")],
                       check=True, capture_output=True)
        best = min(best, time.perf_counter() - started)
    return best


@click.command()
@click.option("--sizes", default="1,10,30", show_default=True)
@click.option("--solvers", default="highs,cbc,scip,cpsat", show_default=True)
@click.option("--time-limit", type=float, default=30.0, show_default=True)
@click.option("--no-prune", is_flag=True, help="Only the naive (unpruned) MIP.")
@click.option("--seed", type=int, default=0, show_default=True)
def main(sizes: str, solvers: str, time_limit: float, no_prune: bool, seed: int) -> None:
    catalog = _catalog()
    rows = []
    for size in (int(s) for s in sizes.split(",")):
        problem = generate(size, seed)
        started = time.perf_counter()
        candidates = build_candidates(problem, catalog)
        enumerate_s = time.perf_counter() - started
        print(f"{size} workloads: {len(candidates.candidates)} candidates in {enumerate_s:.1f} s",
              file=sys.stderr)
        for prune in ([False] if no_prune else [True, False]):
            started = time.perf_counter()
            active = surviving(problem, catalog, candidates) if prune else None
            formulation = formulate(problem, catalog, candidates, active)
            build_s = enumerate_s + time.perf_counter() - started
            model = formulation.model
            for solver in solvers.split(","):
                print(f"  {solver} {'pruned' if prune else 'naive'} ...", file=sys.stderr)
                result = get_backend(solver).solve(model, SolveOptions(time_limit_s=time_limit))
                gap = "" if result.gap is None else f"{result.gap:.1e}"
                objective = "" if result.objective is None else f"{result.objective:,.2f}"
                rows.append((size, solver, "yes" if prune else "naive",
                             len(active) if active is not None else len(candidates.candidates),
                             model.variable_count, len(model.rows), f"{build_s:.2f}",
                             f"{result.seconds:.2f}", result.status.value, objective, gap,
                             f"{peak_rss_mb():.0f}"))
    print("| " + " | ".join(HEADER) + " |")
    print("|" + "---|" * len(HEADER))
    for row in rows:
        print("| " + " | ".join(str(cell) for cell in row) + " |")
    print(f"\n`plan solve problems/quickstart.yaml` cold start (best of 3): "
          f"{cold_start_seconds():.2f} s")


if __name__ == "__main__":
    main()
