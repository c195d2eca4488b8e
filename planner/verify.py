"""Independent check of a plan against its problem: recomputes every constraint and the cost
from the catalog and the performance model, without the solver or the candidate list."""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass

from planner.candidates import performance_of, quality_of, slo_problem, variant_problem
from planner.catalog import Catalog, Offer, PricingMode
from planner.plan import Allocation, Plan
from planner.problem import Problem, Workload

TOLERANCE = 1e-6


@dataclass(frozen=True)
class CheckResult:
    violations: tuple[str, ...]
    cost_usd_per_month: float

    @property
    def valid(self) -> bool:
        return not self.violations


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-6)


def _check_allocation(problem: Problem, catalog: Catalog, a: Allocation, offer: Offer | None,
                      workload: Workload | None, capacity: dict[str, float],
                      spot: dict[str, float], replicas: dict[str, int]) -> tuple[list[str], float]:
    where = f"{a.workload} on {a.offer_key}"
    if offer is None or workload is None:
        return [f"{where}: unknown offer or workload"], 0.0
    problems = []
    try:
        mode = PricingMode(a.pricing)
    except ValueError:
        return [f"{where}: unknown pricing mode {a.pricing}"], 0.0
    if mode not in problem.allow.pricing:
        problems.append(f"{where}: pricing {mode.value} not allowed")
    hourly = offer.prices_usd_per_hour.get(mode)
    if hourly is None:
        return [*problems, f"{where}: no {mode.value} price"], 0.0
    cost = catalog.monthly_price(offer, mode) or 0.0
    cost *= a.instances
    if not _close(cost, a.cost_usd_per_month):
        problems.append(f"{where}: cost {a.cost_usd_per_month:.2f} but prices give {cost:.2f}")
    variant = catalog.variants.get(a.variant)
    if variant is None:
        return [*problems, f"{where}: unknown variant {a.variant}"], cost
    found = variant_problem(workload, catalog, variant, offer)
    if found:
        problems.append(f"{where}: {found[1]}")
    _, quality_issue = quality_of(workload, catalog, variant)
    if quality_issue:
        problems.append(f"{where}: {quality_issue}")
    if offer.count % a.tensor_parallel:
        problems.append(f"{where}: tensor parallel {a.tensor_parallel} does not divide "
                        f"{offer.count} accelerators")
        return problems, cost
    perf = performance_of(workload, catalog, variant, offer, a.tensor_parallel, a.batch)
    if not perf.fits:
        problems.append(f"{where}: needs {perf.memory_needed_gb:.1f} GB > "
                        f"{perf.memory_usable_gb:.1f} GB")
    slo = slo_problem(workload, perf)
    if slo:
        problems.append(f"{where}: {slo[1]}")
    per_instance = perf.throughput_rps * problem.performance.utilisation_cap * (
        offer.count // a.tensor_parallel)
    if per_instance * a.instances < a.capacity_rps * (1 - TOLERANCE):
        problems.append(f"{where}: claims {a.capacity_rps:.3f} req/s, model gives "
                        f"{per_instance * a.instances:.3f}")
    capacity[a.workload] += per_instance * a.instances
    if mode is PricingMode.spot:
        spot[a.workload] += per_instance * a.instances
    replicas[a.workload] += a.instances * (offer.count // a.tensor_parallel)
    return problems, cost


def check_plan(problem: Problem, catalog: Catalog, plan: Plan) -> CheckResult:
    """Every violated constraint of `plan`, and its cost recomputed from the catalog."""
    violations: list[str] = []
    capacity: dict[str, float] = defaultdict(float)
    spot: dict[str, float] = defaultdict(float)
    replicas: dict[str, int] = defaultdict(int)
    total = 0.0
    offers = {offer.key: offer for offer in catalog.offers}
    workloads = {w.name: w for w in problem.workloads}
    for allocation in plan.allocations:
        if allocation.instances <= 0:
            violations.append(f"{allocation.workload}: non-positive instance count")
            continue
        found, cost = _check_allocation(problem, catalog, allocation,
                                        offers.get(allocation.offer_key),
                                        workloads.get(allocation.workload), capacity, spot, replicas)
        violations += found
        total += cost
    for workload in problem.workloads:
        name = workload.name
        if capacity[name] < workload.rate_rps * (1 - TOLERANCE):
            violations.append(f"{name}: capacity {capacity[name]:.3f} req/s < demand "
                              f"{workload.rate_rps:g}")
        if capacity[name] and spot[name] > workload.max_spot_share * capacity[name] + TOLERANCE:
            violations.append(f"{name}: spot share {spot[name] / capacity[name]:.1%} > "
                              f"{workload.max_spot_share:.0%}")
        if replicas[name] < workload.min_replicas:
            violations.append(f"{name}: {replicas[name]} replicas < min {workload.min_replicas}")
        variants = {a.variant for a in plan.allocations if a.workload == name}
        if len(variants) > 1:
            violations.append(f"{name}: runs several variants {sorted(variants)}")
    for number, quota in enumerate(problem.quotas):
        used = sum(a.instances * a.accelerators_per_instance for a in plan.allocations
                   if quota.covers(catalog, a.accelerator, a.provider, a.region))
        if used > quota.max_accelerators:
            violations.append(f"quota[{number}]: {used} accelerators > {quota.max_accelerators}")
    if problem.budget_usd_per_month is not None and total > problem.budget_usd_per_month + 1e-6:
        violations.append(f"budget: ${total:,.2f} > ${problem.budget_usd_per_month:,.2f}")
    if plan.objective_usd_per_month is not None and not _close(total, plan.objective_usd_per_month):
        violations.append(f"objective {plan.objective_usd_per_month:.2f} but allocations cost "
                          f"{total:.2f}")
    return CheckResult(tuple(violations), total)
