"""What relaxing each binding limit is worth, and what each SLO, floor and policy costs.

Limits (budget, quotas, spot shares, min_replicas and the demand rows, whose need the SLOs
set through each configuration's capacity) get a first-order figure from LP duals, confirmed
for the largest few by a re-solve with the limit relaxed by one unit:

* LP estimate: the MIP with its discrete choices fixed at the optimum (model variants, variant
  preparation, training runs, admitted workloads) and instance counts and pool sizes relaxed
  to continuous. Fixing every integer column, instance counts included, leaves no free column
  in the budget, quota, demand and replica rows of an online-only plan, so every one of their
  duals is 0 (the case on every shipped example); counts are therefore relaxed, and the figure
  is the marginal value in that LP, labelled as an estimate.
  Relaxing a limit by one unit moves its rows' bounds by the tag's `scale` (times the chosen
  variant's binary when the need is written against it), so the saving is the sum of dual x
  that move; a spot share moves the rows' coefficients instead (d/ds of capacity x (1 - s) and
  of -capacity x s is -capacity), so its saving is -dual x capacity x the change in share.
* re-solved: the problem solved again with the limit relaxed by the unit.

Units: a quota, one more of its largest instance (e.g. +8 accelerators); a spot share, +10
share points; min_replicas, one replica less; demand, 1 request/s less at the peak (the
profile scaled), or 1 % of a batch job's daily requests; the budget (budget_mode
serve_most_value only: it never binds a cost minimum), +1 %.

Policies: each workload's SLOs x1.5, quality floor removed, spot share 100 %, min_replicas 1,
re-solved one at a time (the most expensive workloads first) up to `max_resolves`; the rest
are listed as skipped.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from planner.backends.highs import silent_highs
from planner.budget_mode import SERVE_MOST_VALUE
from planner.candidates import CandidateSet, Reason
from planner.formulation import Formulation, RowTag
from planner.plan import Plan
from planner.problem import BatchWorkload, OnlineWorkload, Problem, Quota, Slo
from planner.relaxations import lift_quota_caps

CONFIRMED_LIMITS = 3
"""How many limits, the most valuable first, are confirmed by a re-solve."""
MAX_RESOLVES = 8
"""Default cap on the policy re-solves (`plan explain --max-resolves`)."""
SPOT_STEP = 0.10
SLO_FACTOR = 1.5
BUDGET_STEP = 0.01
DEMAND_STEP_RPS = 1.0
WORTH_THRESHOLD_USD = 0.5
"""LP estimates below this (dollars a month) count as not binding."""
TOLERANCE = 1e-6

Resolve = Callable[[Problem, bool], Plan]
"""Solve a changed problem; the flag says whether the base problem's candidates still hold."""


@dataclass(frozen=True)
class LimitWorth:
    """What relaxing one limit by one unit is worth."""

    limit: str
    """`quota[0] H100`, `chat max_spot_share`, `chat min_replicas`, `chat demand`, `budget`."""
    change: str
    """The unit of relaxation, e.g. `+8 accelerators (32 -> 40)`."""
    lp_estimate_usd_per_month: float | None
    """Saving per month by the LP's duals (None where the LP says nothing: the budget)."""
    resolved_usd_per_month: float | None = None
    """Saving per month by a re-solve (None: not re-solved)."""
    resolved_admitted_requests_per_month: float | None = None
    """serve_most_value: requests a month admitted beyond the plan's, by the re-solve."""
    resolved_status: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class PolicyCost:
    """What one SLO, floor or policy of one workload costs: the saving when it is relaxed."""

    workload: str
    policy: str
    """`SLO x1.5`, `quality floor removed`, `spot share 100%`, `min_replicas 1`."""
    detail: str
    """What exactly changes, e.g. `TTFT 1500 -> 2250 ms, TPOT 60 -> 90 ms`."""
    saving_usd_per_month: float | None = None
    status: str = "skipped"
    """The re-solve's status, or `skipped` when `max_resolves` was reached."""
    admitted_requests_per_month: float | None = None
    """serve_most_value: requests a month admitted beyond the plan's, by the re-solve."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# -- the LP with the discrete choices fixed -------------------------------------------------

@dataclass(frozen=True)
class LpSolution:
    row_duals: tuple[float, ...]
    values: tuple[float, ...]


def discrete_choices(formulation: Formulation) -> set[int]:
    return {*formulation.variant_column.values(), *formulation.prepare_column.values(),
            *formulation.train_column.values(), *formulation.admit_column.values()}


def lp_with_choices_fixed(formulation: Formulation, values: tuple[float, ...]) -> LpSolution | None:
    """Row duals of the LP: the MIP with its discrete choices fixed at `values` and every other
    column continuous, within the bounds it had before quotas capped them (the quota rows hold
    the same limits). None when HiGHS does not solve it to optimality."""
    import highspy
    import numpy as np

    # a quota also caps its columns' bounds; lifted, the quota rows carry the duals
    quota_rows = [i for i, tag in formulation.row_tags.items() if tag.limit == "quota"]
    model = lift_quota_caps(formulation.model, formulation.uncapped_upper, quota_rows)
    fixed = discrete_choices(formulation)
    lower = np.array(model.lower, dtype=float)
    upper = np.array(model.upper, dtype=float)
    for column in fixed:
        lower[column] = upper[column] = round(values[column])
    inf = highspy.kHighsInf
    highs = silent_highs()
    count = model.variable_count
    highs.addVars(count, lower, np.where(np.isinf(upper), inf, upper))
    highs.changeColsCost(count, np.arange(count, dtype=np.int32), np.array(model.cost, dtype=float))
    starts: list[int] = []
    indices: list[int] = []
    coefficients: list[float] = []
    for row in model.rows:
        starts.append(len(indices))
        indices += row.indices
        coefficients += row.coefficients
    highs.addRows(len(model.rows),
                  np.array([r.lower if r.lower > -math.inf else -inf for r in model.rows]),
                  np.array([r.upper if r.upper < math.inf else inf for r in model.rows]),
                  len(indices), np.array(starts, dtype=np.int32), np.array(indices, dtype=np.int32),
                  np.array(coefficients, dtype=float))
    highs.run()
    if highs.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return None
    solution = highs.getSolution()
    return LpSolution(tuple(solution.row_dual), tuple(solution.col_value))


# -- limits: LP estimates --------------------------------------------------------------------

def _scale(tag: RowTag, values: tuple[float, ...]) -> float:
    return tag.scale * (values[tag.choice] if tag.choice is not None else 1.0)


def _spot_capacity(formulation: Formulation, index: int, share: float, values: tuple[float, ...]
                   ) -> float:
    """Capacity (or instance-hours) a spot_share row counts in a solution: a spot column's
    coefficient is capacity x (1 - share), another's -capacity x share."""
    row = formulation.model.rows[index]
    return sum((c / (1 - share) if c > 0 else -c / share) * values[i]
               for i, c in zip(row.indices, row.coefficients, strict=True))


def quota_unit(formulation: Formulation, rows: list[int]) -> int:
    """Accelerators in the largest instance a quota's rows count (coefficients per instance)."""
    largest = max((c for index in rows for c in formulation.model.rows[index].coefficients),
                  default=1.0)
    return max(1, round(largest))


def quota_name(number: int, quota: Quota) -> str:
    what = " ".join(part for part in (quota.accelerator, quota.provider, quota.region) if part)
    return f"quota[{number}] {what}"


def _demand_step(workload: OnlineWorkload | BatchWorkload) -> str | None:
    """One unit less demand, in words, or None when there is too little to relax."""
    if isinstance(workload, BatchWorkload):
        return (f"-1% of the daily requests ({workload.requests_per_day:,.0f} -> "
                f"{workload.requests_per_day * 0.99:,.0f})")
    peak = workload.peak_rps
    if peak <= DEMAND_STEP_RPS:
        return None
    at_peak = "" if len(set(workload.hourly)) == 1 else " at peak"
    return f"-{DEMAND_STEP_RPS:g} req/s{at_peak} ({peak:g} -> {peak - DEMAND_STEP_RPS:g})"


def limit_estimates(problem: Problem, formulation: Formulation, lp: LpSolution
                    ) -> list[tuple[LimitWorth, tuple[str, str]]]:
    """Every limit with rows in the MIP, with the LP estimate of relaxing it by one unit."""
    out: list[tuple[LimitWorth, tuple[str, str]]] = []
    workloads = {w.name: w for w in problem.workloads}
    duals, values = lp.row_duals, lp.values
    for key, rows in formulation.limit_rows().items():
        kind, subject = key
        tags = [formulation.row_tags[index] for index in rows]
        if kind == "budget":
            if problem.budget_mode != SERVE_MOST_VALUE or problem.budget_usd_per_month is None:
                continue  # a cost minimum never depends on the budget, only its existence does
            budget = problem.budget_usd_per_month
            out.append((LimitWorth("budget", f"+1% (${budget:,.0f} -> ${budget * 1.01:,.0f})",
                                   None), key))
        elif kind == "quota":
            quota = problem.quotas[int(subject)]
            unit = quota_unit(formulation, rows)
            saving = -sum(duals[i] for i in rows) * unit
            out.append((LimitWorth(quota_name(int(subject), quota),
                                   f"+{unit} accelerators ({quota.max_accelerators} -> "
                                   f"{quota.max_accelerators + unit})", saving), key))
        elif kind == "spot_share":
            share = getattr(workloads[subject], "max_spot_share", 1.0)
            step = min(SPOT_STEP, 1 - share)
            saving = -sum(duals[i] * _spot_capacity(formulation, i, share, values) for i in rows) * step
            out.append((LimitWorth(f"{subject} max_spot_share",
                                   f"+{step * 100:.0f} share points ({share:.0%} -> "
                                   f"{share + step:.0%})", saving), key))
        elif kind == "min_replicas":
            workload = workloads[subject]
            assert isinstance(workload, OnlineWorkload)
            saving = sum(duals[i] * _scale(t, values) for i, t in zip(rows, tags, strict=True))
            out.append((LimitWorth(f"{subject} min_replicas",
                                   f"-1 replica ({workload.min_replicas} -> "
                                   f"{workload.min_replicas - 1})", saving), key))
        elif kind == "demand":
            workload = workloads[subject]
            assert isinstance(workload, OnlineWorkload | BatchWorkload)
            step = _demand_step(workload)
            if step is None:
                continue
            rates = workload.rates(formulation.periods) if isinstance(workload, OnlineWorkload) else ()
            saving = 0.0
            for index, tag in zip(rows, tags, strict=True):
                # scaling the profile to a lower peak moves period p by rate_p / peak
                share = rates[tag.period] / max(rates) if rates else 1.0
                saving += duals[index] * _scale(tag, values) * share
            out.append((LimitWorth(f"{subject} demand", step, saving), key))
    return out


def relaxed_by_unit(problem: Problem, key: tuple[str, str], quota_step: int) -> tuple[Problem, bool]:
    """The problem with one limit relaxed by its unit, and whether candidates carry over."""
    kind, subject = key
    if kind == "budget":
        budget = problem.budget_usd_per_month or 0.0
        return problem.model_copy(update={"budget_usd_per_month": budget * (1 + BUDGET_STEP)}), True
    if kind == "quota":
        quotas = tuple(q.model_copy(update={"max_accelerators": q.max_accelerators + quota_step})
                       if str(n) == subject else q for n, q in enumerate(problem.quotas))
        return problem.model_copy(update={"quotas": quotas}), False
    workload = next(w for w in problem.workloads if w.name == subject)
    if kind == "spot_share":
        share = getattr(workload, "max_spot_share", 1.0)
        return with_workload(problem, subject, max_spot_share=min(1.0, share + SPOT_STEP)), True
    if kind == "min_replicas":
        assert isinstance(workload, OnlineWorkload)
        return with_workload(problem, subject, min_replicas=workload.min_replicas - 1), True
    if isinstance(workload, BatchWorkload):
        return with_workload(problem, subject,
                             requests_per_day=workload.requests_per_day * (1 - 0.01)), True
    assert isinstance(workload, OnlineWorkload)
    lower = scaled_demand(workload, workload.peak_rps - DEMAND_STEP_RPS)
    return with_workload(problem, subject, **lower), True


def scaled_demand(workload: OnlineWorkload, peak: float) -> dict[str, Any]:
    """The fields that give the workload the same demand shape with this peak."""
    if workload.profile_rps is not None:
        factor = peak / workload.peak_rps
        return {"profile_rps": tuple(rate * factor for rate in workload.profile_rps)}
    return {"rate_rps": peak}


def with_workload(problem: Problem, name: str, **update: Any) -> Problem:
    workloads = tuple(w.model_copy(update=update) if w.name == name else w for w in problem.workloads)
    return problem.model_copy(update={"workloads": workloads})


def _shed(plan: Plan) -> float:
    """Requests a month a serve_most_value plan sheds (0 otherwise)."""
    return sum(w.shed_requests_per_month for w in plan.workloads)


def _gains(problem: Problem, base: Plan, changed: Plan) -> tuple[float | None, float | None]:
    """What a re-solve saves a month, and (serve_most_value) how many more requests a month it
    admits; None where the re-solve has no plan."""
    if changed.objective_usd_per_month is None or base.objective_usd_per_month is None:
        return None, None
    admitted = _shed(base) - _shed(changed) if problem.budget_mode == SERVE_MOST_VALUE else None
    return base.objective_usd_per_month - changed.objective_usd_per_month, admitted


def binding_limits(problem: Problem, formulation: Formulation, values: tuple[float, ...],
                   base: Plan, resolve: Resolve,
                   progress: Callable[[str], None] = lambda message: None) -> list[LimitWorth]:
    """Limits that bind, the most valuable first: LP estimates, and re-solves for the first
    `CONFIRMED_LIMITS`."""
    lp = lp_with_choices_fixed(formulation, values)
    if lp is None:
        return []
    rows = formulation.limit_rows()
    found = [(worth, key) for worth, key in limit_estimates(problem, formulation, lp)
             if worth.lp_estimate_usd_per_month is None
             or worth.lp_estimate_usd_per_month > WORTH_THRESHOLD_USD]
    found.sort(key=lambda item: (item[0].lp_estimate_usd_per_month is not None,
                                 -(item[0].lp_estimate_usd_per_month or 0.0), item[0].limit))
    out = []
    for rank, (worth, key) in enumerate(found):
        if rank >= CONFIRMED_LIMITS or base.objective_usd_per_month is None:
            out.append(worth)
            continue
        unit = quota_unit(formulation, rows[key]) if key[0] == "quota" else 0
        changed, reuse = relaxed_by_unit(problem, key, unit)
        progress(f"re-solving with {worth.limit} {worth.change} ...")
        plan = resolve(changed, reuse)
        saving, admitted = _gains(problem, base, plan)
        out.append(LimitWorth(worth.limit, worth.change, worth.lp_estimate_usd_per_month, saving,
                              admitted, plan.status))
    return out


# -- policies --------------------------------------------------------------------------------

def _slo_text(slo: Slo, factor: float) -> str:
    return ", ".join(f"{name.removesuffix('_ms').upper()} {value:g} -> {value * factor:g} ms"
                     for name, value in slo.model_dump().items() if value is not None)


def policy_relaxations(problem: Problem, order: list[str]
                       ) -> list[tuple[str, str, str, Problem, bool]]:
    """(workload, policy, detail, relaxed problem, candidates carry over) for every policy
    that can be relaxed, workloads in `order`. The policy names are keys of `HELD_BACK_BY`."""
    workloads = {w.name: w for w in problem.workloads}
    out = []
    for name in order:
        workload = workloads[name]
        if isinstance(workload, OnlineWorkload) and any(
                v is not None for v in workload.slo.model_dump().values()):
            slo = Slo(**{k: v * SLO_FACTOR if v is not None else None
                         for k, v in workload.slo.model_dump().items()})
            out.append((name, f"SLO x{SLO_FACTOR:g}", _slo_text(workload.slo, SLO_FACTOR),
                        with_workload(problem, name, slo=slo), False))
        floors = {k: getattr(workload, k) for k in ("min_quality", "min_quality_score")
                  if getattr(workload, k, None) is not None}
        if floors:
            detail = ", ".join(f"{k} {v:g} removed" for k, v in floors.items())
            out.append((name, "quality floor removed", detail,
                        with_workload(problem, name, **dict.fromkeys(floors)), False))
        share = getattr(workload, "max_spot_share", 1.0)
        if isinstance(workload, OnlineWorkload | BatchWorkload) and share < 1:
            out.append((name, "spot share 100%", f"max_spot_share {share:.0%} -> 100%",
                        with_workload(problem, name, max_spot_share=1.0), share > 0))
        if isinstance(workload, OnlineWorkload) and workload.min_replicas > 1:
            out.append((name, "min_replicas 1", f"min_replicas {workload.min_replicas} -> 1",
                        with_workload(problem, name, min_replicas=1), True))
    return out


HELD_BACK_BY = {
    f"SLO x{SLO_FACTOR:g}": (Reason.ttft, Reason.tpot, Reason.e2e),
    "quality floor removed": (Reason.quality,),
    "spot share 100%": (Reason.spot_not_allowed,),
}
"""Rejection reasons through which a policy keeps configurations out of the candidates."""
UNCHANGED = "unchanged"
"""Status of a policy whose relaxation leaves the MIP as it is (no re-solve needed)."""


def leaves_mip_unchanged(policy: str, workload: str, candidates: CandidateSet,
                         formulation: Formulation) -> bool:
    """Relaxing `policy` changes neither the workload's candidates (nothing was rejected
    through it) nor a row of the MIP, so the optimum stays the same."""
    reasons = HELD_BACK_BY.get(policy)
    if reasons is None or set(reasons) & candidates.rejection_reasons(workload):
        return False
    return policy != "spot share 100%" or ("spot_share", workload) not in formulation.limit_rows()


def policy_costs(problem: Problem, base: Plan, resolve: Resolve, max_resolves: int,
                 candidates: CandidateSet, formulation: Formulation,
                 progress: Callable[[str], None] = lambda message: None) -> list[PolicyCost]:
    """The saving of relaxing each policy alone, the costliest workloads first. A policy that
    held nothing back costs nothing and takes no re-solve."""
    costs = {w.name: w.cost_usd_per_month for w in base.workloads}
    order = sorted((w.name for w in problem.workloads), key=lambda n: (-costs.get(n, 0.0), n))
    out = []
    resolves = 0
    for name, policy, detail, changed, reuse in policy_relaxations(problem, order):
        if leaves_mip_unchanged(policy, name, candidates, formulation):
            out.append(PolicyCost(name, policy, detail, 0.0, UNCHANGED))
            continue
        if resolves >= max_resolves or base.objective_usd_per_month is None:
            out.append(PolicyCost(name, policy, detail))
            continue
        resolves += 1
        progress(f"re-solving with {name} {policy} ...")
        plan = resolve(changed, reuse)
        saving, admitted = _gains(problem, base, plan)
        out.append(PolicyCost(name, policy, detail, saving, plan.status, admitted))
    return sorted(out, key=lambda p: (p.saving_usd_per_month is None,
                                      -(p.saving_usd_per_month or 0.0), p.workload, p.policy))

