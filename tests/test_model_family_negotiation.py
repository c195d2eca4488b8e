"""Model choice within a family where the plan is negotiated: the diagnosis of an infeasible
problem, `plan explain --force ...,model=...` and the baselines.

Hand-computed cases reuse `test_model_family`'s tiny catalog: one TA at $730 a month on demand,
20 req/s served by three instances of the workload's model `m` ($2,190) or one of its sibling
`s` ($730), whose quality is 0.63 / 0.7 = 0.9 of `m`'s (score 0.63). On the command line, the
same catalog is a file (`TINY_FAMILY`) in which `s` takes 4,380 GPU-h to distil: at $4 per
GPU-hour over 11 months, $1,593 a month, so `m` wins ($2,190 < $730 + $1,593 = $2,323).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from test_model_family import MONTH, SAVING, problem_of, tiny, workload

from clirun import invoke
from planner.baselines import EACH_ALONE, ONE_ACCELERATOR
from planner.catalog import load_catalog
from planner.explanation import explain_plan
from planner.pinning import Pin
from planner.problem import Problem
from planner.solve import solve

ROW = {"source": "test fixture", "as_of": "2026-01-01"}
DISTILLATION_GPU_HOURS = 4380.0
HORIZON_MONTHS = 11
DISTILLATION = DISTILLATION_GPU_HOURS * 4.0 / HORIZON_MONTHS
"""$1,593 a month."""
TINY_FAMILY = {
    "accelerators": [{"name": "TA", "vendor": "t", "architecture": "t", "memory_gb": 80,
                      "bandwidth_gb_s": 2000, "tflops": {"bf16": 300}, **ROW}],
    "offers": [{"provider": "p1", "region": "r1", "instance_type": "i0", "accelerator": "TA",
                "count": 1, "prices_usd_per_hour": {"on_demand": 1.0}, **ROW}],
    "models": [{"name": name, "family": "f", "params_b": params_b, "layers": layers,
                "hidden": hidden, "kv_heads": 8, "head_dim": 128, "context": 8192,
                "quality": quality, "distillation_gpu_hours": hours, **ROW}
               for name, params_b, layers, hidden, quality, hours in (
                   ("m", 8, 32, 4096, 0.7, 0.0), ("s", 3, 28, 3072, 0.63, DISTILLATION_GPU_HOURS))],
    "variants": [{"name": "bf16", "weight_bytes_per_param": 2, "compute": "bf16",
                  "quality_retention": 1.0, **ROW}]}
"""`tiny(DISTILLATION_GPU_HOURS)` as a catalog file, for the command line."""


def diagnosis(problem: Problem) -> str:
    plan = solve(problem, tiny())
    assert plan.status == "infeasible"
    return "\n".join(plan.diagnosis)


# the diagnosis of an infeasible problem ---------------------------------------------------------

@pytest.mark.parametrize(("floors", "change"), [
    ({"min_quality": 0.95}, "lower chat min_quality from 0.950 to 0.900 (admits s bf16) (+5%)"),
    ({"min_quality_score": 0.65},
     "lower chat min_quality_score from 0.650 to 0.630 (admits s bf16) (+3%)"),
], ids=["relative", "score"])
def test_a_lower_floor_that_admits_the_sibling_is_proposed(floors: dict[str, float],
                                                           change: str) -> None:
    """The floor keeps `m` ($2,190), the $1,000 budget needs `s` ($730): lowering the floor to
    the sibling's quality (0.95 -> 0.9 is 5 %; 0.65 -> 0.63 is 3 %) beats raising the budget by
    $1,190 (119 %). The workload's own model has no variant below the floor, so a search over
    its variants alone finds nothing."""
    text = diagnosis(problem_of(workload(**floors), budget_usd_per_month=1000))
    assert f"1. {change}" in text
    assert "2. raise the budget by $1,190/month to $2,190/month (+119%)" in text
    assert "not enough on its own" not in text


def test_a_proposed_floor_typed_back_admits_the_sibling() -> None:
    """The sibling at 0.63042 / 0.7 = 0.90060 of `m`: shown to 3 decimals it must read 0.900
    (0.901 would shut it out again), and the problem with that floor has a plan."""
    catalog = tiny()
    catalog.models["s"] = catalog.models["s"].model_copy(update={"quality": 0.63042})
    problem = problem_of(workload(min_quality=0.95), budget_usd_per_month=1000)
    plan = solve(problem, catalog)
    assert plan.status == "infeasible"
    proposal = next(line for line in plan.diagnosis if "lower chat min_quality" in line)
    assert "from 0.950 to 0.900 (admits s bf16)" in proposal
    typed = problem_of(workload(min_quality=0.900), budget_usd_per_month=1000)
    assert solve(typed, catalog).status == "optimal"


def test_a_floor_the_sibling_cannot_rescue_is_not_enough() -> None:
    """$500 is below even one instance of `s`: no floor admits a plan."""
    text = diagnosis(problem_of(workload(min_quality=0.95), budget_usd_per_month=500))
    assert "lower chat min_quality" not in text
    assert "not enough on its own: chat min_quality" in text


@pytest.mark.parametrize(("floors", "change"), [
    ({"min_quality": 0.97}, "lower triage min_quality from 0.970 to 0.830 (admits llama-3.1-8b "
                            "bf16) (+14%)"),
    ({"min_quality_score": 0.8}, "lower triage min_quality_score from 0.800 to 0.694 (admits "
                                 "llama-3.1-8b bf16) (+13%)"),
], ids=["relative", "score"])
def test_the_default_catalog_8b_fits_under_a_lowered_floor(floors: dict[str, float],
                                                           change: str) -> None:
    """Llama 3.1 70B at floor 0.97 (score 0.8) needs 70B-class hardware (about $15,800 a month
    on demand); its 8B sibling (0.694 / 0.836 = 0.830 of the 70B at bf16, score 0.694) serves
    6 req/s for about $1,450 at bf16 within the $2,000 budget, and its fp8 (0.826) or int8
    (0.814) are more than the least change. The 70B's own int4 variants (0.97, 0.96) do not
    come near the budget."""
    catalog = load_catalog(["default"])
    problem = Problem.model_validate({
        "name": "triage", "budget_usd_per_month": 2000,
        "allow": {"providers": ["aws", "gcp", "lambda"], "pricing": ["on_demand"]},
        "workloads": [{"name": "triage", "model": "llama-3.1-70b",
                       "alternatives": ["llama-3.1-8b"], "rate_rps": 6,
                       "tokens": {"prompt": 600, "output": 60},
                       "slo": {"ttft_ms": 1000, "tpot_ms": 50}, **floors}]})
    plan = solve(problem, catalog)
    assert plan.status == "infeasible"
    text = "\n".join(plan.diagnosis)
    assert f"1. {change}" in text
    assert "2. raise the budget by $13,768/month to $15,768/month" in text


# plan explain --force ...,model=... -------------------------------------------------------------

def test_forcing_the_own_model_shows_what_the_sibling_saves() -> None:
    """Floor 0.85: the plan runs `s` ($730); pinned to `m`, three instances ($2,190), +$1,460."""
    problem = problem_of(workload(min_quality=0.85))
    explanation = explain_plan(problem, tiny(), pins=[Pin("chat", model="m")], max_resolves=0)
    forced = explanation.forced
    assert forced is not None and forced.delta_usd_per_month == pytest.approx(SAVING)
    assert {a.served_model("m") for a in forced.plan.allocations} == {"m"}


def family_problem_file(tmp_path: Path, **overrides: Any) -> Path:
    (tmp_path / "family.yaml").write_text(yaml.safe_dump(TINY_FAMILY, sort_keys=False))
    document: dict[str, Any] = {"name": "family", "catalogs": ["family.yaml"],
                                "horizon_months": HORIZON_MONTHS,
                                "performance": {"preparation_usd_per_gpu_hour": 4.0},
                                "allow": {"pricing": ["on_demand"]},
                                "workloads": [workload(**overrides)]}
    path = tmp_path / "problem.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def test_cli_force_the_sibling_shows_its_delta(tmp_path: Path) -> None:
    """The plan runs `m` ($2,190); forcing the sibling costs its distillation too: $730 +
    $1,593 = $2,323, +$133; forcing `m` changes nothing."""
    path = family_problem_file(tmp_path, min_quality=0.85)
    table = invoke(["explain", str(path), "--max-resolves", "0", "--force", "workload=chat,model=s"])
    assert table.exit_code == 0, table.output
    assert "With chat: model=s: $2,323/month, +$133 against the optimum." in table.stdout
    assert "model: s in place of m" in table.stdout  # the forced workload's why
    run = invoke(["explain", str(path), "--max-resolves", "0", "--format", "json",
                  "--force", "workload=chat,model=s,variant=bf16"])
    assert run.exit_code == 0, run.output
    forced = json.loads(run.stdout)["forced"]
    assert forced["delta_usd_per_month"] == pytest.approx(MONTH + DISTILLATION - 3 * MONTH)
    assert {a["model"] for a in forced["plan"]["allocations"]} == {"s"}
    own = invoke(["explain", str(path), "--max-resolves", "0", "--format", "json",
                  "--force", "workload=chat,model=m"])
    assert json.loads(own.stdout)["forced"]["delta_usd_per_month"] == pytest.approx(0)


@pytest.mark.parametrize(("model", "message"), [
    ("tiny-8b", "unknown model 'tiny-8b' (workload chat may run m, s: its model and its "
                "alternatives)"),
    ("S", "unknown model 'S'; did you mean 's'? (workload chat may run m, s: its model and its "
          "alternatives)"),
], ids=["unknown", "did-you-mean"])
def test_cli_force_an_unknown_model_exits_1(tmp_path: Path, model: str, message: str) -> None:
    path = family_problem_file(tmp_path, min_quality=0.85)
    run = invoke(["explain", str(path), "--force", f"workload=chat,model={model}"])
    assert run.exit_code == 1
    assert run.stderr.splitlines() == [f"error: --force: workload=chat,model={model}: {message}"]
    assert run.stdout == ""


def test_cli_force_a_model_the_workload_does_not_allow_exits_1(tmp_path: Path) -> None:
    """`s` is in the catalog, but a workload without alternatives may run only its own model."""
    own_point = workload()["measured"][:1]
    path = family_problem_file(tmp_path, alternatives=[], measured=own_point)
    run = invoke(["explain", str(path), "--force", "workload=chat,model=s"])
    assert run.exit_code == 1
    assert run.stderr.splitlines() == ["error: --force: workload=chat,model=s: workload chat may "
                                       "not run model 's' (it may run m, its own model only)"]
    assert run.stdout == ""


# the baselines ----------------------------------------------------------------------------------

def test_the_one_accelerator_baseline_runs_the_workloads_own_model() -> None:
    """What one would do without the planner: `m` at bf16 on TA, three instances ($2,190), so
    the plan (one `s`, $730) saves $1,460 against it; the per-task optimiser may pick `s`."""
    explanation = explain_plan(problem_of(workload(min_quality=0.85)), tiny(), max_resolves=0)
    assert explanation.plan.objective_usd_per_month == pytest.approx(MONTH)
    baselines = {b.name: b for b in explanation.baselines}
    one = baselines[ONE_ACCELERATOR]
    assert one.cost_usd_per_month == pytest.approx(3 * MONTH)
    assert one.saving_usd_per_month == pytest.approx(SAVING)
    assert one.plan is not None and {a.served_model("m") for a in one.plan.allocations} == {"m"}
    assert one.description == "every serving workload on TA, on demand, bf16, each its own model"
    alone = baselines[EACH_ALONE]
    assert alone.saving_usd_per_month == pytest.approx(0)
    assert alone.description == "chat: TAx1 p1/r1/i0 on_demand s bf16"
