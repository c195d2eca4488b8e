"""Independent check of a plan against its problem: recomputes every constraint and the cost
from the catalog and the performance model, without the solver or the candidate list."""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field

from planner.budget_mode import SERVE_MOST_VALUE, requests_per_month, value_usd_per_month
from planner.candidates import (
    BATCH_UTILISATION,
    hourly_costs,
    performance_of,
    quality_of,
    slo_problem,
    spot_allowance,
    variant_problem,
)
from planner.catalog import Catalog, Offer, PricingMode
from planner.formulation import batch_days, choice_label, one_time_usd_per_month
from planner.plan import Allocation, Plan
from planner.problem import (
    AnyWorkload,
    BatchWorkload,
    OnlineWorkload,
    Problem,
    Quota,
    TrainingWorkload,
)
from planner.schema import HOURS_PER_MONTH
from planner.training import ASSUMED_INTERRUPTION_RATE, memory_needed_gb, run_hours, spot_overhead

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


@dataclass
class _Tally:
    """What the allocations add up to, per workload and period."""

    periods: int
    capacity: dict[str, list[float]] = field(default_factory=dict)
    spot: dict[str, list[float]] = field(default_factory=dict)
    replicas: dict[str, list[float]] = field(default_factory=dict)
    busy: dict[tuple[str, str], list[float]] = field(default_factory=dict)
    """(offer key, committed mode) -> busy instances per period."""

    def row(self, table: dict[str, list[float]], key: str) -> list[float]:
        return table.setdefault(key, [0.0] * self.periods)


def _by_period(a: Allocation, periods: int) -> tuple[float, ...] | str:
    values = a.instances_by_period or (float(a.instances),) * periods
    if len(values) != periods:
        return f"has {len(values)} period values, the plan has {periods}"
    if any(v < -TOLERANCE for v in values):
        return "negative instances in a period"
    if a.kind == "online" and any(abs(v - round(v)) > TOLERANCE for v in values):
        return "fractional online instances"
    return values


def _check_serving(problem: Problem, catalog: Catalog, a: Allocation, offer: Offer,
                   workload: OnlineWorkload | BatchWorkload, mode: PricingMode,
                   tally: _Tally) -> tuple[list[str], float]:
    where = f"{a.workload} on {a.offer_key}"
    problems: list[str] = []
    values = _by_period(a, tally.periods)
    if isinstance(values, str):
        return [f"{where}: {values}"], 0.0
    hours = HOURS_PER_MONTH / tally.periods
    cost = sum(values) * hours * sum(hourly_costs(problem, catalog, offer, mode))
    if not _close(cost, a.cost_usd_per_month):
        problems.append(f"{where}: cost {a.cost_usd_per_month:.2f} but prices give {cost:.2f}")
    variant = catalog.variants.get(a.variant)
    if variant is None:
        return [*problems, f"{where}: unknown variant {a.variant}"], cost
    model = a.served_model(workload.model)
    if model not in workload.models or model not in catalog.models:
        return [*problems, f"{where}: model {model} is neither the workload's model nor one of "
                           f"its alternatives ({', '.join(workload.models)})"], cost
    found = variant_problem(workload, catalog, variant, offer)
    if found:
        problems.append(f"{where}: {found[1]}")
    quality, quality_issue = quality_of(workload, catalog, variant, model)
    if quality_issue:
        problems.append(f"{where}: {quality_issue}")
    if not _close(quality, a.quality):
        problems.append(f"{where}: states quality {a.quality:.3f}, {model} {variant.name} has "
                        f"{quality:.3f}")
    if a.tensor_parallel <= 0 or offer.count % a.tensor_parallel:
        return [*problems, f"{where}: tensor parallel {a.tensor_parallel} does not divide "
                           f"{offer.count} accelerators"], cost
    perf = performance_of(workload, catalog, variant, offer, a.tensor_parallel, a.batch, model)
    if not perf.fits:
        problems.append(f"{where}: needs {perf.memory_needed_gb:.1f} GB > "
                        f"{perf.memory_usable_gb:.1f} GB")
    slo = slo_problem(workload, perf)
    if slo:
        problems.append(f"{where}: {slo[1]}")
    utilisation = (problem.performance.utilisation_cap if isinstance(workload, OnlineWorkload)
                   else BATCH_UTILISATION)
    per_instance = perf.throughput_rps * utilisation * (offer.count // a.tensor_parallel) * (
        1 - spot_allowance(workload, offer, mode))
    capacity = tally.row(tally.capacity, a.workload)
    spot = tally.row(tally.spot, a.workload)
    replicas = tally.row(tally.replicas, a.workload)
    busy = tally.busy.setdefault((a.offer_key, mode.value), [0.0] * tally.periods) \
        if mode.committed else None
    for period, count in enumerate(values):
        capacity[period] += per_instance * count
        replicas[period] += count * (offer.count // a.tensor_parallel)
        if mode is PricingMode.spot:  # online: capacity; batch: instance-hours
            spot[period] += (per_instance if isinstance(workload, OnlineWorkload) else 1) * count
        if busy is not None:
            busy[period] += count
    return problems, cost


def _check_training(problem: Problem, catalog: Catalog, a: Allocation, offer: Offer,
                    workload: TrainingWorkload, mode: PricingMode) -> tuple[list[str], float]:
    where = f"{a.workload} on {a.offer_key}"
    problems = []
    accelerators = a.instances * offer.count
    if accelerators not in workload.accelerator_counts:
        problems.append(f"{where}: {accelerators} accelerators not in accelerator_counts")
    if mode is PricingMode.spot and not workload.allow_spot:
        problems.append(f"{where}: spot not allowed")
    if mode.committed:
        problems.append(f"{where}: training runs on on-demand or spot capacity")
    memory = catalog.accelerators[offer.accelerator].memory_gb * accelerators * 0.9
    if memory_needed_gb(workload, catalog) > memory:
        problems.append(f"{where}: needs {memory_needed_gb(workload, catalog):.0f} GB > "
                        f"{memory:.0f} GB")
    overhead = 0.0
    if mode is PricingMode.spot:
        rate = offer.spot_interruption_rate
        overhead = spot_overhead(ASSUMED_INTERRUPTION_RATE if rate is None else rate, a.instances,
                                 workload.checkpoint_minutes / 60, workload.restart_minutes / 60)
    hours = run_hours(workload, catalog, offer, accelerators) * (1 + overhead)
    if hours > workload.deadline_days * 24 * (1 + TOLERANCE):
        problems.append(f"{where}: run takes {hours:,.0f} h > deadline "
                        f"{workload.deadline_days * 24:,.0f} h")
    cost = hours * a.instances * sum(hourly_costs(problem, catalog, offer, mode)) \
        * workload.runs_per_horizon / problem.horizon_months
    if not _close(cost, a.cost_usd_per_month):
        problems.append(f"{where}: cost {a.cost_usd_per_month:.2f} but prices give {cost:.2f}")
    return problems, cost


def _check_admission(problem: Problem, plan: Plan, periods: int
                     ) -> tuple[dict[str, tuple[float, ...]], list[str]]:
    """The demand each online workload must be served: its rate, or in budget_mode
    serve_most_value the rate the plan admits, checked to lie within the demand and to match
    the shed requests and value the plan states."""
    demand = {w.name: w.rates(periods) for w in problem.online()}
    results = {r.name: r for r in plan.workloads}
    violations = []
    values = []
    for workload in problem.online():
        result = results.get(workload.name)
        if result is None or not result.admitted_rps_by_period:
            continue
        rates, admitted = demand[workload.name], result.admitted_rps_by_period
        name = workload.name
        if len(admitted) != periods:
            violations.append(f"{name}: {len(admitted)} admitted rates, the plan has {periods} "
                              f"periods")
            continue
        if any(a < -TOLERANCE or a > r * (1 + TOLERANCE) + TOLERANCE
               for a, r in zip(admitted, rates, strict=True)):
            violations.append(f"{name}: admitted rate outside 0 to the demand")
        shed = requests_per_month(rates, periods) - requests_per_month(admitted, periods)
        if shed > TOLERANCE and problem.budget_mode != SERVE_MOST_VALUE:
            violations.append(f"{name}: sheds {shed:,.0f} requests/month but budget_mode is "
                              f"{problem.budget_mode}")
        if not _close(max(0.0, shed), result.shed_requests_per_month):
            violations.append(f"{name}: states {result.shed_requests_per_month:,.0f} shed "
                              f"requests/month, the admitted rates give {shed:,.0f}")
        value = value_usd_per_month(workload, admitted, periods)
        if value is not None:
            values.append(value)
        if (value is None) != (result.value_usd_per_month is None) or (
                value is not None and not _close(value, result.value_usd_per_month or 0.0)):
            violations.append(f"{name}: states value {result.value_usd_per_month}, the admitted "
                              f"rates give {value}")
        demand[name] = admitted
    stated = plan.value_usd_per_month
    if (stated is None) != (not values) or (stated is not None and not _close(stated, sum(values))):
        violations.append(f"plan value {stated} but its workloads' values add up to "
                          f"{sum(values) if values else None}")
    return demand, violations


def _check_workload(problem: Problem, plan: Plan, workload: AnyWorkload, tally: _Tally,
                    demand: dict[str, tuple[float, ...]]) -> list[str]:
    name = workload.name
    mine = [a for a in plan.allocations if a.workload == name]
    if isinstance(workload, TrainingWorkload):
        return [] if len(mine) == 1 else [f"{name}: {len(mine)} training runs, expected 1"]
    violations = []
    choices = {choice_label(workload.model, a.served_model(workload.model), a.variant)
               for a in mine}
    if len(choices) > 1:
        violations.append(f"{name}: runs several models or variants {sorted(choices)}")
    capacity = tally.row(tally.capacity, name)
    spot = tally.row(tally.spot, name)
    if isinstance(workload, BatchWorkload):
        hours = workload.window.hours()
        for a in mine:
            values = a.instances_by_period or (a.instances,) * tally.periods
            if any(v > TOLERANCE for p, v in enumerate(values) if p % 24 not in hours):
                violations.append(f"{name}: runs outside its window")
        for day, periods in enumerate(batch_days(hours, tally.periods)):
            done = sum(capacity[p] for p in periods) * 3600
            if done < workload.requests_per_day * (1 - TOLERANCE):
                violations.append(f"{name}: day {day} does {done:,.0f} requests < "
                                  f"{workload.requests_per_day:,.0f}")
            busy = sum(sum((a.instances_by_period or (a.instances,) * tally.periods)[p]
                           for p in periods) for a in mine)
            if busy and sum(spot[p] for p in periods) > workload.max_spot_share * busy + TOLERANCE:
                violations.append(f"{name}: day {day} spot share above "
                                  f"{workload.max_spot_share:.0%}")
        return violations
    replicas = tally.row(tally.replicas, name)
    rates = demand.get(name, workload.rates(tally.periods))
    # a workload shed entirely keeps no replicas; one served at all keeps min_replicas
    shed_entirely = max(rates) <= 0 and any(r.name == name and r.admitted_rps_by_period
                                            for r in plan.workloads)
    for period, rate in enumerate(rates):
        at = f" in period {period}" if tally.periods > 1 else ""
        if capacity[period] < rate * (1 - TOLERANCE):
            violations.append(f"{name}: capacity {capacity[period]:.3f} req/s < demand "
                              f"{rate:g}{at}")
        if capacity[period] and spot[period] > workload.max_spot_share * capacity[period] + TOLERANCE:
            violations.append(f"{name}: spot share {spot[period] / capacity[period]:.1%} > "
                              f"{workload.max_spot_share:.0%}{at}")
        if not shed_entirely and replicas[period] < workload.min_replicas \
                and (rate > 0 or workload.min_replicas):
            violations.append(f"{name}: {replicas[period]:g} replicas < min "
                              f"{workload.min_replicas}{at}")
    return violations


def _check_pools(catalog: Catalog, plan: Plan, problem: Problem, offers: dict[str, Offer],
                 tally: _Tally) -> tuple[list[str], float]:
    violations = []
    total = 0.0
    existing: dict[tuple[str, str], int] = defaultdict(int)
    for commitment in problem.commitments:
        existing[(commitment.offer, commitment.pricing.value)] += commitment.instances
    held: dict[tuple[str, str], int] = {}
    for pool in plan.commitments:
        key = (pool.offer_key, pool.pricing)
        offer = offers.get(pool.offer_key)
        if offer is None or pool.new < 0:
            violations.append(f"pool {pool.offer_key}: unknown offer or negative count")
            continue
        if pool.existing != existing.get(key, 0):
            violations.append(f"pool {pool.offer_key} {pool.pricing}: claims {pool.existing} "
                              f"existing, the problem has {existing.get(key, 0)}")
        cost = pool.new * (catalog.monthly_price(offer, PricingMode(pool.pricing)) or 0.0)
        if not _close(cost, pool.cost_usd_per_month):
            violations.append(f"pool {pool.offer_key} {pool.pricing}: cost "
                              f"{pool.cost_usd_per_month:.2f} but prices give {cost:.2f}")
        total += cost
        held[key] = existing.get(key, 0) + pool.new
    for key, busy in tally.busy.items():
        size = held.get(key, existing.get(key, 0))
        peak = max(busy)
        if peak > size + TOLERANCE:
            violations.append(f"pool {key[0]} {key[1]}: {peak:g} busy > {size} held")
    return violations, total


def _check_quotas(problem: Problem, catalog: Catalog, plan: Plan, offers: dict[str, Offer],
                  periods: int) -> list[str]:
    violations = []
    for number, quota in enumerate(problem.quotas):
        def covered(key: str, quota: Quota = quota) -> bool:
            offer = offers.get(key)
            return offer is not None and quota.covers(catalog, offer.accelerator, offer.provider,
                                                      offer.region)
        fixed = sum(p.instances * p.accelerators_per_instance for p in plan.commitments
                    if covered(p.offer_key))
        fixed += sum(a.instances * a.accelerators_per_instance for a in plan.allocations
                     if a.kind == "training" and covered(a.offer_key))
        for period in range(periods):
            used = fixed + sum(
                (a.instances_by_period or (a.instances,) * periods)[period]
                * a.accelerators_per_instance for a in plan.allocations
                if a.kind != "training" and not PricingMode(a.pricing).committed
                and covered(a.offer_key))
            if used > quota.max_accelerators + TOLERANCE:
                violations.append(f"quota[{number}]: {used:g} accelerators > "
                                  f"{quota.max_accelerators}")
                break
    return violations


def check_plan(problem: Problem, catalog: Catalog, plan: Plan) -> CheckResult:
    """Every violated constraint of `plan`, and its cost recomputed from the catalog."""
    violations: list[str] = []
    periods = plan.periods
    if periods != problem.periods:
        violations.append(f"plan has {periods} periods, the problem needs {problem.periods}")
        periods = problem.periods
    tally = _Tally(periods)
    total = 0.0
    offers = {offer.key: offer for offer in catalog.offers}
    workloads = {w.name: w for w in problem.workloads}
    for a in plan.allocations:
        offer, workload = offers.get(a.offer_key), workloads.get(a.workload)
        where = f"{a.workload} on {a.offer_key}"
        if a.instances <= 0:
            violations.append(f"{a.workload}: non-positive instance count")
            continue
        if offer is None or workload is None:
            violations.append(f"{where}: unknown offer or workload")
            continue
        try:
            mode = PricingMode(a.pricing)
        except ValueError:
            violations.append(f"{where}: unknown pricing mode {a.pricing}")
            continue
        if mode not in problem.allow.pricing:
            violations.append(f"{where}: pricing {mode.value} not allowed")
        if not mode.committed and offer.prices_usd_per_hour.get(mode) is None:
            violations.append(f"{where}: no {mode.value} price")
            continue
        if isinstance(workload, TrainingWorkload):
            found, cost = _check_training(problem, catalog, a, offer, workload, mode)
        else:
            found, cost = _check_serving(problem, catalog, a, offer, workload, mode, tally)
        violations += found
        total += cost
    demand, admission_violations = _check_admission(problem, plan, periods)
    violations += admission_violations
    for workload in problem.workloads:
        violations += _check_workload(problem, plan, workload, tally, demand)
    pool_violations, pool_cost = _check_pools(catalog, plan, problem, offers, tally)
    violations += pool_violations
    total += pool_cost
    models = {w.name: w.model for w in problem.workloads}
    total += one_time_usd_per_month(problem, catalog, {
        (a.served_model(models[a.workload]), a.variant) for a in plan.allocations
        if a.kind != "training" and a.workload in models
        and a.served_model(models[a.workload]) in catalog.models and a.variant in catalog.variants})
    violations += _check_quotas(problem, catalog, plan, offers, periods)
    if problem.budget_usd_per_month is not None and total > problem.budget_usd_per_month + 1e-6:
        violations.append(f"budget: ${total:,.2f} > ${problem.budget_usd_per_month:,.2f}")
    if plan.objective_usd_per_month is not None and not _close(total, plan.objective_usd_per_month):
        violations.append(f"objective {plan.objective_usd_per_month:.2f} but allocations cost "
                          f"{total:.2f}")
    return CheckResult(tuple(violations), total)
