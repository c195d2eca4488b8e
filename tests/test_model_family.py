"""Model choice within a family: a workload's `alternatives` (smaller or distilled siblings of
its model) compete with its own model in the MIP, each at its own quality and performance, a
distilled one carrying its one-time distillation spread over the horizon.

Hand-computed cases use `tiny.catalog_with`: one offer of one TA at $1/h on demand ($730 a
month), model `m` (quality 0.7) and its sibling `s` (quality 0.63, so 0.63 / 0.7 = 0.9 of `m`),
measured at batch 8 on TA: `m` 10 req/s, `s` 30 req/s, planned at the 0.8 utilisation cap:
8 and 24 req/s per instance. 20 req/s needs ceil(20 / 8) = 3 instances of `m` ($2,190) or one
of `s` ($730): the sibling saves $1,460 a month unless a floor or its distillation forbids it.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
from test_vectorised import assert_same

from clirun import invoke
from conftest import ROOT
from planner.candidates import build_candidates
from planner.catalog import Catalog, load_catalog
from planner.export import export_plan
from planner.formulation import formulate
from planner.plan import Plan, plan_from_dict
from planner.problem import Problem, load_problem
from planner.report import render_table
from planner.report_plan import render_plan
from planner.solve import solve
from planner.verify import check_plan
from tiny import catalog_with, offer, random_document, random_family_catalog

EXAMPLE = ROOT / "problems" / "model-family.yaml"
MONTH = 730.0
SAVING = 3 * MONTH - MONTH
"""What serving 20 req/s with `s` instead of `m` saves a month."""


def tiny(distillation_gpu_hours: float = 0.0) -> Catalog:
    return catalog_with((offer(0, "p1", "TA", 1, on_demand=1.0),), distillation_gpu_hours)


def workload(name: str = "chat", **overrides: Any) -> dict[str, Any]:
    point = {"accelerator": "TA", "batch": 8, "ttft_ms": 100, "tpot_ms": 20}
    found: dict[str, Any] = {
        "name": name, "model": "m", "alternatives": ["s"], "rate_rps": 20,
        "tokens": {"prompt": 200, "output": 100}, "batch_sizes": [8], "variants": ["bf16"],
        "slo": {"tpot_ms": 30}, "measured": [{**point, "throughput_rps": 10},
                                             {**point, "model": "s", "throughput_rps": 30}]}
    return {**found, **overrides}


def problem_of(*workloads: dict[str, Any], **top: Any) -> Problem:
    return Problem.model_validate({"name": "family", "allow": {"pricing": ["on_demand"]},
                                   "workloads": list(workloads), **top})


def models_served(plan: Plan) -> dict[str, set[str | None]]:
    served: dict[str, set[str | None]] = {}
    for a in plan.allocations:
        served.setdefault(a.workload, set()).add(a.model)
    return served


# hand-computed ---------------------------------------------------------------------------------

def test_the_sibling_wins_when_it_passes_the_floor() -> None:
    """Floor 0.85 <= 0.9: one instance of `s`, $730 instead of $2,190."""
    plan = solve(problem_of(workload(min_quality=0.85)), tiny())
    assert plan.status == "optimal"
    assert plan.objective_usd_per_month == pytest.approx(MONTH)
    assert models_served(plan) == {"chat": {"s"}}
    assert plan.allocations[0].quality == pytest.approx(0.9)
    why = "\n".join(plan.workloads[0].why)
    assert "model: s in place of m (quality 0.900 of m at bf16; floor 0.85)" in why
    assert "m (the workload's own model): best bf16 on TAx1 p1/r1/i0 on_demand at $2,190/month " \
           "(+$1,460)" in why


@pytest.mark.parametrize("floors", [{"min_quality": 0.95}, {"min_quality_score": 0.65}])
def test_the_floor_keeps_the_own_model(floors: dict[str, float]) -> None:
    """Floor 0.95 > 0.9 (or score 0.63 < 0.65): three instances of `m`, $2,190; the
    explanation states the cheaper sibling the floor ruled out and what it would cost."""
    plan = solve(problem_of(workload(**floors)), tiny())
    assert plan.objective_usd_per_month == pytest.approx(3 * MONTH)
    assert models_served(plan) == {"chat": {"m"}}
    why = "\n".join(plan.workloads[0].why)
    assert "s ruled out by the quality floor: at best quality" in why
    assert "it would cost $730/month alone (-$1,460)" in why
    assert "ruled out: TAx1 s bf16 b1 (p1/r1/i0) from $730/month: quality" in why


def test_without_alternatives_the_sibling_is_not_considered() -> None:
    plan = solve(problem_of(workload(alternatives=[], min_quality=0.85)), tiny())
    assert plan.objective_usd_per_month == pytest.approx(3 * MONTH)
    assert not any("model:" in line for line in plan.workloads[0].why)


DISTILLATION_GPU_HOURS = 4380.0
"""At $4 per GPU-hour, $17,520 once: over H months $17,520 / H a month, which equals the
$1,460 the sibling saves at H = 12. So `s` wins beyond 12 months and loses below; at 12
months, the sibling wins below $4 per GPU-hour and loses above."""


@pytest.mark.parametrize(("horizon", "usd_per_gpu_hour", "winner", "cost"), [
    (13, 4.0, "s", MONTH + DISTILLATION_GPU_HOURS * 4 / 13),    # $730 + $1,348 = $2,078
    (11, 4.0, "m", 3 * MONTH),                                  # $730 + $1,593 > $2,190
    (24, 4.0, "s", MONTH + MONTH),                              # $730 + $730
    (12, 3.9, "s", MONTH + DISTILLATION_GPU_HOURS * 3.9 / 12),  # $730 + $1,424 = $2,154
    (12, 4.1, "m", 3 * MONTH),                                  # $730 + $1,497 > $2,190
])
def test_the_distillation_cost_flips_the_choice(horizon: int, usd_per_gpu_hour: float,
                                                winner: str, cost: float) -> None:
    problem = problem_of(workload(min_quality=0.85), horizon_months=horizon,
                         performance={"preparation_usd_per_gpu_hour": usd_per_gpu_hour})
    catalog = tiny(DISTILLATION_GPU_HOURS)
    plan = solve(problem, catalog)
    assert plan.objective_usd_per_month == pytest.approx(cost)
    assert models_served(plan) == {"chat": {winner}}
    one_time = DISTILLATION_GPU_HOURS * usd_per_gpu_hour / horizon if winner == "s" else 0.0
    assert plan.cost_components.get("one_time", 0.0) == pytest.approx(one_time)
    assert solve(problem, catalog, "cbc").objective_usd_per_month == pytest.approx(cost)
    assert solve(problem, catalog, prune=False).objective_usd_per_month == pytest.approx(cost)
    why = "\n".join(plan.workloads[0].why)
    if winner == "m":  # the sibling is cheaper alone, and the explanation says what stops it
        assert "but its one-time distillation (4,380 GPU-h) over" in why


def test_a_distilled_model_is_paid_for_once() -> None:
    """Distilling `s` costs 6,000 GPU-h x $4 / 12 = $2,000 a month: more than the $1,460 one
    workload saves ($2,190 with `m`), less than the $2,920 two save: both run `s` for
    2 x $730 + $2,000 = $3,460 < 2 x $2,190 = $4,380."""
    catalog = tiny(6000.0)
    alone = solve(problem_of(workload(min_quality=0.85)), catalog)
    assert alone.objective_usd_per_month == pytest.approx(3 * MONTH)
    both = solve(problem_of(workload(min_quality=0.85), workload("chat2", min_quality=0.85)),
                 catalog)
    assert both.objective_usd_per_month == pytest.approx(2 * MONTH + 2000)
    assert models_served(both) == {"chat": {"s"}, "chat2": {"s"}}
    assert both.cost_components["one_time"] == pytest.approx(2000)


def batch_job(online: dict[str, Any]) -> dict[str, Any]:
    """The workload as a nightly batch job of 400,000 requests."""
    job = {key: value for key, value in online.items() if key not in ("rate_rps", "slo")}
    return {**job, "kind": "batch", "requests_per_day": 400_000,
            "window": {"start_hour": 22, "end_hour": 6}}


def test_hourly_batch_and_shedding_plans_choose_a_model_too() -> None:
    """A diurnal workload with a reserved pool and a nightly batch job: each may run the
    sibling (distilled for $167 a month), the floor lets only the online one; pruning keeps the
    optimum. Under a $800 budget that must shed demand, one TB instance of `s` (11.2 req/s for
    $511 + $167) serves more than any instance of `m` (TB 4 req/s, TA 8 req/s for $730)."""
    catalog = catalog_with((offer(0, "p1", "TA", 1, on_demand=1.0, reserved_1y=0.6),
                            offer(1, "p1", "TB", 1, on_demand=0.7, spot=0.3)), 500.0)
    points = [{"accelerator": accelerator, "batch": 8, "ttft_ms": 100, "tpot_ms": 20,
               "throughput_rps": rps, **({"model": "s"} if model == "s" else {})}
              for accelerator, model, rps in (("TA", "m", 10), ("TB", "m", 5), ("TA", "s", 30),
                                              ("TB", "s", 14))]
    hourly = problem_of(
        workload(shape="diurnal", trough_fraction=0.3, min_quality=0.85, measured=points,
                 max_spot_share=0),
        batch_job(workload("nightly", measured=points, min_quality=0.95, max_spot_share=0)),
        allow={"pricing": ["on_demand", "spot", "reserved_1y"]})
    plan = solve(hourly, catalog)
    assert plan.status == "optimal"
    assert models_served(plan) == {"chat": {"s"}, "nightly": {"m"}}
    assert plan.commitments  # the reserved pool serves the day and the nightly job
    assert solve(hourly, catalog, prune=False).objective_usd_per_month == \
        pytest.approx(plan.objective_usd_per_month)
    shed = problem_of(workload(min_quality=0.85, measured=points, value_usd_per_1k_requests=1),
                      budget_usd_per_month=800, budget_mode="serve_most_value")
    plan = solve(shed, catalog)
    assert plan.status == "optimal" and models_served(plan) == {"chat": {"s"}}
    assert plan.workloads[0].admitted_rps_by_period == (pytest.approx(11.2),)


def test_the_choice_binaries_are_keyed_by_model_and_variant() -> None:
    problem = problem_of(workload(variants=["bf16", "int8"], min_quality=0.85))
    catalog = tiny(100.0)
    formulation = formulate(problem, catalog, build_candidates(problem, catalog))
    assert set(formulation.variant_column) == {("chat", model, variant) for model in ("m", "s")
                                               for variant in ("bf16", "int8")}
    assert set(formulation.prepare_column) == {("s", "(distillation)")}
    names = {formulation.model.names[c] for c in formulation.variant_column.values()}
    assert names == {"variant[chat,bf16]", "variant[chat,int8]", "variant[chat,s/bf16]",
                     "variant[chat,s/int8]"}


# enumeration ------------------------------------------------------------------------------------

def test_each_model_is_enumerated_with_its_own_quality_and_performance() -> None:
    problem = problem_of(workload(min_quality=0.85, variants=["bf16", "int8"]))
    candidates = build_candidates(problem, tiny())
    by_choice = {(c.config.model, c.config.variant): c for c in candidates.candidates}
    assert by_choice[("m", "bf16")].capacity_rps == pytest.approx(8)
    assert by_choice[("s", "bf16")].capacity_rps == pytest.approx(24)
    assert by_choice[("s", "bf16")].quality == pytest.approx(0.9)
    assert by_choice[("s", "int8")].quality == pytest.approx(0.9 * 0.98)
    assert by_choice[("s", "int8")].estimate.source == "roofline"  # no int8 point measured


def test_random_tiny_family_problems_enumerate_as_the_reference() -> None:
    rng = random.Random(20261202)
    for _ in range(40):
        catalog = random_family_catalog(rng)
        document = random_document(rng, varied_latency=True, alternatives=True)
        for spec in document["workloads"]:
            if rng.random() < 0.5:
                spec["batch_sizes"] = rng.choice([[8], [4, 8, 16]])
        assert_same(Problem.model_validate(document), catalog)


def test_default_catalog_families_enumerate_as_the_reference() -> None:
    """Siblings on the roofline, sharing shapes with workloads that run them directly."""
    catalog = load_catalog(["default"])
    document = {"name": "families", "allow": {"providers": ["aws", "lambda"]}, "workloads": [
        {"name": "a", "model": "llama-3.1-70b", "alternatives": ["llama-3.1-8b", "llama-3.2-3b"],
         "rate_rps": 3, "tokens": {"prompt": 800, "output": 200}, "slo": {"ttft_ms": 2000},
         "min_quality": 0.8},
        {"name": "b", "model": "llama-3.1-8b", "rate_rps": 5,
         "tokens": {"prompt": 800, "output": 200}, "slo": {"ttft_ms": 2000}},
        {"name": "c", "kind": "batch", "model": "qwen2.5-72b", "alternatives": ["qwen2.5-7b"],
         "requests_per_day": 1e5, "tokens": {"prompt": 500, "output": 100},
         "min_quality_score": 0.8}]}
    fast = assert_same(Problem.model_validate(document), catalog)
    assert {c.config.model for c in fast.for_workload("a")} == {"llama-3.1-70b", "llama-3.1-8b"}
    assert {c.config.model for c in fast.for_workload("c")} == {"qwen2.5-72b"}  # 7b: 0.742


# the example, check, report and export ----------------------------------------------------------

@pytest.fixture(scope="module")
def example() -> tuple[Problem, Catalog, Plan]:
    problem, catalog = load_problem(EXAMPLE)
    return problem, catalog, solve(problem, catalog)


def test_the_example_serves_a_sibling_where_the_floor_allows(example) -> None:  # type: ignore[no-untyped-def]
    _, _, plan = example
    assert plan.status == "optimal"
    assert models_served(plan) == {"support-chat": {"llama-3.1-70b"},
                                   "ticket-triage": {"llama-3.1-8b"},
                                   "doc-qa": {"qwen2.5-32b"}}
    why = {w.name: "\n".join(w.why) for w in plan.workloads}
    assert "llama-3.1-8b ruled out by the quality floor: at best quality 0.830 < floor 0.970" \
        in why["support-chat"]
    assert "llama-3.2-3b ruled out by the quality floor: at best quality 0.758 < floor 0.800" \
        in why["ticket-triage"]
    assert "model: qwen2.5-32b in place of qwen2.5-72b" in why["doc-qa"]


def tampered(tmp_path: Path, plan: Plan, workload: str, model: str) -> Path:
    data = plan.to_dict()
    for allocation in data["allocations"]:
        if allocation["workload"] == workload:
            allocation["model"] = model
    path = tmp_path / f"{workload}-{model}.json"
    path.write_text(json.dumps(data))
    return path


@pytest.mark.parametrize(("workload", "model", "expect"), [
    ("ticket-triage", "llama-3.2-3b", "quality 0.758 < floor 0.800"),
    ("ticket-triage", "qwen2.5-7b", "model qwen2.5-7b is neither the workload's model nor one "
                                    "of its alternatives"),
    ("ticket-triage", "llama-3.1-70b", "states quality 0.830, llama-3.1-70b bf16 has 1.000"),
    ("doc-qa", "qwen2.5-72b", "needs"),  # the 72B does not fit the 32B's H100
], ids=["below-the-floor", "not-an-alternative", "stated-quality", "does-not-fit"])
def test_plan_check_catches_a_swapped_model(example, tmp_path: Path, workload: str,  # type: ignore[no-untyped-def]
                                            model: str, expect: str) -> None:
    _, _, plan = example
    checked = invoke(["check", str(EXAMPLE), str(tampered(tmp_path, plan, workload, model))])
    assert checked.exit_code == 1, checked.output
    assert "invalid" in checked.output and expect in checked.output


def test_plan_check_accepts_the_plan_and_plans_without_models(example) -> None:  # type: ignore[no-untyped-def]
    problem, catalog, plan = example
    assert check_plan(problem, catalog, plan).valid
    data = plan.to_dict()
    for allocation in data["allocations"]:  # written before alternatives: the workload's model
        if allocation["model"] == next(w.model for w in problem.workloads
                                       if w.name == allocation["workload"]):
            del allocation["model"]
    assert check_plan(problem, catalog, plan_from_dict(data)).valid


def test_reports_and_exports_name_the_chosen_model(example) -> None:  # type: ignore[no-untyped-def]
    problem, catalog, plan = example
    markdown = render_plan(plan.to_dict(), problem, "markdown")
    assert "llama-3.1-8b (for llama-3.1-70b)" in markdown
    assert "qwen2.5-32b fp8" in markdown
    assert "qwen2.5-32b fp8" in render_table(plan, problem)
    files = {f.path: f.text for f in export_plan(plan, catalog, "vllm").files}
    triage = next(text for path, text in files.items() if path.startswith("ticket-triage"))
    assert "--model meta-llama/Llama-3.1-8B-Instruct --served-model-name llama-3.1-8b" in triage
    assert "model llama-3.1-8b (alternative to llama-3.1-70b)" in triage
    qa = next(text for path, text in files.items() if path.startswith("doc-qa"))
    assert "--model Qwen/Qwen2.5-32B-Instruct" in qa


# validation -------------------------------------------------------------------------------------

BAD = """name: bad
workloads:
  - name: chat
    model: llama-3.1-70b
    alternatives: [llama-3.1-8b, qwen2.5-7b, lama-3.2-3b]
    rate_rps: 2
    tokens: {prompt: 800, output: 200}
    measured:
      - {accelerator: H100, batch: 8, model: mistral-7b, throughput_rps: 3, ttft_ms: 100, tpot_ms: 20}
"""


def test_alternatives_outside_the_family_are_located_errors(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(BAD)
    result = invoke(["solve", str(path)])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert (f"{path}:5:34: workloads[0].alternatives[1]: 'qwen2.5-7b' is of family 'qwen2.5', "
            "not of llama-3.1-70b's family 'llama-3'") in result.stderr
    assert (f"{path}:5:46: workloads[0].alternatives[2]: unknown model 'lama-3.2-3b'; did you "
            "mean 'llama-3.2-3b'?") in result.stderr
    assert f"{path}:9:39: workloads[0].measured[0].model: 'mistral-7b' is neither" in result.stderr


@pytest.mark.parametrize(("alternatives", "message"), [
    ("[llama-3.1-70b]", "lists the workload's own model 'llama-3.1-70b'"),
    ("[llama-3.1-8b, llama-3.1-8b]", "repeats llama-3.1-8b"),
], ids=["own-model", "repeated"])
def test_alternatives_must_be_other_models(tmp_path: Path, alternatives: str, message: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(BAD.replace("[llama-3.1-8b, qwen2.5-7b, lama-3.2-3b]", alternatives)
                    .replace("model: mistral-7b, ", ""))
    result = invoke(["solve", str(path)])
    assert result.exit_code == 1
    assert f"{path}:5:5: workloads[0].alternatives: {message}" in result.stderr


def test_training_workloads_have_no_alternatives(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("name: bad\nworkloads:\n  - kind: training\n    name: ft\n"
                    "    model: llama-3.1-8b\n    alternatives: [llama-3.2-1b]\n"
                    "    train_tokens: 1.0e9\n    deadline_days: 3\n")
    result = invoke(["solve", str(path)])
    assert result.exit_code == 1
    assert f"{path}:6:5: workloads[0].alternatives" in result.stderr
