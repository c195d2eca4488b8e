"""Audit: what was spent (a FOCUS export), what the demand really was (a request log), what the
optimal plan for that demand costs, and where the gap comes from.

Money is normalised to $/month: amounts over the billing file's charge periods are scaled by
730 h / (hours from the earliest charge period's start to the latest one's end).

Findings, each with $/month, the action and the problem-file change that captures it:

- `unused_commitment`: rows with CommitmentDiscountStatus Unused (their amortised cost);
- `over_provisioned`: instances beyond what the busiest hour of the log needs on that offer
  (the performance model's capacity per instance at the utilisation cap, and min_replicas),
  hour by hour; the excess comes off on-demand first, then spot;
- `spot_eligible`: on-demand instance-hours of a workload with max_spot_share > 0 that spot
  could have run (up to the share of its remaining instances, less spot already used), at the
  catalog's spot price;
- `reserve_baseline`: the on-demand instances left running in every hour of the period, at the
  catalog's cheapest reserved price whose term fits the horizon;
- `slo_violations`: requests that missed the workload's SLO (no money: the plan meets it);
- `repeated_requests`: requests whose prompt hash repeats within the cache window, as a share
  of the optimal plan's cost for the workload (a cache removes that demand).

The first four are computed in that order on what the previous ones leave, so they never count
the same instance-hour twice, and make up the gap to the optimal plan (with the rest from
hardware, variant and hour-by-hour choices); the last two are beyond the optimal plan.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from typing import Any

from planner.candidates import build_candidates, instances_needed
from planner.catalog import Catalog, Offer, PricingMode
from planner.errors import InputError, Issue
from planner.focus import Billing, BillingRow, Pricing, RowKind
from planner.plan import Allocation, Plan
from planner.plan import _rounded as rounded  # the plan's JSON rounding
from planner.problem import OnlineWorkload, Problem, TrainingWorkload
from planner.requestlog import DEFAULT_WORKLOAD, SECONDS_PER_HOUR, LatencyLimits, LogSummary, WorkloadStats
from planner.schema import HOURS_PER_MONTH

SCHEMA_VERSION = 1
UNATTRIBUTED = "(unattributed)"
TERM_MONTHS = {PricingMode.reserved_1y: 12, PricingMode.reserved_3y: 36}
WORKLOAD_TAG_KEYS = ("workload", "plan-workload", "plan_workload", "service", "app", "application")
EPSILON = 1e-9


@dataclass(frozen=True)
class Finding:
    kind: str
    title: str
    savings_usd_per_month: float
    in_gap: bool
    """Part of the gap to the optimal plan (False: beyond it, or no money)."""
    detail: str
    action: str
    problem_change: str
    workload: str | None = None
    offer: str | None = None


@dataclass(frozen=True)
class PlanSummary:
    status: str
    objective_usd_per_month: float | None
    demand: str
    """How observed demand went into the problem: hourly profiles, or their peaks."""
    allocations: tuple[dict[str, Any], ...] = ()
    cost_by_workload: dict[str, float] = field(default_factory=dict)
    diagnosis: tuple[str, ...] = ()


@dataclass(frozen=True)
class AuditResult:
    problem: str
    billing_file: str
    requests_file: str | None
    period_start: str
    period_end: str
    period_hours: float
    monthly_factor: float
    billed_total_usd: float
    rows: dict[str, int]
    billed_by_kind_usd: dict[str, float]
    actual_usd_per_month: float
    """Accelerator spend (mapped and unmapped rows) per month."""
    by_workload: dict[str, float]
    by_offer: dict[str, float]
    by_pricing: dict[str, float]
    other_by_category: dict[str, float]
    unmapped: tuple[dict[str, Any], ...]
    demand: tuple[dict[str, Any], ...]
    plan: PlanSummary
    gap_usd_per_month: float | None
    explained_usd_per_month: float
    findings: tuple[Finding, ...]
    notes: tuple[str, ...]
    schema_version: int = SCHEMA_VERSION

    def to_dict(self) -> dict[str, Any]:
        return rounded(asdict(self))

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2) + "\n"


# --- request log <-> problem ---------------------------------------------------------------


def latency_limits(problem: Problem) -> dict[str, LatencyLimits]:
    """SLOs keyed by every name a log may use for a workload: its name, its model (when one
    online workload serves it) and, with one online workload, the log's default name."""
    online = problem.online()
    limits: dict[str, LatencyLimits] = {}
    models = [w.model for w in online]
    for workload in online:
        limit = LatencyLimits(workload.slo.ttft_ms, workload.slo.tpot_ms, workload.slo.e2e_ms)
        limits[workload.name] = limit
        if models.count(workload.model) == 1:
            limits.setdefault(workload.model, limit)
    if len(online) == 1:
        limits[DEFAULT_WORKLOAD] = limits[online[0].name]
    return limits


def match_log(problem: Problem, log: LogSummary) -> tuple[dict[str, WorkloadStats], list[str]]:
    """The log's statistics per problem workload, and notes on what did not match.

    Raises:
        InputError: the log names no workloads and the problem has several online ones.
    """
    online = problem.online()
    by_model = {w.model: w.name for w in online if [o.model for o in online].count(w.model) == 1}
    names = {w.name for w in online}
    if not log.has_workload_column and len(online) > 1:
        raise InputError([Issue(log.file, 1, None, "workload",
                                f"the log has no workload or model column, and the problem has "
                                f"{len(online)} online workloads ({', '.join(sorted(names))}); "
                                f"add a workload column")])
    matched: dict[str, WorkloadStats] = {}
    notes = []
    for log_name, stats in sorted(log.workloads.items()):
        target = log_name if log_name in names else by_model.get(log_name)
        if target is None and log_name == DEFAULT_WORKLOAD and len(online) == 1:
            target = online[0].name
        if target is None:
            notes.append(f"{stats.requests:,} requests of '{log_name}' match no online workload "
                         f"of the problem (by name or model); left out")
            continue
        if target in matched:
            matched[target].merge(stats)
        else:
            matched[target] = stats
    for workload in online:
        if workload.name not in matched:
            notes.append(f"no requests of workload '{workload.name}' in the log; its demand in the "
                         f"problem is kept")
    return matched, notes


def observed_problem(problem: Problem, observed: dict[str, WorkloadStats]) -> Problem:
    """A copy of the problem whose online workloads carry the observed hourly profiles (168
    values from a week of log on, else 24) instead of their rate or shape."""
    data = problem.model_dump()
    for workload in data["workloads"]:
        stats = observed.get(workload["name"])
        if stats is None or workload.get("kind", "online") != "online":
            continue
        profile = stats.profile(stats.default_periods())
        workload.update(rate_rps=None, shape=None, profile_rps=list(profile))
    return Problem.model_validate(data)


def solve_observed(problem: Problem, catalog: Catalog, observed: dict[str, WorkloadStats],
                   solver: str) -> tuple[Plan, str]:
    """The optimal plan for the observed demand (hourly profiles), and how the demand went in."""
    from planner.solve import solve

    if not observed:
        return solve(problem, catalog, solver), "the problem's own demand (no requests observed)"
    plan = solve(observed_problem(problem, observed), catalog, solver)
    return plan, f"observed hourly profiles ({', '.join(sorted(observed))})"


# --- billing <-> problem --------------------------------------------------------------------


def attribute(row: BillingRow, workloads: list[str]) -> str | None:
    """The workload a billing row serves: a tag whose value is a workload name (a `workload`
    tag first), else a workload name inside the resource name or id; the only workload when
    the problem has one."""
    if len(workloads) == 1:
        return workloads[0]
    lowered = {name.lower(): name for name in workloads}
    tags = sorted(row.tags.items(), key=lambda kv: (kv[0].lower() not in WORKLOAD_TAG_KEYS, kv[0]))
    for _, value in tags:
        if value.lower() in lowered:
            return lowered[value.lower()]
    resource = row.resource.lower()
    for name in sorted(workloads, key=len, reverse=True):
        if name.lower() in resource:
            return name
    return None


@dataclass
class Usage:
    """Instances running per hour of the billing period, by pricing, for one workload on one
    offer, and the rates actually paid."""

    hours: int
    on_demand: list[float]
    spot: list[float]
    committed: list[float]
    cost: dict[Pricing, float] = field(default_factory=lambda: defaultdict(float))
    instance_hours: dict[Pricing, float] = field(default_factory=lambda: defaultdict(float))

    @classmethod
    def empty(cls, hours: int) -> Usage:
        return cls(hours, [0.0] * hours, [0.0] * hours, [0.0] * hours)

    def series(self, pricing: Pricing) -> list[float] | None:
        return {Pricing.on_demand: self.on_demand, Pricing.spot: self.spot,
                Pricing.committed: self.committed}.get(pricing)

    def add(self, row: BillingRow, first_hour: int) -> None:
        if row.commitment_unused:  # idle commitments are a finding of their own
            return
        self.cost[row.pricing] += row.cost_usd
        self.instance_hours[row.pricing] += row.instance_hours
        series = self.series(row.pricing)
        if series is None or row.instance_hours == 0:
            return
        length = row.end_s - row.start_s
        if length <= 0:
            index = math.floor(row.start_s / SECONDS_PER_HOUR) - first_hour
            if 0 <= index < self.hours:
                series[index] += row.instance_hours
            return
        start = math.floor(row.start_s / SECONDS_PER_HOUR)
        for hour in range(start, math.ceil(row.end_s / SECONDS_PER_HOUR)):
            overlap = (min(row.end_s, (hour + 1) * SECONDS_PER_HOUR)
                       - max(row.start_s, hour * SECONDS_PER_HOUR))
            if overlap > 0 and 0 <= hour - first_hour < self.hours:
                series[hour - first_hour] += row.instance_hours * overlap / length

    def rate(self, pricing: Pricing) -> float | None:
        """What one instance-hour cost on average."""
        hours = self.instance_hours.get(pricing, 0.0)
        return self.cost[pricing] / hours if hours > EPSILON else None


def usage_by_group(billing: Billing, owner: dict[int, str | None]
                   ) -> dict[tuple[str | None, str], Usage]:
    first_hour = math.floor(billing.start_s / SECONDS_PER_HOUR)
    hours = max(1, math.ceil(billing.end_s / SECONDS_PER_HOUR) - first_hour)
    groups: dict[tuple[str | None, str], Usage] = {}
    for row in billing.of_kind(RowKind.accelerator):
        assert row.offer_key is not None
        key = (owner[row.line], row.offer_key)
        groups.setdefault(key, Usage.empty(hours)).add(row, first_hour)
    return groups


# --- findings ----------------------------------------------------------------------------------


@dataclass
class Context:
    problem: Problem
    catalog: Catalog
    billing: Billing
    observed: dict[str, WorkloadStats]
    capacity: dict[tuple[str, str], tuple[float, int]]
    """(workload, offer key) -> (req/s per instance, replicas per instance)."""
    offers: dict[str, Offer]
    notes: list[str]

    def monthly(self, amount_over_period: float) -> float:
        return amount_over_period * self.billing.monthly_factor


def capacities(problem: Problem, catalog: Catalog) -> dict[tuple[str, str], tuple[float, int]]:
    """Best capacity per instance of each workload on each offer (the performance model at the
    utilisation cap; a non-spot candidate, so no interruption allowance)."""
    best: dict[tuple[str, str], tuple[float, int]] = {}
    for candidate in build_candidates(problem, catalog).candidates:
        if candidate.mode is PricingMode.spot:
            continue
        key = (candidate.workload, candidate.config.offer.key)
        value = (candidate.capacity_rps, candidate.config.replicas_per_instance)
        if key not in best or value[0] > best[key][0]:
            best[key] = value
    return best


def unused_commitments(context: Context) -> list[Finding]:
    grouped: dict[str, list[BillingRow]] = defaultdict(list)
    for row in context.billing.rows:
        if row.commitment_unused:
            grouped[row.commitment or row.label].append(row)
    findings = []
    for name, rows in sorted(grouped.items()):
        cost = math.fsum(row.cost_usd for row in rows)
        offer = next((row.offer_key for row in rows if row.offer_key), None)
        hours = math.fsum(row.instance_hours for row in rows)
        instances = hours / context.billing.span_hours
        change = (f"commitments: [{{offer: {offer}, pricing: reserved_1y (or reserved_3y, per its "
                  f"term), instances: {max(1, round(instances))}}}] so the plan fills it first"
                  if offer else "commitments: list what this commitment covers so the plan fills it first")
        findings.append(Finding(
            kind="unused_commitment", title=f"unused commitment {name}",
            savings_usd_per_month=context.monthly(cost),
            in_gap=any(row.kind is not RowKind.other for row in rows),
            detail=f"{len(rows)} rows (lines {_lines(rows)}), ${cost:,.2f} over the period"
                   + (f", {hours:,.1f} unused instance-hours (~{instances:.2f} instances)"
                      if hours else ""),
            action="move on-demand work of the same kind onto it, or exchange / sell it",
            problem_change=change, offer=offer))
    return findings


def _lines(rows: list[BillingRow]) -> str:
    lines = [str(row.line) for row in rows[:5]]
    return ", ".join(lines) + (", ..." if len(rows) > 5 else "")


def _spot_share(problem: Problem, workload: str | None) -> float:
    """The workload's max_spot_share; unattributed usage gets the smallest of any workload."""
    shares = {w.name: (float(w.allow_spot) if isinstance(w, TrainingWorkload) else w.max_spot_share)
              for w in problem.workloads}
    if workload is None:
        return min(shares.values())
    return shares[workload]


def _excess(context: Context, workload: str, groups: dict[str, Usage]) -> dict[str, list[float]] | None:
    """Instances beyond the busiest hour's need, per offer and hour; None when unknown."""
    spec = next(w for w in context.problem.workloads if w.name == workload)
    stats = context.observed.get(workload)
    if stats is None or not isinstance(spec, OnlineWorkload):
        return None
    peak = stats.busiest_hour_rps()
    needed = {}
    for offer_key in groups:
        capacity = context.capacity.get((workload, offer_key))
        if capacity is None:
            context.notes.append(f"{workload} on {offer_key}: the performance model finds no "
                                 f"configuration meeting its SLO; over-provisioning not checked")
            return None
        needed[offer_key] = instances_needed(peak, capacity[0], spec.min_replicas, capacity[1])
    hours = next(iter(groups.values())).hours
    excess = {key: [0.0] * hours for key in groups}
    for hour in range(hours):
        running = {key: u.on_demand[hour] + u.spot[hour] + u.committed[hour] for key, u in groups.items()}
        load = sum(running[key] / needed[key] for key in groups)
        if load > 1 + EPSILON:
            for key in groups:
                excess[key][hour] = running[key] * (1 - 1 / load)
    return excess


def usage_findings(context: Context, groups: dict[tuple[str | None, str], Usage]) -> list[Finding]:
    """Over-provisioning, then spot, then reservations, each on what the previous one left."""
    findings: list[Finding] = []
    by_workload: dict[str | None, dict[str, Usage]] = defaultdict(dict)
    for (workload, offer_key), usage in groups.items():
        by_workload[workload][offer_key] = usage
    for workload, offers in sorted(by_workload.items(), key=lambda kv: kv[0] or ""):
        excess = _excess(context, workload, offers) if workload else None
        for offer_key, usage in sorted(offers.items()):
            on_demand = list(usage.on_demand)
            spot = list(usage.spot)
            removed = excess[offer_key] if excess else [0.0] * usage.hours
            findings += _over_provisioned(context, workload, offer_key, usage, removed, on_demand, spot)
            findings += _spot_eligible(context, workload, offer_key, usage, on_demand, spot)
            findings += _reserve_baseline(context, workload, offer_key, usage, on_demand)
    return findings


def _over_provisioned(context: Context, workload: str | None, offer_key: str, usage: Usage,
                      removed: list[float], on_demand: list[float], spot: list[float]) -> list[Finding]:
    """Takes the excess off `on_demand` and `spot` in place."""
    on_demand_rate, spot_rate = usage.rate(Pricing.on_demand) or 0.0, usage.rate(Pricing.spot) or 0.0
    saved = 0.0
    instance_hours = 0.0
    for hour, extra in enumerate(removed):
        from_on_demand = min(on_demand[hour], extra)
        from_spot = min(spot[hour], extra - from_on_demand)
        on_demand[hour] -= from_on_demand
        spot[hour] -= from_spot
        saved += from_on_demand * on_demand_rate + from_spot * spot_rate
        instance_hours += from_on_demand + from_spot
    if saved <= EPSILON or workload is None:
        return []
    stats = context.observed[workload]
    capacity, _ = context.capacity[(workload, offer_key)]
    running = max(a + b + c for a, b, c in zip(usage.on_demand, usage.spot, usage.committed, strict=True))
    return [Finding(
        kind="over_provisioned", title=f"{workload}: more instances than the busiest hour needs",
        savings_usd_per_month=context.monthly(saved), in_gap=True,
        detail=f"busiest hour {stats.busiest_hour_rps():.3g} req/s; {capacity:.3g} req/s per "
               f"instance; up to {running:.3g} instances ran; {instance_hours:,.1f} excess "
               f"instance-hours over the period",
        action=f"scale {workload} on {offer_key} to the demand (autoscale, or fewer replicas)",
        problem_change=f"workloads.{workload}.profile_rps: the observed profile (`plan profile`), so "
                       f"the plan sizes replicas to it; keep min_replicas for availability only",
        workload=workload, offer=offer_key)]


def _spot_eligible(context: Context, workload: str | None, offer_key: str, usage: Usage,
                   on_demand: list[float], spot: list[float]) -> list[Finding]:
    """Moves the spot-eligible share off `on_demand` in place."""
    share = _spot_share(context.problem, workload)
    offer = context.offers[offer_key]
    spot_price = offer.prices_usd_per_hour.spot
    on_demand_rate = usage.rate(Pricing.on_demand)
    if share <= 0 or spot_price is None or on_demand_rate is None or on_demand_rate <= spot_price:
        return []
    moved = 0.0
    for hour in range(usage.hours):
        running = on_demand[hour] + spot[hour] + usage.committed[hour]
        movable = min(on_demand[hour], max(0.0, share * running - spot[hour]))
        on_demand[hour] -= movable
        moved += movable
    if moved <= EPSILON:
        return []
    saved = moved * (on_demand_rate - spot_price)
    allowed = PricingMode.spot in context.problem.allow.pricing
    who = workload or "unattributed usage (smallest max_spot_share of the problem)"
    change = ("none: the problem allows spot; deploy the plan's spot share" if allowed
              else "allow.pricing: add spot")
    return [Finding(
        kind="spot_eligible", title=f"{workload or UNATTRIBUTED}: spot-eligible work ran on-demand",
        savings_usd_per_month=context.monthly(saved), in_gap=True,
        detail=f"{who}: max_spot_share {share:g}; {moved:,.1f} instance-hours at "
               f"${on_demand_rate:.4g}/h on-demand vs ${spot_price:.4g}/h spot",
        action=f"run up to {share:.0%} of {workload or 'this usage'} on {offer_key} as spot",
        problem_change=change, workload=workload, offer=offer_key)]


def _reserved_choice(problem: Problem, offer: Offer) -> tuple[PricingMode, float] | None:
    """The cheapest reserved price whose term fits the horizon (1y when none does)."""
    prices = [(mode, price) for mode in TERM_MONTHS
              if (price := offer.prices_usd_per_hour.get(mode)) is not None
              and TERM_MONTHS[mode] <= max(problem.horizon_months, 12)]
    return min(prices, key=lambda mp: mp[1]) if prices else None


def _reserve_baseline(context: Context, workload: str | None, offer_key: str, usage: Usage,
                      on_demand: list[float]) -> list[Finding]:
    on_demand_rate = usage.rate(Pricing.on_demand)
    baseline = math.floor(min(on_demand) + EPSILON) if on_demand else 0
    choice = _reserved_choice(context.problem, context.offers[offer_key])
    if baseline < 1 or on_demand_rate is None or choice is None or on_demand_rate <= choice[1]:
        return []
    mode, price = choice
    saved = baseline * HOURS_PER_MONTH * (on_demand_rate - price)
    if mode in context.problem.allow.pricing:
        change = (f"after buying: commitments: [{{offer: {offer_key}, pricing: {mode.value}, "
                  f"instances: {baseline}}}]")
    else:
        change = f"allow.pricing: add {mode.value}"
    return [Finding(
        kind="reserve_baseline", title=f"{workload or UNATTRIBUTED}: steady on-demand baseline",
        savings_usd_per_month=saved, in_gap=True,
        detail=f"{baseline} instance{'s' if baseline > 1 else ''} of {offer_key} ran on-demand in "
               f"every hour of the period "
               f"(after the findings above); ${on_demand_rate:.4g}/h on-demand vs "
               f"${price:.4g}/h {mode.value}",
        action=f"reserve {baseline} x {offer_key} ({mode.value})",
        problem_change=change, workload=workload, offer=offer_key)]


def request_findings(context: Context, plan: PlanSummary, window_s: float) -> list[Finding]:
    findings = []
    for name, stats in sorted(context.observed.items()):
        workload = next(w for w in context.problem.online() if w.name == name)
        share = stats.violation_share()
        if share is not None and stats.slo_violations:
            findings.append(Finding(
                kind="slo_violations", title=f"{name}: requests missed the SLO",
                savings_usd_per_month=0.0, in_gap=False,
                detail=f"{stats.slo_violations:,} of {stats.latency_checked:,} requests with "
                       f"latencies ({share:.1%}) missed {_slo_text(workload)}",
                action="deploy the plan's configuration (it meets the SLO at the observed demand), "
                       "or find the saturated hours in the log",
                problem_change="none for the SLO; add a measured: point for the hardware in use "
                               "if the performance model is optimistic for it",
                workload=name))
        repeats = stats.repeat_share()
        if repeats:
            base = plan.cost_by_workload.get(name, 0.0)
            findings.append(Finding(
                kind="repeated_requests", title=f"{name}: repeated prompts a cache would serve",
                savings_usd_per_month=repeats * base, in_gap=False,
                detail=f"{stats.repeats:,} of {stats.hashed:,} hashed requests ({repeats:.1%}) "
                       f"repeat a prompt seen within {window_s:g} s; {repeats:.1%} of the "
                       f"plan's ${base:,.2f}/month for {name}",
                action=f"put a response cache (TTL {window_s:g} s) in front of {name}",
                problem_change=f"workloads.{name}.profile_rps: scale by {1 - repeats:.3f}",
                workload=name))
    return findings


def _slo_text(workload: OnlineWorkload) -> str:
    parts = [f"{key} {value:g} ms" for key, value in
             (("TTFT", workload.slo.ttft_ms), ("TPOT", workload.slo.tpot_ms),
              ("E2E", workload.slo.e2e_ms)) if value is not None]
    return ", ".join(parts) or "no SLO"


# --- putting it together --------------------------------------------------------------------


def spend(billing: Billing, owner: dict[int, str | None]
          ) -> tuple[dict[str, float], dict[str, float], dict[str, float]]:
    """Accelerator spend per month by workload, offer and pricing category."""
    by_workload: dict[str, float] = defaultdict(float)
    by_offer: dict[str, float] = defaultdict(float)
    by_pricing: dict[str, float] = defaultdict(float)
    for row in billing.rows:
        if row.kind is RowKind.other:
            continue
        monthly = row.cost_usd * billing.monthly_factor
        by_workload[owner[row.line] or UNATTRIBUTED] += monthly
        by_offer[row.label + ("" if row.offer_key else " (unmapped)")] += monthly
        pricing = row.pricing.value + (" (unused)" if row.commitment_unused else "")
        by_pricing[pricing] += monthly
    return (_by_size(by_workload), _by_size(by_offer), _by_size(by_pricing))


def _by_size(values: dict[str, float]) -> dict[str, float]:
    return dict(sorted(values.items(), key=lambda kv: (-kv[1], kv[0])))


def plan_summary(plan: Plan, demand: str) -> PlanSummary:
    """The plan's allocations and committed pools, and its cost per workload: busy hours plus
    each pool's fee shared by the busy instance-hours each workload puts on it."""
    by_workload: dict[str, float] = defaultdict(float)
    for allocation in plan.allocations:
        by_workload[allocation.workload] += allocation.cost_usd_per_month
    rows = [{"workload": a.workload, "offer": a.offer_key, "pricing": a.pricing,
             "variant": a.variant, "instances": a.instances,
             "cost_usd_per_month": a.cost_usd_per_month} for a in plan.allocations]
    for pool in plan.commitments:
        users = {a.workload: _busy(a) for a in plan.allocations
                 if a.offer_key == pool.offer_key and a.pricing == pool.pricing}
        total = sum(users.values())
        for workload, busy in users.items():
            by_workload[workload] += pool.cost_usd_per_month * busy / total if total else 0.0
        rows.append({"workload": "(committed pool)", "offer": pool.offer_key, "pricing": pool.pricing,
                     "variant": "-", "instances": pool.instances,
                     "cost_usd_per_month": pool.cost_usd_per_month})
    return PlanSummary(plan.status, plan.objective_usd_per_month, demand, tuple(rows),
                       dict(sorted(by_workload.items())), plan.diagnosis)


def _busy(allocation: Allocation) -> float:
    periods = allocation.instances_by_period
    return sum(periods) / len(periods) if periods else float(allocation.instances)


def demand_rows(observed: dict[str, WorkloadStats]) -> tuple[dict[str, Any], ...]:
    rows = []
    for name, stats in sorted(observed.items()):
        profile = stats.profile(stats.default_periods())
        rows.append({"workload": name, "requests": stats.requests, "span_hours": stats.span_hours,
                     "profile_periods": len(profile), "peak_rps": max(profile),
                     "mean_rps": sum(profile) / len(profile),
                     "busiest_hour_rps": stats.busiest_hour_rps(),
                     "mean_prompt_tokens": stats.mean_prompt_tokens(),
                     "mean_output_tokens": stats.mean_output_tokens(),
                     "slo_violation_share": stats.violation_share(),
                     "repeat_share": stats.repeat_share()})
    return tuple(rows)


def _utc(seconds: float) -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp(seconds, dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def audit(problem: Problem, catalog: Catalog, billing: Billing, log: LogSummary | None,
          observed: dict[str, WorkloadStats], plan: Plan, demand: str, window_s: float,
          notes: list[str]) -> AuditResult:
    """Everything the audit reports, from inputs already read and the plan already solved."""
    names = [w.name for w in problem.workloads]
    owner = {row.line: attribute(row, names) for row in billing.rows}
    context = Context(problem, catalog, billing, observed, capacities(problem, catalog),
                      {offer.key: offer for offer in catalog.offers}, notes)
    summary = plan_summary(plan, demand)
    findings = unused_commitments(context)
    findings += usage_findings(context, usage_by_group(billing, owner))
    findings += request_findings(context, summary, window_s)
    findings.sort(key=lambda f: (-f.savings_usd_per_month, f.kind, f.workload or "", f.offer or ""))
    by_workload, by_offer, by_pricing = spend(billing, owner)
    actual = math.fsum(by_workload.values())
    gap = None if plan.objective_usd_per_month is None else actual - plan.objective_usd_per_month
    if billing.of_kind(RowKind.unmapped):
        notes.append(f"{len(billing.of_kind(RowKind.unmapped))} accelerator rows have no catalog "
                     f"offer: counted in the spend, not in the findings (see unmapped)")
    return AuditResult(
        problem=problem.name, billing_file=billing.file,
        requests_file=log.file if log else None,
        period_start=_utc(billing.start_s), period_end=_utc(billing.end_s),
        period_hours=billing.span_hours, monthly_factor=billing.monthly_factor,
        billed_total_usd=billing.billed_total_usd,
        rows={kind.value: billing.row_count(kind) for kind in RowKind} | {"read": billing.rows_read},
        billed_by_kind_usd={kind.value: billing.billed(kind) for kind in RowKind},
        actual_usd_per_month=actual, by_workload=by_workload, by_offer=by_offer,
        by_pricing=by_pricing, other_by_category=_by_size(billing.other_by_category),
        unmapped=tuple(asdict(group) for group in billing.unmapped_groups()),
        demand=demand_rows(observed), plan=summary, gap_usd_per_month=gap,
        explained_usd_per_month=math.fsum(f.savings_usd_per_month for f in findings if f.in_gap),
        findings=tuple(findings), notes=tuple(notes))
