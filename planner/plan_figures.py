"""Figures read from a plan's JSON form, shared by the reports and the diff: what a person
would rent, and every breakdown of the monthly cost the plan carries."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

COST_BREAKDOWNS = (("pricing mode", "cost_by_pricing"), ("provider", "cost_by_provider"),
                   ("component", "cost_components"))


def configuration(allocation: dict[str, Any]) -> str:
    """`H100-SXMx2 runpod/US/2x_H100-SXM_SECURE on_demand`: what a person would rent."""
    return (f"{allocation.get('accelerator', '?')}x{allocation.get('accelerators_per_instance', '?')} "
            f"{allocation.get('provider', '?')}/{allocation.get('region', '?')}/"
            f"{allocation.get('instance_type', '?')} {allocation.get('pricing', '?')}")


def cost_by_workload(plan: dict[str, Any]) -> dict[str, float]:
    """Monthly cost per workload: the workload results, or the allocations when there are none."""
    costs: dict[str, float] = defaultdict(float)
    results = plan.get("workloads") or []
    if results:
        for result in results:
            costs[str(result.get("name"))] += float(result.get("cost_usd_per_month") or 0.0)
    else:
        for allocation in plan.get("allocations") or []:
            costs[str(allocation.get("workload"))] += float(allocation.get("cost_usd_per_month") or 0.0)
    return dict(costs)


def cost_breakdowns(plan: dict[str, Any]) -> dict[str, dict[str, float]]:
    """Every breakdown of the monthly cost the plan carries, by its human name."""
    out = {"workload": cost_by_workload(plan)}
    for name, field in COST_BREAKDOWNS:
        out[name] = {str(key): float(value) for key, value in (plan.get(field) or {}).items()}
    return out
