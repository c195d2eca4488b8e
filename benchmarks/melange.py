"""An instance in the shape of Melange's ILP, solved by the planner and by Melange's own
formulation written directly (Griggs et al., "Mélange: Cost Efficient Large Language Model
Serving by Exploiting GPU Heterogeneity", arXiv:2404.14527).

Melange splits traffic into request-size buckets (prompt length x output length), each with
its own arrival rate, profiles the largest load one GPU of each type serves for each bucket
within the TPOT SLO, and picks the cheapest GPU mix by bin packing: each bucket's rate is cut
into `SLICES` slices, a binary assigns each slice to a GPU type, and the slices' loads
(rate / per-GPU throughput) on a type must fit in that type's integer GPU count.

Here the buckets are workloads of one problem (llama-3.1-8b, bf16, TPOT SLO 120 ms, on-demand
A10G, L4, A100-80GB and H100 from the default catalog, one GPU per instance) and the per-GPU
throughputs are the planner's own candidates' capacities, so both formulations see the same
numbers. The planner gives each workload instances of its own; Melange packs slices of
several buckets onto one GPU, so its optimum is at most the planner's: the difference is what
sharing a GPU between request sizes would save (if one server can mix them at the profiled
rates, which is Melange's assumption).

`python benchmarks/melange.py [--solver highs] [--time-limit 60]`
"""

from __future__ import annotations

import random
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

sys.path.insert(0, str(Path(__file__).parent))

from generate import catalog

from planner.backends import SolveOptions, SolverResult, get_backend
from planner.candidates import build_candidates
from planner.catalog import PricingMode
from planner.linear import LinearModel
from planner.problem import Problem
from planner.schema import HOURS_PER_MONTH
from planner.solve import solve

PROMPTS = (25, 100, 250, 500, 1000, 2000, 4000)
OUTPUTS = (25, 100, 250, 500, 1000)
OFFERS = ("aws/us-east-1/g5.xlarge", "gcp/us-central1/g2-standard-4",
          "gcp/us-central1/a2-ultragpu-1g", "aws/us-east-1/p5.4xlarge")
"""A10G, L4, A100-80GB and H100: Melange's GPU types, one GPU per instance."""
SLICES = 4
TOTAL_RPS = 40.0
TPOT_MS = 120.0


def problem(seed: int = 0, total_rps: float = TOTAL_RPS) -> Problem:
    """One workload per (prompt, output) bucket, rates skewed to short requests (a seeded
    draw in the spirit of the Arena / ShareGPT size mixes Melange uses)."""
    rng = random.Random(seed)
    weights = {(p, o): rng.lognormvariate(0, 0.6) / (1 + p / 1500) / (1 + o / 400)
               for p in PROMPTS for o in OUTPUTS}
    scale = total_rps / sum(weights.values())
    providers = sorted({key.split("/")[0] for key in OFFERS})
    regions = sorted({key.split("/")[1] for key in OFFERS})
    return Problem.model_validate({
        "name": "melange-buckets",
        "allow": {"providers": providers, "regions": regions,
                  "accelerators": ["A10G", "L4", "A100-80GB", "H100-SXM"],
                  "pricing": ["on_demand"]},
        "workloads": [{"name": f"p{p}-o{o}", "model": "llama-3.1-8b",
                       "rate_rps": round(weight * scale, 3), "tokens": {"prompt": p, "output": o},
                       "slo": {"tpot_ms": TPOT_MS}, "variants": ["bf16"], "min_replicas": 0,
                       "max_spot_share": 0}
                      for (p, o), weight in weights.items() if weight * scale >= 0.001]})


@dataclass(frozen=True)
class Instance:
    rates: dict[str, float]
    """Bucket -> req/s."""
    throughput: dict[tuple[str, str], float]
    """(bucket, offer) -> req/s one GPU serves within the SLO (0: it cannot)."""
    price_usd_per_month: dict[str, float]


def instance(fleet: Problem) -> Instance:
    """Per-GPU throughputs from the planner's candidates (same model, same numbers)."""
    offers = {o.key: o for o in catalog().offers if o.key in OFFERS}
    candidates = build_candidates(fleet, catalog())
    throughput: dict[tuple[str, str], float] = {}
    for c in candidates.candidates:
        key = c.config.offer.key
        if key in offers and c.mode is PricingMode.on_demand:
            throughput[(c.workload, key)] = max(throughput.get((c.workload, key), 0.0),
                                                c.capacity_rps)
    rates = {w.name: float(w.rate_rps or 0.0) for w in fleet.workloads}  # type: ignore[union-attr]
    prices = {key: (offers[key].prices_usd_per_hour.on_demand or 0.0) * HOURS_PER_MONTH
              for key in offers}
    return Instance(rates, throughput, prices)


def melange_model(data: Instance, slices: int = SLICES) -> LinearModel:
    """Melange's ILP: min sum_g price_g N_g; each slice on exactly one GPU type; per type,
    sum of its slices' loads (rate / throughput) <= N_g."""
    model = LinearModel()
    model.add_group("assign", "each slice of a bucket's traffic on one GPU type")
    model.add_group("capacity", "the slices' load on a GPU type within its GPU count")
    gpus = {key: model.add_variable(f"N[{key}]", 0, 10_000, True, price)
            for key, price in sorted(data.price_usd_per_month.items())}
    load: dict[str, dict[int, float]] = {key: {} for key in gpus}
    for bucket, rate in sorted(data.rates.items()):
        for number in range(slices):
            terms = {}
            for key in gpus:
                throughput = data.throughput.get((bucket, key), 0.0)
                if throughput > 0:
                    column = model.add_variable(f"x[{bucket},{number},{key}]", 0, 1, True, 0.0)
                    terms[column] = 1.0
                    load[key][column] = rate / slices / throughput
            model.add_row("assign", f"assign[{bucket},{number}]", terms, 1.0, 1.0)
    for key, column in gpus.items():
        model.add_row("capacity", f"capacity[{key}]", {**load[key], column: -1.0}, upper=0.0)
    return model


def compare(solver: str, time_limit: float, seed: int = 0) -> list[dict[str, Any]]:
    """Both formulations on one instance: rows for a table."""
    fleet = problem(seed)
    options = SolveOptions(time_limit_s=time_limit)
    started = time.perf_counter()
    plan = solve(fleet, catalog(), solver, options, explain=False)
    ours_s = time.perf_counter() - started
    data = instance(fleet)
    started = time.perf_counter()
    model = melange_model(data)
    result: SolverResult = get_backend(solver).solve(model, options)
    melange_s = time.perf_counter() - started
    gpus = {}
    if result.values:
        gpus = {name[2:-1].split("/")[-1]: round(result.values[i])
                for i, name in enumerate(model.names) if name.startswith("N[")
                and round(result.values[i]) > 0}
    ours_gpus: dict[str, int] = {}
    for a in plan.allocations:
        ours_gpus[a.instance_type] = ours_gpus.get(a.instance_type, 0) + a.instances
    return [
        {"formulation": "planner (per-bucket instances)", "buckets": len(fleet.workloads),
         "variables": "", "seconds": ours_s, "status": plan.status,
         "objective": plan.objective_usd_per_month, "gpus": ours_gpus},
        {"formulation": f"Melange ILP ({SLICES} slices per bucket)", "buckets": len(fleet.workloads),
         "variables": model.variable_count, "seconds": melange_s, "status": result.status.value,
         "objective": result.objective, "gpus": gpus},
    ]


@click.command()
@click.option("--solver", default="highs", show_default=True)
@click.option("--time-limit", type=float, default=60.0, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
def main(solver: str, time_limit: float, seed: int) -> None:
    rows = compare(solver, time_limit, seed)
    print("| formulation | buckets | variables | solve s | status | $/month | GPUs |")
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        objective = "" if row["objective"] is None else f"{row['objective']:,.0f}"
        gpus = ", ".join(f"{count}x {name}" for name, count in sorted(row["gpus"].items()))
        print(f"| {row['formulation']} | {row['buckets']} | {row['variables']} | "
              f"{row['seconds']:.2f} | {row['status']} | {objective} | {gpus} |")


if __name__ == "__main__":
    main()
