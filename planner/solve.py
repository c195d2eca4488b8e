"""The pipeline: problem -> candidates -> formulation -> backend -> Plan (with explanations).

`solve` is the whole pipeline. `solve_in_detail` also returns the formulation and the solver's
answer (for sensitivity analysis), can reuse candidates already built (`Prepared`), can pin
workloads to some configurations (`planner.pinning`), and can leave the explanations out (for
the many re-solves of `plan explain` and of a diagnosis).
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from planner.backends import SolveOptions, SolverResult, Status, get_backend
from planner.budget_mode import (
    SERVE_MOST_VALUE,
    admitted_rates,
    requests_per_month,
    solve_most_value,
    value_usd_per_month,
)
from planner.candidates import Candidate, CandidateSet, build_candidates
from planner.catalog import Catalog, Offer, PricingMode
from planner.decompose import instance_columns, reduce_fleet
from planner.explain import (
    admission_text,
    diagnose,
    explain_training,
    explain_workload,
    served_text,
)
from planner.families import served_choices
from planner.formulation import Formulation, formulate, one_time_usd_per_month, pool_key
from planner.linear import LinearModel
from planner.numerics import warn_if_unstable
from planner.plan import Allocation, CommitmentResult, Plan, WorkloadResult
from planner.probing import bound_pools, probing_seconds
from planner.problem import AnyWorkload, BatchWorkload, OnlineWorkload, Problem, TrainingWorkload
from planner.pruning import surviving
from planner.schema import HOURS_PER_MONTH
from planner.training import TrainingOption, training_options

if TYPE_CHECKING:
    from planner.pinning import Pin

FIXED_PLAN_SECONDS = 10.0
"""Time the MIP always gets to turn a decomposition's plan into the formulation's columns
(its instance counts fixed: pools and variants only), however much of the limit is used."""
TOO_LATE_COLUMNS = 100_000
"""Instance columns (active candidates x periods) from which the whole MIP is not built
after a decomposition that used the whole time limit without a plan: building it takes
longer than the limit (34 s for 60 weekly workloads, 1.5 million columns, on a 3 s limit) and
its second of search finds no plan either."""

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
        model=config.model,
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


def _choice_taken(formulation: Formulation, result: SolverResult, candidate: Candidate) -> bool:
    """Whether the candidate's (model, variant) is the one its workload runs. Instances of a
    choice not taken meet none of the workload's rows (see `formulation.needs_link`), so no
    optimal plan has them, but a plan cut short by the time limit may: they serve nothing,
    and dropping them only lowers the cost and the use of quotas, pools and budget."""
    column = formulation.variant_column.get((candidate.workload, *candidate.config.choice))
    return column is None or result.values[column] > 0.5


def extract(candidates: CandidateSet, training: tuple[TrainingOption, ...], catalog: Catalog,
            formulation: Formulation, result: SolverResult
            ) -> tuple[tuple[Allocation, ...], tuple[CommitmentResult, ...]]:
    """Allocations (per candidate, over the periods) and committed pools from a solution."""
    if not result.values:
        return (), ()
    periods = range(formulation.periods)
    allocations = []
    busy: dict[tuple[str, PricingMode], list[float]] = defaultdict(lambda: [0.0] * formulation.periods)
    # only candidates with an instance in the plan are built (a large fleet has millions)
    used = sorted({index for (index, _), column in formulation.use_column.items()
                   if result.values[column] > 1e-9})
    for candidate in candidates.only(used).candidates:
        if not _choice_taken(formulation, result, candidate):
            continue
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
    """One-time runs (variant preparation per model and variant, distillation per model)
    spread over the horizon."""
    models = {w.name: w.model for w in problem.workloads}
    used = {(a.served_model(models[a.workload]), a.variant) for a in allocations
            if a.kind != "training"}
    return one_time_usd_per_month(problem, catalog, used)


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
        cost: float, admitted: tuple[float, ...] | None = None, *,
        plan_choices: frozenset[tuple[str, str]] | None = None) -> list[str]:
    """`plan_choices`: `served_choices` of the plan, computed from `allocations` when None."""
    mine = [a for a in allocations if a.workload == workload.name]
    if isinstance(workload, OnlineWorkload) and admitted is not None:
        lines = admission_text(workload, admitted)
        if not mine:
            return lines
        return lines + explain_workload(problem, catalog, workload, candidates, mine,
                                        allocations, cost, served_text(workload, admitted),
                                        plan_choices=plan_choices)
    if isinstance(workload, TrainingWorkload):
        options = [o for o in training if o.workload == workload.name]
        chosen = next((o for o in options for a in mine if a.offer_key == o.offer.key
                       and a.pricing == o.mode.value and a.instances == o.instances), None)
        return explain_training(workload, options, chosen,
                                candidates.rejections_for(workload.name))
    return explain_workload(problem, catalog, workload, candidates, mine, allocations, cost,
                            plan_choices=plan_choices)


def workload_results(problem: Problem, catalog: Catalog, candidates: CandidateSet,
                     training: tuple[TrainingOption, ...], allocations: tuple[Allocation, ...],
                     commitments: tuple[CommitmentResult, ...],
                     admitted: dict[str, tuple[float, ...]] | None = None, explain: bool = True,
                     ) -> tuple[WorkloadResult, ...]:
    """Per workload: demand, capacity, cost with its share of the pools, and why.
    `admitted`: budget_mode serve_most_value, the rate served per period of each online
    workload."""
    results = []
    admitted = admitted or {}
    periods = problem.periods
    shares = pool_shares(allocations, commitments)
    choices = served_choices(problem, allocations) if explain else None  # once per plan
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
        served = admitted.get(workload.name)
        shed = value = None
        if served is not None and isinstance(workload, OnlineWorkload):
            shed = requests_per_month(workload.rates(periods), periods) - \
                requests_per_month(served, periods)
            value = value_usd_per_month(workload, served, periods)
        reasons = why(problem, catalog, workload, candidates, training, allocations, cost,
                      served, plan_choices=choices) if explain else []
        results.append(WorkloadResult(
            name=workload.name,
            model=workload.model,
            rate_rps=_demand(workload),
            capacity_rps=capacity,
            cost_usd_per_month=cost,
            spot_share=spot / busy if busy else 0.0,
            why=tuple(reasons),
            kind=workload.kind,
            prompt_tokens=tokens.prompt if tokens else 0,
            output_tokens=tokens.output if tokens else 0,
            admitted_rps_by_period=served or (),
            shed_requests_per_month=max(0.0, shed or 0.0),
            value_usd_per_month=value,
        ))
    return tuple(results)


@dataclass(frozen=True)
class Prepared:
    """A problem's candidates (with every rejection) and training options. Candidates do not
    depend on the budget, min_replicas, demand rates, values, priorities or a spot share above
    0, so a re-solve that changes only those may reuse them; quotas, SLOs, quality floors,
    allowed offers and variants change them."""

    candidates: CandidateSet
    training: tuple[TrainingOption, ...]


def prepare(problem: Problem, catalog: Catalog, prune: bool = True) -> Prepared:
    candidates = build_candidates(problem, catalog)
    training, training_rejections = training_options(problem, catalog, prune)
    return Prepared(CandidateSet(candidates.candidates, candidates.rejections + training_rejections),
                    training)


@dataclass(frozen=True)
class Solution:
    """A plan with what produced it: the candidates it chose from (pins applied), the MIP and
    the solver's answer (values in the MIP's column order)."""

    plan: Plan
    formulation: Formulation
    result: SolverResult
    candidates: CandidateSet
    training: tuple[TrainingOption, ...]


def _capacity(candidates: CandidateSet, formulation: Formulation, result: SolverResult
              ) -> dict[str, list[float]]:
    """Requests/s each workload's instances serve in each period of a solution."""
    capacity: dict[str, list[float]] = defaultdict(lambda: [0.0] * formulation.periods)
    for candidate in candidates.candidates:
        for period in range(formulation.periods):
            column = formulation.use_column.get((candidate.index, period))
            if column is not None and result.values:
                count = _value(result, column, candidate.kind == "online")
                capacity[candidate.workload][period] += count * candidate.capacity_rps
    return capacity


def solve(problem: Problem, catalog: Catalog, solver: str = "highs",
          options: SolveOptions | None = None, prune: bool = True, *,
          pins: Sequence[Pin] = (), explain: bool = True) -> Plan:
    """Cheapest plan for `problem`, proven optimal unless the time limit stops the solver."""
    return solve_in_detail(problem, catalog, solver, options, prune, pins=pins,
                           explain=explain).plan


def _pinned(problem: Problem, catalog: Catalog, prepared: Prepared, pins: Sequence[Pin],
            prune: bool) -> tuple[CandidateSet, tuple[TrainingOption, ...]]:
    if not pins:
        return prepared.candidates, prepared.training
    from planner.pinning import pin_candidates, pin_training

    training = prepared.training
    trained = {w.name for w in problem.workloads if isinstance(w, TrainingWorkload)}
    if prune and any(pin.workload in trained for pin in pins):
        training = training_options(problem, catalog, prune=False)[0]  # pin first, then prune
    return pin_candidates(prepared.candidates, pins), pin_training(training, pins)


def _spent_since(options: SolveOptions, since: float, least: float) -> SolveOptions:
    """`options` with the seconds spent since `since` off the time limit, `least` left at
    least."""
    left = options.time_limit_s - (time.perf_counter() - since)
    return replace(options, time_limit_s=max(left, least))


def solve_in_detail(problem: Problem, catalog: Catalog, solver: str = "highs",
                    options: SolveOptions | None = None, prune: bool = True, *,
                    pins: Sequence[Pin] = (), explain: bool = True,
                    prepared: Prepared | None = None) -> Solution:
    """`solve`, keeping the MIP and the solver's answer.

    pins: keep only the configurations of a workload that match (see `planner.pinning`).
    explain: write each workload's why and, without a plan, the diagnosis.
    prepared: the problem's candidates, when already built (see `Prepared` for when they may
    be reused)."""
    warn_if_unstable(problem, catalog)
    options = options or SolveOptions()
    prepared = prepared or prepare(problem, catalog, prune)
    candidates, training = _pinned(problem, catalog, prepared, pins, prune)
    active = surviving(problem, catalog, candidates) if prune else None
    # large fleets: decomposition finds the plan and its bound; the MIP fixes it (decompose.py)
    started = time.perf_counter()
    reduction = reduce_fleet(problem, catalog, candidates, active, training, options) \
        if prune else None
    # what the decomposition used comes off the limit (a plan it found is always completed)
    later = _spent_since(options, started, FIXED_PLAN_SECONDS if reduction else 1.0)
    active = reduction.active if reduction is not None else active
    too_late = reduction is None and time.perf_counter() - started >= options.time_limit_s \
        and instance_columns(problem, candidates, active) >= TOO_LATE_COLUMNS
    if too_late:  # no plan in the limit: the MIP's columns are not built (the rows suffice)
        active = ()
    backend = get_backend(solver)
    formulation = formulate(problem, catalog, candidates.only(active), active, training)
    has_options = candidates.candidates.workloads() | {o.workload for o in training}
    if any(w.name not in has_options for w in problem.workloads):
        # a workload with no feasible configuration: infeasible before any solver runs
        result = SolverResult(Status.infeasible, None, None, (), 0.0, solver)
    elif too_late:
        result = SolverResult(Status.no_solution, None, None, (), time.perf_counter() - started,
                              solver)
    elif reduction is not None:
        result = reduction.solve(formulation, backend.solve, later)
    else:
        if prune:  # settle the committed pools' sizes by a few LPs (`planner.probing`)
            probed = time.perf_counter()
            formulation = bound_pools(formulation, probing_seconds(later.time_limit_s))
            later = _spent_since(later, probed, 1.0)
        result = backend.solve(formulation.model, later)
    admitted = None
    if problem.budget_mode == SERVE_MOST_VALUE and result.status is not Status.error \
            and not any(w.name not in has_options for w in problem.workloads):
        if result.status is Status.infeasible:
            shed = formulate(problem, catalog, candidates, active, training, shed=True)
            shed_result, staged = solve_most_value(problem, shed, backend.solve, options)
            if shed_result.status is not Status.infeasible:
                formulation, result = staged, shed_result
        admitted = admitted_rates(problem, _capacity(candidates, formulation, result),
                                  formulation.periods)
    allocations, commitments = extract(candidates, training, catalog, formulation, result)
    preparation = preparation_cost(problem, catalog, allocations)
    by_pricing, by_provider, components = summarise(allocations, commitments, preparation)
    has_plan = result.status in (Status.optimal, Status.feasible)
    objective = sum(components.values()) if has_plan else None
    bound = result.bound
    if bound is not None and objective is not None:
        bound = min(bound, objective)
    if formulation.served_column:
        bound = objective  # the last stage's bound is on cost at the kept value, not overall

    def solve_problem(relaxed: Problem, seconds: float) -> Plan:
        return solve_in_detail(relaxed, catalog, solver, replace(options, time_limit_s=seconds),
                               prune, pins=pins, explain=False).plan

    def solve_model(model: LinearModel, seconds: float) -> SolverResult:
        return backend.solve(model, replace(options, time_limit_s=seconds))

    diagnosis: tuple[str, ...] = ()
    if not has_plan and explain:
        from planner.relaxations import Resolver  # only a diagnosis re-solves

        # a diagnosis may take as long again as the solve was allowed
        resolver = Resolver(solve_model, solve_problem, options.time_limit_s)
        diagnosis = tuple(diagnose(problem, catalog, candidates, result.status,
                                   training=training, formulation=formulation,
                                   resolver=resolver, message=result.message))
    results = workload_results(problem, catalog, candidates, training, allocations, commitments,
                               admitted if has_plan else None, explain) if has_plan else ()
    values = [r.value_usd_per_month for r in results if r.value_usd_per_month is not None]
    plan = Plan(
        problem=problem.name,
        status=result.status.value,
        solver=result.solver,
        objective_usd_per_month=objective,
        bound_usd_per_month=bound,
        gap=result.gap if has_plan else None,
        allocations=allocations,
        workloads=results,
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
        budget_mode=problem.budget_mode if problem.budget_mode == SERVE_MOST_VALUE else None,
        value_usd_per_month=sum(values) if values and has_plan else None,
    )
    return Solution(plan, formulation, result, candidates, training)
