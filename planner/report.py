"""Human-readable rendering of a Plan (JSON lives on the Plan itself)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from planner.catalog import PricingMode
from planner.explain import money
from planner.plan import Allocation, Plan, choice_text
from planner.problem import OnlineWorkload, Problem


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) if rows else len(h)
              for i, h in enumerate(headers)]
    def line(cells: Sequence[str]) -> str:
        return "  ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()
    out = [line(headers), line(["-" * w for w in widths])]
    out += [line(row) for row in rows]
    return "\n".join(out)


def _latency(value: float, target: float | None) -> str:
    return f"{value:.0f}" + (f"/{target:g}" if target is not None else "")


PERIOD_NAMES = {1: "flat demand", 24: "24 hourly periods (one day)",
                168: "168 hourly periods (one week)"}


def _instances(a: Allocation) -> str:
    if a.kind == "training":
        return f"{a.instances} x {a.run_hours:,.0f} h/run"
    values = a.instances_by_period
    if len(values) <= 1 or min(values) == max(values):
        return str(a.instances)
    return f"{a.instances} peak, {sum(values) / len(values):.1f} avg"


def _allocation_cost(a: Allocation) -> str:
    """Hourly costs; a committed allocation's fee is in the pool table below."""
    if a.pricing in COMMITTED:
        return "pool" if a.cost_usd_per_month < 0.5 else f"{money(a.cost_usd_per_month)} + pool"
    return money(a.cost_usd_per_month)


COMMITTED = {mode.value for mode in PricingMode if mode.committed}


def commitments_table(plan: Plan) -> list[str]:
    """Committed pools: size, how busy, and the utilisation at which they beat on demand."""
    if not plan.commitments:
        return []
    rows = []
    for c in plan.commitments:
        even = "-" if c.break_even_utilisation is None else f"{c.break_even_utilisation:.0%}"
        rows.append([c.offer_key, f"{c.accelerator}x{c.accelerators_per_instance}", c.pricing,
                     str(c.existing), str(c.new), f"{c.utilisation:.0%}", even,
                     money(c.cost_usd_per_month)])
    return ["", "committed pools (shared by every workload and hour; existing instances are sunk):",
            table(["offer", "accel", "pricing", "existing", "new", "busy", "break-even",
                   "$/month"], rows)]


def hourly_table(plan: Plan) -> list[str]:
    """Busy instances by hour of the day (peak over the week's days for weekly plans), per
    allocation; batch jobs in instance-hours per hour."""
    if plan.periods not in (24, 168):
        return []
    rows = []
    for a in plan.allocations:
        values = a.instances_by_period
        if len(values) != plan.periods:
            continue
        hours = [max(values[day * 24 + hour] for day in range(plan.periods // 24))
                 for hour in range(24)]
        rows.append([a.workload, f"{a.offer_key} {a.pricing}",
                     " ".join(f"{v:g}" if v == round(v) else f"{v:.1f}" for v in hours)])
    title = "busy instances by hour 00-23" + (" (peak over the week)" if plan.periods == 168 else "")
    return ["", f"{title}:", table(["workload", "offer", "hours 00 .. 23"], rows)]


def render_table(plan: Plan, problem: Problem) -> str:
    workloads = {w.name: w for w in problem.workloads}
    out = [f"plan for '{plan.problem}': {plan.status} ({plan.solver}), "
           f"{PERIOD_NAMES.get(plan.periods, f'{plan.periods} periods')}"]
    if plan.allocations:
        rows = []
        for a in plan.allocations:
            w = workloads.get(a.workload)
            slo = w.slo if isinstance(w, OnlineWorkload) else None
            floor = w.min_quality if w and w.min_quality is not None else None
            rows.append([
                a.workload, f"{a.provider}/{a.region}", a.instance_type,
                f"{a.accelerator}x{a.accelerators_per_instance}", a.pricing,
                choice_text(a.model, a.variant, w.model if w else None),
                str(a.batch), _instances(a),
                _latency(a.ttft_ms, slo.ttft_ms if slo else None),
                _latency(a.tpot_ms, slo.tpot_ms if slo else None),
                f"{a.quality:.3f}" + (f"/{floor:g}" if floor is not None else ""),
                _allocation_cost(a),
            ])
        out.append("")
        out.append(table(["workload", "where", "instance", "accel", "pricing", "variant",
                          "batch", "inst", "TTFT/SLO ms", "TPOT/SLO ms", "quality/floor",
                          "$/month"], rows))
        out.append("")
        out += hourly_table(plan)
        out += commitments_table(plan)
        out.append("")
        out.append(table(["workload", "kind", "peak capacity/demand req/s", "spot share",
                          "$/month"], [
            [w.name, w.kind, f"{w.capacity_rps:.2f}/{w.rate_rps:.4g}" if w.kind != "training"
             else "-", f"{w.spot_share:.0%}", money(w.cost_usd_per_month)]
            for w in plan.workloads]))
    out.append("")
    if plan.objective_usd_per_month is not None:
        budget = (f" (budget {money(plan.budget_usd_per_month)})"
                  if plan.budget_usd_per_month is not None else "")
        out.append(f"total: {money(plan.objective_usd_per_month)}/month{budget}")
        parts = ", ".join(f"{mode} {money(cost)}" for mode, cost in plan.cost_by_pricing.items())
        out.append(f"by pricing: {parts}")
        parts = ", ".join(f"{name} {money(cost)}" for name, cost in plan.cost_components.items())
        out.append(f"by component: {parts}")
    if plan.bound_usd_per_month is not None and plan.gap is not None:
        out.append(f"solver: {plan.status}, bound {money(plan.bound_usd_per_month)}, gap "
                   f"{plan.gap:.4%}, {plan.solve_seconds:.2f} s; {plan.candidates} candidates, "
                   f"{plan.rejected} configurations rejected")
    for result in plan.workloads:
        out.append("")
        out.append(f"why {result.name}:")
        out += [f"  - {line}" for line in result.why]
    if plan.diagnosis:
        out.append("no plan: " + plan.status)
        out += [f"  {line}" for line in plan.diagnosis]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(out)) + "\n"
