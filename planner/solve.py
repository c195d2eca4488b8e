"""The pipeline: problem -> candidates -> formulation -> backend -> Plan (with explanations)."""

from __future__ import annotations

import math
from collections import defaultdict

from planner.backends import SolveOptions, SolverResult, Status, get_backend
from planner.candidates import Candidate, CandidateSet, build_candidates
from planner.catalog import Catalog, Offer, PricingMode
from planner.explain import diagnose, explain_training, explain_workload
from planner.formulation import Formulation, formulate, pool_key, preparation_usd_per_month
from planner.plan import Allocation, CommitmentResult, Plan, WorkloadResult
from planner.problem import AnyWorkload, BatchWorkload, OnlineWorkload, Problem, TrainingWorkload
from planner.pruning import surviving
from planner.schema import HOURS_PER_MONTH
from planner.training import TrainingOption, training_options


def allocation_of(candidate: Candidate, by_period: tuple[float, ...], hours: float
                  ) -> Allocation:
    config = candidate.config
    offer = config.offer
    perf = candidate.estimate
    peak = max(by_period)
    instances = round(peak) if candidate.kind == "online" else math.ceil(peak - 1e-9)
    return Allocation(
        workload=config.workload,
        provider=offer.provider,
        region=offer.region,
        instance_type=offer.instance_type,
        accelerator=offer.accelerator,
        accelerators_per_instance=offer.count,
        pricing=candidate.mode.value,
        variant=config.variant,
        tensor_parallel=config.tensor_parallel,
        batch=config.batch,
        instances=instances,
        replicas=instances * config.replicas_per_instance,
        capacity_rps=candidate.capacity_rps * peak,
        ttft_ms=perf.ttft_ms,
        tpot_ms=perf.tpot_ms,
        e2e_ms=perf.e2e_ms,
        quality=candidate.quality,
        performance_source=perf.source,
        cost_usd_per_month=sum(by_period) * hours * candidate.hourly_usage_cost,
        kind=candidate.kind,
        instances_by_period=by_period,
    )


def training_allocation(option: TrainingOption) -> Allocation:
    offer = option.offer
    return Allocation(
        workload=option.workload, provider=offer.provider, region=offer.region,
        instance_type=offer.instance_type, accelerator=offer.accelerator,
        accelerators_per_instance=offer.count, pricing=option.mode.value, variant="bf16",
        tensor_parallel=option.accelerators, batch=0, instances=option.instances,
        replicas=1, capacity_rps=0.0, ttft_ms=0.0, tpot_ms=0.0, e2e_ms=0.0, quality=1.0,
        performance_source="training model", cost_usd_per_month=option.cost_usd_per_month,
        kind="training", run_hours=option.hours)


def _value(result: SolverResult, column: int | None, integer: bool) -> float:
    if column is None:
        return 0.0
    value = result.values[column]
    return float(round(value)) if integer else max(0.0, round(value, 9))


def extract(candidates: CandidateSet, training: tuple[TrainingOption, ...], catalog: Catalog,
            formulation: Formulation, result: SolverResult
            ) -> tuple[tuple[Allocation, ...], tuple[CommitmentResult, ...]]:
    """Allocations (per candidate, over the periods) and committed pools from a solution."""
    if not result.values:
        return (), ()
    periods = range(formulation.periods)
    allocations = []
    busy: dict[tuple[str, PricingMode], list[float]] = defaultdict(lambda: [0.0] * formulation.periods)
    for candidate in candidates.candidates:
        integer = candidate.kind == "online"
        by_period = tuple(_value(result, formulation.use_column.get((candidate.index, p)), integer)
                          for p in periods)
        if max(by_period, default=0.0) <= 0:
            continue
        allocations.append(allocation_of(candidate, by_period, formulation.hours_per_period))
        if candidate.mode.committed:
            pool = busy[pool_key(candidate.config.offer, candidate.mode)]
            for p in periods:
                pool[p] += by_period[p]
    for option in training:
        if _value(result, formulation.train_column.get(option.index), True) > 0:
            allocations.append(training_allocation(option))
    offers = {offer.key: offer for offer in catalog.offers}
    commitments = []
    for key, column in formulation.pool_column.items():
        existing = formulation.existing.get(key, 0)
        new = round(result.values[column])
        if existing + new == 0:
            continue
        offer, mode = offers[key[0]], key[1]
        load = tuple(busy[key]) if key in busy else (0.0,) * formulation.periods
        commitments.append(CommitmentResult(
            provider=offer.provider, region=offer.region, instance_type=offer.instance_type,
            accelerator=offer.accelerator, accelerators_per_instance=offer.count,
            pricing=mode.value, existing=existing, new=new,
            cost_usd_per_month=new * (catalog.monthly_price(offer, mode) or 0.0),
            busy_by_period=load,
            utilisation=sum(load) / (formulation.periods * (existing + new)),
            break_even_utilisation=break_even(catalog, offer, mode)))
    return tuple(allocations), tuple(commitments)


def break_even(catalog: Catalog, offer: Offer, mode: PricingMode) -> float | None:
    """Busy share at which a committed instance costs the same as on-demand hours."""
    on_demand = offer.prices_usd_per_hour.get(PricingMode.on_demand)
    fee = catalog.monthly_price(offer, mode)
    busy = catalog.busy_energy_usd_per_hour(offer, mode)
    if on_demand is None or fee is None or on_demand <= busy:
        return None
    return fee / ((on_demand - busy) * HOURS_PER_MONTH)


def preparation_cost(problem: Problem, catalog: Catalog, allocations: tuple[Allocation, ...]
                     ) -> float:
    """One-time variant preparation (per model and variant) spread over the horizon."""
    models = {w.name: w.model for w in problem.workloads}
    used = {(models[a.workload], a.variant) for a in allocations if a.kind != "training"}
    return sum(preparation_usd_per_month(problem, catalog, model, variant)
               for model, variant in sorted(used))


def summarise(allocations: tuple[Allocation, ...], commitments: tuple[CommitmentResult, ...],
              preparation: float) -> tuple[dict[str, float], dict[str, float], dict[str, float]]:
    by_pricing: dict[str, float] = defaultdict(float)
    by_provider: dict[str, float] = defaultdict(float)
    components: dict[str, float] = defaultdict(float)
    for a in allocations:
        by_pricing[a.pricing] += a.cost_usd_per_month
        by_provider[a.provider] += a.cost_usd_per_month
        if a.kind == "training":
            components["training"] += a.cost_usd_per_month
        elif a.pricing == PricingMode.owned.value:
            components["energy"] += a.cost_usd_per_month
        else:
            components["compute"] += a.cost_usd_per_month
    for c in commitments:
        by_pricing[c.pricing] += c.cost_usd_per_month
        by_provider[c.provider] += c.cost_usd_per_month
        components["owned" if c.pricing == PricingMode.owned.value else "commitments"] += \
            c.cost_usd_per_month
    if preparation:
        components["one_time"] += preparation
    return (dict(sorted(by_pricing.items())), dict(sorted(by_provider.items())),
            dict(sorted(components.items())))


def pool_shares(allocations: tuple[Allocation, ...], commitments: tuple[CommitmentResult, ...]
                ) -> dict[str, float]:
    """Each workload's share of the committed pools' fees, by busy instance-hours."""
    shares: dict[str, float] = defaultdict(float)
    for pool in commitments:
        users = [a for a in allocations if a.offer_key == pool.offer_key
                 and a.pricing == pool.pricing]
        busy = sum(sum(a.instances_by_period) for a in users)
        for a in users:
            if busy > 0:
                shares[a.workload] += pool.cost_usd_per_month * sum(a.instances_by_period) / busy
    return shares


def _demand(workload: AnyWorkload) -> float:
    if isinstance(workload, OnlineWorkload):
        return workload.peak_rps
    if isinstance(workload, BatchWorkload):
        return workload.requests_per_day / 86400
    return 0.0


def why(problem: Problem, catalog: Catalog, workload: AnyWorkload, candidates: CandidateSet,
        training: tuple[TrainingOption, ...], allocations: tuple[Allocation, ...],
        cost: float) -> list[str]:
    mine = [a for a in allocations if a.workload == workload.name]
    if isinstance(workload, TrainingWorkload):
        options = [o for o in training if o.workload == workload.name]
        chosen = next((o for o in options for a in mine if a.offer_key == o.offer.key
                       and a.pricing == o.mode.value and a.instances == o.instances), None)
        return explain_training(workload, options, chosen,
                                candidates.rejections_for(workload.name))
    return explain_workload(problem, catalog, workload, candidates, mine, allocations, cost)


def workload_results(problem: Problem, catalog: Catalog, candidates: CandidateSet,
                     training: tuple[TrainingOption, ...], allocations: tuple[Allocation, ...],
                     commitments: tuple[CommitmentResult, ...]) -> tuple[WorkloadResult, ...]:
    results = []
    shares = pool_shares(allocations, commitments)
    for workload in problem.workloads:
        mine = [a for a in allocations if a.workload == workload.name]
        capacity = sum(a.capacity_rps for a in mine)
        busy = sum(a.capacity_rps / max(a.instances_by_period) * sum(a.instances_by_period)
                   for a in mine if a.instances_by_period and max(a.instances_by_period) > 0)
        spot = sum(a.capacity_rps / max(a.instances_by_period) * sum(a.instances_by_period)
                   for a in mine if a.pricing == PricingMode.spot.value
                   and a.instances_by_period and max(a.instances_by_period) > 0)
        tokens = getattr(workload, "tokens", None)
        cost = sum(a.cost_usd_per_month for a in mine) + shares[workload.name]
        results.append(WorkloadResult(
            name=workload.name,
            model=workload.model,
            rate_rps=_demand(workload),
            capacity_rps=capacity,
            cost_usd_per_month=cost,
            spot_share=spot / busy if busy else 0.0,
            why=tuple(why(problem, catalog, workload, candidates, training, allocations, cost)),
            kind=workload.kind,
            prompt_tokens=tokens.prompt if tokens else 0,
            output_tokens=tokens.output if tokens else 0,
        ))
    return tuple(results)


def solve(problem: Problem, catalog: Catalog, solver: str = "highs",
          options: SolveOptions | None = None, prune: bool = True) -> Plan:
    """Cheapest plan for `problem`, proven optimal unless the time limit stops the solver."""
    options = options or SolveOptions()
    candidates = build_candidates(problem, catalog)
    training, training_rejections = training_options(problem, catalog, prune)
    candidates = CandidateSet(candidates.candidates,
                              candidates.rejections + training_rejections)
    active = surviving(problem, catalog, candidates) if prune else None
    formulation = formulate(problem, catalog, candidates, active, training)
    has_options = {c.workload for c in candidates.candidates} | {o.workload for o in training}
    if any(w.name not in has_options for w in problem.workloads):
        # a workload with no feasible configuration: infeasible before any solver runs
        result = SolverResult(Status.infeasible, None, None, (), 0.0, solver)
    else:
        result = get_backend(solver).solve(formulation.model, options)
    allocations, commitments = extract(candidates, training, catalog, formulation, result)
    preparation = preparation_cost(problem, catalog, allocations)
    by_pricing, by_provider, components = summarise(allocations, commitments, preparation)
    has_plan = result.status in (Status.optimal, Status.feasible)
    objective = sum(components.values()) if has_plan else None
    bound = result.bound
    if bound is not None and objective is not None:
        bound = min(bound, objective)

    def resolve(relaxed: Problem) -> float | None:
        return solve(relaxed, catalog, solver, options, prune).objective_usd_per_month

    diagnosis = () if has_plan else tuple(
        diagnose(problem, catalog, candidates, result.status, resolve, training))
    return Plan(
        problem=problem.name,
        status=result.status.value,
        solver=result.solver,
        objective_usd_per_month=objective,
        bound_usd_per_month=bound,
        gap=result.gap if has_plan else None,
        allocations=allocations,
        workloads=workload_results(problem, catalog, candidates, training, allocations,
                                   commitments)
        if has_plan else (),
        cost_by_pricing=by_pricing,
        cost_by_provider=by_provider,
        cost_components=components,
        budget_usd_per_month=problem.budget_usd_per_month,
        candidates=len(candidates.candidates) + len(training),
        rejected=len(candidates.rejections),
        diagnosis=diagnosis,
        periods=formulation.periods,
        commitments=commitments,
        solve_seconds=result.seconds,
    )
