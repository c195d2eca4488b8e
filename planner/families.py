"""Model choice within a family: why a workload with `alternatives` runs the model it does.

A serving workload may name other models of its family (`alternatives`); the MIP picks one
(model, variant) per workload (`planner.formulation`). The explanation says which model the
plan serves and, for each other model it could have run, what that would cost (its one-time
distillation included) or what ruled it out: a smaller sibling below the quality floor is
costed as if the floor were lifted, so the floor's price is stated. Every figure is recomputed
from candidates, the catalog and the plan.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from planner.candidates import Candidate, CandidateSet, build_candidates, quality_of
from planner.catalog import Catalog, PricingMode
from planner.costing import standalone_cost
from planner.explain import _delta, money
from planner.formulation import one_time_usd_per_month
from planner.plan import Allocation
from planner.problem import Problem, ServingWorkload


def served_choices(problem: Problem, allocations: Iterable[Allocation]
                   ) -> frozenset[tuple[str, str]]:
    """The (model, variant) choices a plan's serving allocations run. A whole plan's
    explanation computes them once and passes them down (`plan_choices`)."""
    models = {w.name: w.model for w in problem.workloads}
    return frozenset((a.served_model(models[a.workload]), a.variant) for a in allocations
                     if a.kind != "training" and a.workload in models)


def extra_one_time(problem: Problem, catalog: Catalog, served: frozenset[tuple[str, str]],
                   choice: tuple[str, str]) -> float:
    """What serving `choice` too would add to the one-time runs of a plan serving `served`,
    $/month."""
    return (one_time_usd_per_month(problem, catalog, served | {choice})
            - one_time_usd_per_month(problem, catalog, served))


def one_time_text(problem: Problem, catalog: Catalog, served: frozenset[tuple[str, str]],
                  choice: tuple[str, str]) -> str:
    """The one-time runs `choice` needs that a plan serving `served` does not make already:
    `distillation (4,380 GPU-h) over 12 months`, `int8 preparation over 12 months` or both."""
    model, variant = choice
    runs = []
    hours = catalog.models[model].distillation_gpu_hours
    if hours > 0 and model not in {m for m, _ in served}:
        runs.append(f"distillation ({hours:,.0f} GPU-h)")
    if catalog.variants[variant].preparation_gpu_hours_per_b_params > 0 and choice not in served:
        runs.append(f"{variant} preparation")
    return " and ".join(runs) + f" over {problem.horizon_months} months"


def one_time_reason(problem: Problem, catalog: Catalog, workload: ServingWorkload,
                    candidate: Candidate, cost: float, served: frozenset[tuple[str, str]],
                    plan_cost: float) -> str | None:
    """Why a candidate cheaper alone than the plan lost, when its one-time runs (a model's
    distillation, a variant's preparation) not already in the plan (which serves `served`,
    see `served_choices`) make up the difference."""
    extra = extra_one_time(problem, catalog, served, candidate.config.choice)
    if extra <= 0 or cost + extra < plan_cost - 0.5:
        return None
    return (f"its one-time {one_time_text(problem, catalog, served, candidate.config.choice)}"
            f" adds "
            f"{money(extra)}/month")


def model_choice_lines(problem: Problem, catalog: Catalog, workload: ServingWorkload,
                       candidates: CandidateSet, mine: list[Allocation],
                       choices: frozenset[tuple[str, str]], plan_cost: float) -> list[str]:
    """For a workload with alternatives: the model served, and each other model's best cost
    or what ruled it out (`choices`: what the plan serves, `served_choices`)."""
    if not workload.alternatives or not mine:
        return []
    served = {a.served_model(workload.model) for a in mine}
    quality = max(a.quality for a in mine)
    if served == {workload.model}:
        lines = [f"model: {workload.model}, the workload's own (quality {quality:.3f} of its "
                 f"bf16{floor_text(workload)})"]
    else:
        lines = [f"model: {', '.join(sorted(served))} in place of {workload.model} (quality "
                 f"{quality:.3f} of {workload.model} at bf16{floor_text(workload)})"]
    options = candidates.for_workload(workload.name)
    for model in workload.models:
        if model in served:
            continue
        own = [c for c in options if c.config.model == model
               and not (c.mode is PricingMode.spot and workload.max_spot_share < 1)]
        if own:
            lines.append(_runner_up(problem, catalog, workload, own, choices, plan_cost))
        else:
            lines.append(_ruled_out(problem, catalog, workload, candidates, model, plan_cost))
    return lines


def floor_text(workload: ServingWorkload) -> str:
    floors = []
    if workload.min_quality is not None:
        floors.append(f"floor {workload.min_quality:g}")
    if workload.min_quality_score is not None:
        floors.append(f"score floor {workload.min_quality_score:g}")
    return "; " + ", ".join(floors) if floors else ""


def _runner_up(problem: Problem, catalog: Catalog, workload: ServingWorkload,
               own: list[Candidate], plan_choices: frozenset[tuple[str, str]],
               plan_cost: float) -> str:
    """The model's cheapest configuration alone, its one-time runs added to those of a plan
    serving `plan_choices`."""
    extra = {choice: extra_one_time(problem, catalog, plan_choices, choice)
             for choice in {c.config.choice for c in own}}
    cost, best = min(((standalone_cost(problem, workload, c) + extra[c.config.choice], c)
                      for c in own), key=lambda item: (item[0], item[1].index))
    config = best.config
    runs = "" if extra[config.choice] <= 0 else (
        f", {money(extra[config.choice])}/month of it one-time "
        f"{one_time_text(problem, catalog, plan_choices, config.choice)}")
    return (f"{_model_role(workload, config.model)}: best {config.variant} on "
            f"{config.offer.accelerator}x{config.offer.count} {config.offer.key} "
            f"{best.mode.value} at {money(cost)}/month{runs} ({_delta(cost - plan_cost)}); "
            f"quality {best.quality:.3f}")


def _ruled_out(problem: Problem, catalog: Catalog, workload: ServingWorkload,
               candidates: CandidateSet, model: str, plan_cost: float) -> str:
    """Why no configuration of `model` is feasible: the quality floor (with what the model
    would cost without it), or how many of its configurations each limit rejected."""
    variants = [v for v in catalog.variants.values()
                if workload.variants is None or v.name in workload.variants]
    qualities = [(*quality_of(workload, catalog, v, model), v.name) for v in variants]
    role = _model_role(workload, model)
    if qualities and all(issue is not None for _, issue, _ in qualities):
        _, issue, variant = max(qualities, key=lambda item: item[0])
        cost = _cost_without_floors(problem, catalog, workload, model)
        priced = ("" if cost is None else
                  f"; it would cost {money(cost)}/month alone ({_delta(cost - plan_cost)})")
        return f"{role} ruled out by the quality floor: at best {issue} ({variant}){priced}"
    counts = Counter(r.reason.value for r in candidates.rejections_for(workload.name)
                     if r.config.model == model)
    summary = ", ".join(f"{reason} {count}" for reason, count in
                        sorted(counts.items(), key=lambda item: (-item[1], item[0])))
    return f"{role} ruled out: no configuration meets the workload's limits ({summary})"


def _cost_without_floors(problem: Problem, catalog: Catalog, workload: ServingWorkload,
                         model: str) -> float | None:
    """The cheapest configuration of `model` alone with the workload's quality floors lifted."""
    relaxed = workload.model_copy(update={
        "min_quality": None, "min_quality_score": None,
        "alternatives": () if model == workload.model else (model,)})
    alone = problem.model_copy(update={"workloads": (relaxed,)})
    options = [c for c in build_candidates(alone, catalog).for_workload(workload.name)
               if c.config.model == model
               and not (c.mode is PricingMode.spot and workload.max_spot_share < 1)]
    if not options:
        return None
    return min(standalone_cost(alone, relaxed, c)
               + one_time_usd_per_month(alone, catalog, {c.config.choice}) for c in options)


def _model_role(workload: ServingWorkload, model: str) -> str:
    return f"{model} (the workload's own model)" if model == workload.model else model



