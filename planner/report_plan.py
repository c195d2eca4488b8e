"""The report of one plan (for `plan solve --format markdown|html`): summary, allocations, cost
breakdown by workload, pricing mode, provider and component, and each workload's why.

Works on the plan's JSON form, so fields added to `Plan` later still appear (as generic
tables) without changes here.
"""

from __future__ import annotations

from typing import Any

from planner.explain import money
from planner.plan import choice_text
from planner.plan_figures import cost_breakdowns
from planner.problem import Problem
from planner.report_document import (
    Block,
    Bullets,
    Heading,
    Paragraph,
    Report,
    Table,
    field_text,
    field_title,
    generic_blocks,
    show_value,
)

# plan fields this report lays out itself; any other field is shown generically
SHOWN_PLAN_FIELDS = frozenset({
    "problem", "status", "solver", "objective_usd_per_month", "bound_usd_per_month", "gap",
    "allocations", "workloads", "cost_by_pricing", "cost_by_provider", "cost_components",
    "budget_usd_per_month", "candidates", "rejected", "diagnosis", "schema_version", "periods",
})
SHOWN_ALLOCATION_FIELDS = frozenset({
    "workload", "provider", "region", "instance_type", "accelerator", "accelerators_per_instance",
    "pricing", "variant", "tensor_parallel", "batch", "instances", "capacity_rps", "ttft_ms",
    "tpot_ms", "e2e_ms", "quality", "cost_usd_per_month", "replicas", "performance_source", "kind",
    "model",
})
SHOWN_WORKLOAD_FIELDS = frozenset({
    "name", "model", "rate_rps", "capacity_rps", "cost_usd_per_month", "spot_share", "why", "kind",
    "prompt_tokens", "output_tokens",
})
COMMITMENT_NOTE = ("Reserved and owned capacity is paid through the commitments below; an "
                   "allocation's $/month is what it adds on top (usage, energy), and each workload's "
                   "$/month includes its share of the commitments.")

def _number(value: Any, spec: str = ",.0f") -> str:
    return format(value, spec) if isinstance(value, int | float) and not isinstance(value, bool) else "-"


def _targets(problem: Problem | None, workload: str) -> tuple[str, str]:
    """The workload's latency SLOs (`TTFT 1500 / TPOT 60`) and quality floor, as the problem says."""
    for spec in problem.workloads if problem else ():
        if spec.name == workload:
            slo = getattr(spec, "slo", None)
            limits = slo.model_dump() if slo is not None else {}
            latency = ", ".join(f"{key.removesuffix('_ms').upper()} {value:g}"
                                for key, value in limits.items() if value is not None)
            floors = [f"{value:g}" + (" abs" if key == "min_quality_score" else "")
                      for key in ("min_quality", "min_quality_score")
                      if (value := getattr(spec, key, None)) is not None]
            return latency or "-", ", ".join(floors) or "-"
    return "-", "-"


def _empty(value: Any) -> bool:
    return value in (None, 0, 0.0, "", [], {}, ())


def extra_columns(records: list[dict[str, Any]], shown: frozenset[str], periods: int = 1) -> list[str]:
    """Fields not laid out by name that say something: not empty everywhere, and per-period
    figures only when the plan has more than one period."""
    extra: list[str] = []
    for record in records:
        extra += [key for key in record if key not in shown and key not in extra]
    return [key for key in extra if not all(_empty(record.get(key)) for record in records)
            and not (key.endswith("_by_period") and periods <= 1)]


def _own_models(plan: dict[str, Any]) -> dict[str, Any]:
    """Workload -> the model its problem names."""
    return {str(r.get("name")): r.get("model") for r in plan.get("workloads") or []}


def _choice(allocation: dict[str, Any], own: dict[str, Any]) -> str:
    """The allocation's variant, with its model when that is an alternative."""
    model = allocation.get("model")
    return choice_text(model if isinstance(model, str) else None, str(allocation.get("variant")),
                       own.get(str(allocation.get("workload"))))


def _served(plan: dict[str, Any], result: dict[str, Any]) -> str:
    """The workload's model, or `alternative (for own)` when the plan serves an alternative."""
    own = str(result.get("model"))
    served = {a.get("model") for a in plan.get("allocations") or []
              if a.get("workload") == result.get("name") and a.get("model") not in (None, own)}
    return f"{', '.join(sorted(map(str, served)))} (for {own})" if served else own


def allocation_table(plan: dict[str, Any]) -> Table:
    """What to rent: each configuration, how many instances, and what it costs."""
    allocations: list[dict[str, Any]] = list(plan.get("allocations") or [])
    own = _own_models(plan)
    extra = extra_columns(allocations, SHOWN_ALLOCATION_FIELDS, int(plan.get("periods") or 1))
    headers = ("workload", "accelerators", "where", "instance", "pricing", "variant", "TP", "batch",
               "instances", *(field_title(key) for key in extra), "$/month")
    rows = tuple((
        str(a.get("workload")), f"{a.get('accelerator')}x{a.get('accelerators_per_instance')}",
        f"{a.get('provider')}/{a.get('region')}", str(a.get("instance_type")), str(a.get("pricing")),
        _choice(a, own), show_value(a.get("tensor_parallel")), show_value(a.get("batch")),
        show_value(a.get("instances")), *(field_text(key, a.get(key)) for key in extra),
        money(float(a.get("cost_usd_per_month") or 0.0)),
    ) for a in allocations)
    align = ("left",) * 6 + ("right",) * 3 + ("left",) * len(extra) + ("right",)
    return Table(headers, rows, align)


def performance_table(plan: dict[str, Any]) -> Table:
    """What each configuration achieves (the targets are in the workload table)."""
    own = _own_models(plan)
    rows = tuple((
        str(a.get("workload")), f"{a.get('accelerator')}x{a.get('accelerators_per_instance')}",
        str(a.get("pricing")), _choice(a, own), _number(a.get("capacity_rps"), ",.2f"),
        _number(a.get("ttft_ms")), _number(a.get("tpot_ms")), _number(a.get("e2e_ms")),
        _number(a.get("quality"), ".3f"), str(a.get("performance_source", "-")),
    ) for a in plan.get("allocations") or [])
    return Table(("workload", "accelerators", "pricing", "variant", "capacity req/s", "TTFT ms", "TPOT ms",
                  "E2E ms", "quality", "estimate"), rows, ("left",) * 4 + ("right",) * 5 + ("left",))


def workload_table(plan: dict[str, Any], problem: Problem | None) -> Table:
    results: list[dict[str, Any]] = list(plan.get("workloads") or [])
    extra = extra_columns(results, SHOWN_WORKLOAD_FIELDS, int(plan.get("periods") or 1))
    headers = ("workload", "kind", "model", "tokens in/out", "SLO ms", "quality floor", "demand req/s",
               "capacity req/s", "spot share", *(field_title(key) for key in extra), "$/month")
    rows = tuple((
        str(r.get("name")), str(r.get("kind", "online")), _served(plan, r),
        f"{r.get('prompt_tokens', '-')}/{r.get('output_tokens', '-')}",
        *_targets(problem, str(r.get("name"))),
        _number(r.get("rate_rps"), ",g"), _number(r.get("capacity_rps"), ",.2f"),
        _number(r.get("spot_share"), ".0%"), *(field_text(key, r.get(key)) for key in extra),
        money(float(r.get("cost_usd_per_month") or 0.0)),
    ) for r in results)
    align = ("left",) * 3 + ("right", "left", "right", "right", "right", "right") \
        + ("left",) * len(extra) + ("right",)
    return Table(headers, rows, align)


def breakdown_table(name: str, costs: dict[str, float], total: float) -> Table:
    rows = tuple((key, money(value), f"{value / total:.1%}" if total else "-")
                 for key, value in sorted(costs.items(), key=lambda item: (-item[1], item[0])))
    return Table((name, "$/month", "share"), rows, ("left", "right", "right"))


def summary_table(plan: dict[str, Any], problem: Problem | None) -> Table:
    rows = [("status", f"{plan.get('status')} ({plan.get('solver')})")]
    total = plan.get("objective_usd_per_month")
    if total is not None:
        rows.append(("cost per month", money(total)))
        if problem is not None:
            rows.append((f"cost over {problem.horizon_months} months",
                         money(total * problem.horizon_months)))
    budget = plan.get("budget_usd_per_month")
    if budget is not None:
        rows.append(("budget per month", money(budget)))
        if total is not None:
            rows.append(("headroom per month", f"{money(budget - total)} ({(budget - total) / budget:.1%})"))
    if plan.get("gap") is not None and plan.get("bound_usd_per_month") is not None:
        rows.append(("solver bound, gap", f"{money(plan['bound_usd_per_month'])}, {plan['gap']:.4%}"))
    if int(plan.get("periods") or 1) > 1:
        rows.append(("demand periods", show_value(plan.get("periods"))))
    rows.append(("configurations", f"{show_value(plan.get('candidates'))} candidates, "
                                   f"{show_value(plan.get('rejected'))} rejected"))
    return Table(("", ""), tuple(rows), ("left", "right"))


def cost_blocks(plan: dict[str, Any]) -> list[Block]:
    total = plan.get("objective_usd_per_month")
    blocks: list[Block] = [Heading("Cost breakdown")]
    for name, costs in cost_breakdowns(plan).items():
        if costs:
            blocks += [Heading(f"by {name}", 3),
                       breakdown_table(name, costs, float(total or sum(costs.values())))]
    return blocks


def plan_report(plan: dict[str, Any], problem: Problem | None = None) -> Report:
    """Everything a reader needs about one plan, from its JSON form."""
    blocks: list[Block] = [summary_table(plan, problem)]
    if plan.get("allocations"):
        blocks += [Heading("Allocations"), allocation_table(plan)]
        if plan.get("commitments"):
            blocks.append(Paragraph(COMMITMENT_NOTE))
        blocks += [Heading("Workloads"), workload_table(plan, problem),
                   Heading("Performance of each allocation"), performance_table(plan)]
        blocks += cost_blocks(plan)
    for key, value in plan.items():
        if key not in SHOWN_PLAN_FIELDS:
            blocks += generic_blocks(key, value, level=2)
    results = [r for r in plan.get("workloads") or [] if r.get("why")]
    if results:
        blocks.append(Heading("Why this plan"))
        for result in results:
            blocks += [Heading(str(result.get("name")), 3),
                       Bullets(tuple(str(line) for line in result["why"]))]
    if plan.get("diagnosis"):
        blocks += [Heading(f"No plan: {plan.get('status')}"),
                   Bullets(tuple(str(line) for line in plan["diagnosis"]))]
    return Report(f"Plan for '{plan.get('problem')}'", tuple(blocks))


def render_plan(plan: dict[str, Any], problem: Problem | None, output_format: str) -> str:
    """`plan solve --format markdown|html`."""
    from planner.report_document import render

    return render(plan_report(plan, problem), output_format)

