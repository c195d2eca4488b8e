"""The pipeline: problem -> candidates -> formulation -> backend -> Plan (with explanations)."""

from __future__ import annotations

from collections import defaultdict

from planner.backends import SolveOptions, SolverResult, Status, get_backend
from planner.candidates import Candidate, CandidateSet, build_candidates
from planner.catalog import Catalog, PricingMode
from planner.explain import diagnose, explain_workload
from planner.formulation import Formulation, formulate
from planner.plan import Allocation, Plan, WorkloadResult
from planner.problem import Problem
from planner.pruning import surviving


def allocation_of(candidate: Candidate, instances: int) -> Allocation:
    config = candidate.config
    offer = config.offer
    perf = candidate.estimate
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
        capacity_rps=candidate.capacity_rps * instances,
        ttft_ms=perf.ttft_ms,
        tpot_ms=perf.tpot_ms,
        e2e_ms=perf.e2e_ms,
        quality=candidate.quality,
        performance_source=perf.source,
        cost_usd_per_month=candidate.cost_usd_per_month * instances,
    )


def extract_allocations(candidates: CandidateSet, formulation: Formulation,
                        result: SolverResult) -> tuple[Allocation, ...]:
    if not result.values:
        return ()
    allocations = []
    for candidate in candidates.candidates:
        column = formulation.instance_column.get(candidate.index)
        if column is None:
            continue
        count = round(result.values[column])
        if count > 0:
            allocations.append(allocation_of(candidate, count))
    return tuple(allocations)


def summarise(allocations: tuple[Allocation, ...]
              ) -> tuple[dict[str, float], dict[str, float], dict[str, float]]:
    by_pricing: dict[str, float] = defaultdict(float)
    by_provider: dict[str, float] = defaultdict(float)
    for allocation in allocations:
        by_pricing[allocation.pricing] += allocation.cost_usd_per_month
        by_provider[allocation.provider] += allocation.cost_usd_per_month
    compute = sum(a.cost_usd_per_month for a in allocations
                  if a.pricing in (PricingMode.on_demand.value, PricingMode.spot.value))
    commitments = sum(a.cost_usd_per_month for a in allocations
                      if a.pricing.startswith("reserved"))
    components = {"compute": compute, "commitments": commitments}
    return dict(sorted(by_pricing.items())), dict(sorted(by_provider.items())), components


def workload_results(problem: Problem, catalog: Catalog, candidates: CandidateSet,
                     allocations: tuple[Allocation, ...]) -> tuple[WorkloadResult, ...]:
    results = []
    for workload in problem.workloads:
        mine = [a for a in allocations if a.workload == workload.name]
        capacity = sum(a.capacity_rps for a in mine)
        spot = sum(a.capacity_rps for a in mine if a.pricing == PricingMode.spot.value)
        results.append(WorkloadResult(
            name=workload.name,
            model=workload.model,
            rate_rps=workload.rate_rps,
            capacity_rps=capacity,
            cost_usd_per_month=sum(a.cost_usd_per_month for a in mine),
            spot_share=spot / capacity if capacity else 0.0,
            why=tuple(explain_workload(problem, catalog, workload, candidates, mine, allocations)),
            kind=workload.kind,
            prompt_tokens=workload.tokens.prompt,
            output_tokens=workload.tokens.output,
        ))
    return tuple(results)


def solve(problem: Problem, catalog: Catalog, solver: str = "highs",
          options: SolveOptions | None = None, prune: bool = True) -> Plan:
    """Cheapest plan for `problem`, proven optimal unless the time limit stops the solver."""
    options = options or SolveOptions()
    candidates = build_candidates(problem, catalog)
    active = surviving(problem, catalog, candidates) if prune else None
    formulation = formulate(problem, catalog, candidates, active)
    if any(not candidates.for_workload(w.name) for w in problem.workloads):
        # a workload with no feasible configuration: infeasible before any solver runs
        result = SolverResult(Status.infeasible, None, None, (), 0.0, solver)
    else:
        result = get_backend(solver).solve(formulation.model, options)
    allocations = extract_allocations(candidates, formulation, result)
    by_pricing, by_provider, components = summarise(allocations)
    has_plan = result.status in (Status.optimal, Status.feasible)
    def resolve(relaxed: Problem) -> float | None:
        return solve(relaxed, catalog, solver, options, prune).objective_usd_per_month

    diagnosis = () if has_plan else tuple(
        diagnose(problem, catalog, candidates, result.status, resolve))
    return Plan(
        problem=problem.name,
        status=result.status.value,
        solver=result.solver,
        objective_usd_per_month=result.objective if has_plan else None,
        bound_usd_per_month=result.bound,
        gap=result.gap if has_plan else None,
        allocations=allocations,
        workloads=workload_results(problem, catalog, candidates, allocations) if has_plan else (),
        cost_by_pricing=by_pricing,
        cost_by_provider=by_provider,
        cost_components=components,
        budget_usd_per_month=problem.budget_usd_per_month,
        candidates=len(candidates.candidates),
        rejected=len(candidates.rejections),
        diagnosis=diagnosis,
        solve_seconds=result.seconds,
    )
