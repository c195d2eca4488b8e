"""The mixed-integer program, built as named variable and constraint groups.

Time: demand is planned on a grid of P periods (1 for flat demand, the 24 hours of a day or the
168 hours of a week); each period stands for HOURS_PER_MONTH / P hours of a month.

Variables
  use[c,p]      instances of serving candidate c busy in period p: integer for online serving,
                continuous instance-hours for batch jobs
  pool[o,m]     new committed instances (reserved_1y, reserved_3y, owned) of offer o, shared by
                every workload and period; existing commitments add to it at no cost
  variant[w,c]  binary: workload w runs choice c = (model, variant): its own model or one of its
                alternatives, in one variant (only when w has a choice)
  prepare[m,v]  binary: variant v of model m is produced, or (v = `DISTILLATION`) model m is
                distilled (only when that costs a one-time run)
  train[k]      binary: a training workload runs option k (offer, pricing, accelerator count)
  admit[w]      binary, budget_mode serve_most_value only: online workload w is served at all
  served[w,p]   continuous, serve_most_value only: the request rate of w served in period p
                (0 to its demand), standing in for the demand on the demand rows
Constraint groups: see `GROUPS`. The last rows (`Formulation.cut_rows`, group `non_spot`, and
`pool_bound` added by `planner.probing`) are cuts: implied for whole instance counts (or, for
`pool_bound`, kept by every optimal plan), they tighten the LP relaxation; diagnosis and
sensitivity, which relax limits or counts, work on `Formulation.without_cuts()`.
Rows that express a limit of the problem file carry a `RowTag`
(which limit, whose, and how the row's right-hand side moves with it), so that sensitivity and
infeasibility diagnosis can read duals and add elastic variables by limit.
Objective: monthly cost of busy on-demand/spot hours, new committed pools, owned servers'
busy energy, carbon, and training runs, variant preparation and distillation spread over the
horizon.

Bounds: an online candidate never needs more instances in a period than it would to serve the
workload alone then (dropping the excess and the workload's other instances keeps every row
satisfied and costs no more), so use[c,p] <= that count; quotas bound it further.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace

from planner.candidates import Candidate, CandidateSet, instances_needed
from planner.catalog import Catalog, Offer, PricingMode
from planner.linear import LinearModel
from planner.problem import BatchWorkload, OnlineWorkload, Problem, Quota
from planner.schema import HOURS_PER_MONTH
from planner.training import TrainingOption

GROUPS = {
    "demand": "capacity of each online workload covers its request rate in every period",
    "batch_demand": "each batch job's daily requests are done within its window",
    "one_variant": "each workload runs exactly one (model, variant) choice",
    "variant_link": "instances only of the workload's chosen model and variant (where the other "
                    "rows do not already keep them out of optimal plans: see `needs_link`)",
    "prepare_link": "a variant that a workload runs is prepared (once per model), a distilled "
                    "model it runs is distilled (once)",
    "spot_share": "spot capacity at most the workload's max_spot_share, in every period",
    "min_replicas": "at least min_replicas replicas per online workload, in every period",
    "pool": "busy committed instances within the pool (existing + new), in every period",
    "one_run": "each training workload runs exactly one option",
    "quota": "accelerators held within each quota, in every period",
    "budget": "monthly cost within the budget",
    "admit": "served rate within the demand, and only of an admitted workload (serve_most_value)",
    "value_floor": "value served at higher priorities kept while lower ones are optimised",
    "non_spot": "cut: capacity that is not spot covers 1 - max_spot_share of the rate, each "
                "instance counted for at most that (the last rows: `Formulation.cut_rows`)",
    "pool_bound": "cut: a committed pool's size within the range every optimal plan keeps "
                  "(`planner.probing`; after the `non_spot` rows)",
}
IDLE_TIE_BREAK = 1e-9
"""Cost per busy hour, relative to the pool fee, on committed instances that are otherwise
free to use: keeps idle pool instances out of the allocations without changing the optimum."""


def quota_matches(quota: Quota, catalog: Catalog, candidate: Candidate) -> bool:
    offer = candidate.config.offer
    return quota.covers(catalog, offer.accelerator, offer.provider, offer.region)


def pool_key(offer: Offer, mode: PricingMode) -> tuple[str, PricingMode]:
    return (offer.key, mode)


def existing_commitments(problem: Problem) -> dict[tuple[str, PricingMode], int]:
    existing: dict[tuple[str, PricingMode], int] = defaultdict(int)
    for commitment in problem.commitments:
        existing[(commitment.offer, commitment.pricing)] += commitment.instances
    return dict(existing)


def window_periods(workload: BatchWorkload, periods: int) -> list[int]:
    """The periods a batch job may run in (the periods of its columns), in order."""
    return sorted({p for day in batch_days(workload.window.hours(), periods) for p in day})


def batch_days(window_hours: tuple[int, ...], periods: int) -> list[list[int]]:
    """Periods of each day's window; a window past midnight runs into the next day."""
    days = max(1, periods // 24)
    result = []
    for day in range(days):
        start = window_hours[0]
        result.append([((day + (1 if hour < start else 0)) % days) * 24 + hour
                       for hour in window_hours])
    return result


DISTILLATION = "(distillation)"
"""Stands for the variant in the `prepare` key of a model's distillation run (no variant name
can start with a parenthesis)."""


def preparation_usd_per_month(problem: Problem, catalog: Catalog, model: str, variant: str
                              ) -> float:
    gpu_hours = catalog.variants[variant].preparation_gpu_hours_per_b_params * \
        catalog.models[model].params_b
    return gpu_hours * problem.performance.preparation_usd_per_gpu_hour / problem.horizon_months


def distillation_usd_per_month(problem: Problem, catalog: Catalog, model: str) -> float:
    """The one-time run that makes a distilled model, spread over the horizon."""
    return (catalog.models[model].distillation_gpu_hours
            * problem.performance.preparation_usd_per_gpu_hour / problem.horizon_months)


def one_time_usd_per_month(problem: Problem, catalog: Catalog,
                           choices: Iterable[tuple[str, str]]) -> float:
    """The one-time runs a plan serving these (model, variant) choices pays for, spread over
    the horizon: each variant's preparation once per model, each distilled model once."""
    chosen = sorted(set(choices))
    return (sum(preparation_usd_per_month(problem, catalog, model, variant)
                for model, variant in chosen)
            + sum(distillation_usd_per_month(problem, catalog, model)
                  for model in sorted({model for model, _ in chosen})))


def choice_label(workload_model: str, model: str, variant: str) -> str:
    """A (model, variant) choice in names: the variant, `model/variant` for an alternative."""
    return variant if model == workload_model else f"{model}/{variant}"


@dataclass(frozen=True)
class RowTag:
    """The problem-file limit a row expresses.

    `limit` is one of budget, quota, spot_share, min_replicas, demand; `subject` the workload
    name, the quota's number, or "" for the budget; `period` the period (or batch day) the row
    is about. Relaxing the limit by one unit (a dollar, an accelerator, a replica, a request/s,
    1 % of a batch job) moves the row's bound by `scale`, times the value of the `choice`
    column (the binary the need is written against) when there is one.
    """

    limit: str
    subject: str
    period: int = 0
    choice: int | None = None
    scale: float = 1.0


@dataclass(frozen=True)
class Formulation:
    model: LinearModel
    periods: int
    hours_per_period: float
    use_column: dict[tuple[int, int], int]
    """(candidate index, period) -> column of its `use` variable."""
    pool_column: dict[tuple[str, PricingMode], int]
    existing: dict[tuple[str, PricingMode], int]
    variant_column: dict[tuple[str, str, str], int]
    """(workload, model, variant) -> its choice binary (workloads with a choice)."""
    prepare_column: dict[tuple[str, str], int]
    """(model, variant or DISTILLATION) -> its one-time run binary."""
    train_column: dict[int, int]
    true_cost: dict[int, float] = field(default_factory=dict)
    """Column -> monthly cost per unit without the idle tie-break."""
    row_tags: dict[int, RowTag] = field(default_factory=dict)
    """Row index -> the limit it expresses (rows of the limits a user can relax)."""
    served_column: dict[tuple[str, int], int] = field(default_factory=dict)
    """serve_most_value: (online workload, period) -> its served-rate column."""
    admit_column: dict[str, int] = field(default_factory=dict)
    """serve_most_value: online workload -> its `admit` binary."""
    uncapped_upper: dict[int, float] = field(default_factory=dict)
    """Column -> its upper bound before a quota capped it (columns a quota capped only)."""
    cut_rows: int = 0
    """How many of the model's rows, the last ones, are cuts: rows valid for every plan of the
    problem as written (or, `pool_bound`, kept by every optimal plan) that tighten the LP relaxation
    (`GROUPS["non_spot"]`, `GROUPS["pool_bound"]`). They only help
    find the optimum: relaxing a limit (a diagnosis) or the instance counts (sensitivity) would
    need them relaxed too, so those work on `without_cuts()`."""

    def without_cuts(self) -> Formulation:
        """The formulation with the problem's limits as its only rows (the same columns and
        row numbers: the cuts come last)."""
        if not self.cut_rows:
            return self
        model = self.model
        plain = LinearModel(model.names, model.lower, model.upper, model.integer, model.cost,
                            model.rows[:-self.cut_rows], model.groups, model.objective_offset)
        return replace(self, model=plain, cut_rows=0)

    def limit_rows(self) -> dict[tuple[str, str], list[int]]:
        """(limit, subject) -> the rows that express it, in row order."""
        rows: dict[tuple[str, str], list[int]] = defaultdict(list)
        for index, tag in sorted(self.row_tags.items()):
            rows[(tag.limit, tag.subject)].append(index)
        return dict(rows)


class _Builder:
    def __init__(self, problem: Problem, catalog: Catalog, pool: list[Candidate],
                 training: tuple[TrainingOption, ...]) -> None:
        self.problem, self.catalog, self.pool, self.training = problem, catalog, pool, training
        self.periods = problem.periods
        self.hours = HOURS_PER_MONTH / self.periods
        self.model = LinearModel()
        for group, description in GROUPS.items():
            self.model.add_group(group, description)
        self.existing = existing_commitments(problem)
        self.use: dict[tuple[int, int], int] = {}
        self.pools: dict[tuple[str, PricingMode], int] = {}
        self.variants: dict[tuple[str, str, str], int] = {}
        self.prepare: dict[tuple[str, str], int] = {}
        self.train: dict[int, int] = {}
        self.true_cost: dict[int, float] = {}
        self.tags: dict[int, RowTag] = {}
        self.uncapped: dict[int, float] = {}
        self.served: dict[tuple[str, int], int] = {}
        self.admit: dict[str, int] = {}
        self.cuts: list[tuple[str, dict[int, float], float]] = []
        """(name, terms, lower bound) of the `non_spot` cuts, added after every other row."""
        self.offers = {c.config.offer.key: c.config.offer for c in pool}

    def upper_of(self, column: int) -> float:
        """A column's upper bound before quotas capped it."""
        return self.uncapped.get(column, self.model.upper[column])

    def add_row(self, group: str, name: str, terms: dict[int, float], lower: float = -math.inf,
                upper: float = math.inf, tag: RowTag | None = None) -> None:
        if tag is not None:
            self.tags[len(self.model.rows)] = tag
        self.model.add_row(group, name, terms, lower, upper)

    def column(self, name: str, upper: float, integer: bool, cost: float,
               solver_cost: float | None = None) -> int:
        index = self.model.add_variable(name, 0, upper, integer,
                                        cost if solver_cost is None else solver_cost)
        self.true_cost[index] = cost
        return index

    # -- variables ---------------------------------------------------------------------------

    def quota_cap(self, offer: Offer, per_unit: int) -> float:
        caps = [q.max_accelerators // per_unit for q in self.problem.quotas
                if q.covers(self.catalog, offer.accelerator, offer.provider, offer.region)]
        return min(caps) if caps else math.inf

    def add_use(self, workload: OnlineWorkload | BatchWorkload, options: list[Candidate]) -> None:
        for candidate in options:
            offer = candidate.config.offer
            cost = self.hours * candidate.hourly_usage_cost
            solver_cost = cost
            if candidate.mode.committed:
                solver_cost = cost + self.hours * IDLE_TIE_BREAK * candidate.cost_usd_per_month
            cap = self.quota_cap(offer, offer.count)
            if cap == 0:
                continue
            for period in self.active_periods(workload):
                upper = self.use_upper(workload, candidate, period)
                if upper <= 0:
                    continue
                self.use[(candidate.index, period)] = column = self.column(
                    f"use[{workload.name},{candidate.index},{period}]", min(upper, cap),
                    isinstance(workload, OnlineWorkload), cost, solver_cost)
                if cap < upper:
                    self.uncapped[column] = upper

    def active_periods(self, workload: OnlineWorkload | BatchWorkload) -> list[int]:
        if isinstance(workload, OnlineWorkload):
            return list(range(self.periods))
        return window_periods(workload, self.periods)

    def use_upper(self, workload: OnlineWorkload | BatchWorkload, candidate: Candidate,
                  period: int) -> float:
        if isinstance(workload, BatchWorkload):
            return workload.requests_per_day / (candidate.capacity_rps * 3600)
        rate = workload.rates(self.periods)[period]
        if rate <= 0 and workload.min_replicas == 0:
            return 0
        return instances_needed(rate, candidate.capacity_rps, workload.min_replicas,
                                candidate.config.replicas_per_instance)

    def add_pools(self) -> None:
        members: dict[tuple[str, PricingMode], list[Candidate]] = defaultdict(list)
        for candidate in self.pool:
            if candidate.mode.committed:
                members[pool_key(candidate.config.offer, candidate.mode)].append(candidate)
        for key in self.existing:
            members.setdefault(key, [])
        for key in sorted(members, key=lambda k: (k[0], k[1].value)):
            offer = self.offers.get(key[0]) or next(o for o in self.catalog.offers if o.key == key[0])
            monthly = self.catalog.monthly_price(offer, key[1]) or 0.0
            peak_use = self.peak_use(members[key], self.model.upper.__getitem__)
            uncapped_peak = self.peak_use(members[key], self.upper_of)
            upper = min(math.ceil(peak_use - 1e-9), self.quota_cap(offer, offer.count))
            self.pools[key] = self.column(f"pool[{key[0]},{key[1].value}]", max(0, upper), True,
                                          monthly)
            if math.ceil(uncapped_peak - 1e-9) > upper:
                self.uncapped[self.pools[key]] = math.ceil(uncapped_peak - 1e-9)
            for period in range(self.periods):
                terms = {self.use[(c.index, period)]: 1.0 for c in members[key]
                         if (c.index, period) in self.use}
                if terms:
                    terms[self.pools[key]] = -1.0
                    self.model.add_row("pool", f"pool[{key[0]},{key[1].value},{period}]", terms,
                                       upper=float(self.existing.get(key, 0)))

    def peak_use(self, members: list[Candidate], bound: Callable[[int], float]) -> float:
        """The most instances of a pool's members busy in one period, at their bounds."""
        return max((sum(bound(self.use[(c.index, p)]) for c in members if (c.index, p) in self.use)
                    for p in range(self.periods)), default=0.0)

    def add_training(self) -> None:
        by_workload: dict[str, list[TrainingOption]] = defaultdict(list)
        for option in self.training:
            by_workload[option.workload].append(option)
            self.train[option.index] = self.column(f"train[{option.workload},{option.index}]", 1,
                                                   True, option.cost_usd_per_month)
        for name, options in by_workload.items():
            self.model.add_row("one_run", f"one_run[{name}]",
                               {self.train[o.index]: 1.0 for o in options}, 1.0, 1.0)

    # -- per-workload rows -------------------------------------------------------------------

    def add_variant_choice(self, workload: OnlineWorkload | BatchWorkload,
                           options: list[Candidate]) -> None:
        choices = sorted({c.config.choice for c in options})
        admit = self.admit.get(workload.name)
        name = workload.name
        if len(choices) == 1:
            for key in self.one_time_runs(*choices[0]):  # no choice: the runs are needed
                if admit is None:
                    self.prepare_column(*key, lower=1)
                else:  # ... if the workload is served at all
                    self.link_run(workload, key, {admit: 1.0})
            return
        for model, variant in choices:
            self.variants[(name, model, variant)] = self.model.add_variable(
                f"variant[{name},{choice_label(workload.model, model, variant)}]", 0, 1, True, 0.0)
        chosen = {self.variants[(name, m, v)]: 1.0 for m, v in choices}
        if admit is None:
            self.add_row("one_variant", f"one_variant[{name}]", chosen, 1.0, 1.0)
        else:  # no variant (and so no instance) for a workload that is shed entirely
            self.add_row("one_variant", f"one_variant[{name}]", {**chosen, admit: -1.0}, 0.0, 0.0)
        for model, variant in choices:
            choice = self.variants[(name, model, variant)]
            for candidate in options:  # one row per column: tighter than one per period
                if candidate.config.choice != (model, variant):
                    continue
                for period in self.active_periods(workload):
                    column = self.use.get((candidate.index, period))
                    if column is not None and self.needs_link(admit, column):
                        self.model.add_row(
                            "variant_link", f"variant_link[{name},{candidate.index},{period}]",
                            {column: 1.0, choice: -self.model.upper[column]}, upper=0.0)
            if preparation_usd_per_month(self.problem, self.catalog, model, variant) > 0:
                self.link_run(workload, (model, variant), {choice: 1.0})
        for model in sorted({model for model, _ in choices}):  # once for all its variants
            if distillation_usd_per_month(self.problem, self.catalog, model) > 0:
                self.link_run(workload, (model, DISTILLATION), {
                    self.variants[(name, model, v)]: 1.0 for m, v in choices if m == model})

    def needs_link(self, admit: int | None, column: int) -> bool:
        """Whether a `use` column of a choice needs its row to its choice binary.

        Every other row of a choice (demand, replicas, spot share, batch demand) is written
        against the choice's own binary, so instances of a choice not taken meet no row and
        cost something: no optimal plan has them, and the link only matters where that fails:
        the served-rate demand rows of serve_most_value count every choice at once, and a free
        column could be left at any value. Elsewhere the links added rows (1,968 of 3,033 on
        mixed-fleet) that cost HiGHS more cut separation than they tightened (the LP bound did
        not move on the examples)."""
        return admit is not None or self.model.cost[column] <= 0

    def link_run(self, workload: OnlineWorkload | BatchWorkload, key: tuple[str, str],
                 needing: dict[int, float]) -> None:
        """The one-time run `key` is made when any of the `needing` choices is taken."""
        self.model.add_row("prepare_link",
                           f"prepare_link[{workload.name},{choice_label(workload.model, *key)}]",
                           {**needing, self.prepare_column(*key): -1.0}, upper=0.0)

    def one_time_runs(self, model: str, variant: str) -> list[tuple[str, str]]:
        """The `prepare` keys serving (model, variant) needs: the variant's preparation of the
        model and the model's distillation, those that cost anything."""
        runs = []
        if preparation_usd_per_month(self.problem, self.catalog, model, variant) > 0:
            runs.append((model, variant))
        if distillation_usd_per_month(self.problem, self.catalog, model) > 0:
            runs.append((model, DISTILLATION))
        return runs

    def prepare_column(self, model: str, run: str, lower: float = 0) -> int:
        key = (model, run)
        if key not in self.prepare:
            cost = (distillation_usd_per_month(self.problem, self.catalog, model)
                    if run == DISTILLATION
                    else preparation_usd_per_month(self.problem, self.catalog, model, run))
            self.prepare[key] = self.column(f"prepare[{model},{run}]", 1, True, cost)
        if lower:
            self.model.lower[self.prepare[key]] = lower
        return self.prepare[key]

    def variant_groups(self, workload: OnlineWorkload | BatchWorkload, options: list[Candidate]
                       ) -> list[tuple[str, int | None, list[Candidate]]]:
        """(label, choice column, candidates) per (model, variant) when the workload has a
        choice: rows written per choice and scaled by its binary are much tighter than one row
        over all choices; else one group."""
        choices = sorted({c.config.choice for c in options})
        first = choices[0] if choices else ("", "")
        if (workload.name, *first) not in self.variants:
            return [("", None, options)]
        return [(f",{choice_label(workload.model, m, v)}", self.variants[(workload.name, m, v)],
                 [o for o in options if o.config.choice == (m, v)]) for m, v in choices]

    def add_covering(self, group: str, name: str, terms: dict[int, float], need: float,
                     choice: int | None, tag: RowTag | None = None) -> None:
        """terms >= need, or terms >= need x variant[w,v] when the variant is a choice."""
        if tag is not None:
            tag = RowTag(tag.limit, tag.subject, tag.period, choice, tag.scale)
        if choice is None:
            self.add_row(group, name, terms, lower=need, tag=tag)
        else:
            self.add_row(group, name, {**terms, choice: -need}, lower=0.0, tag=tag)

    def add_online_rows(self, workload: OnlineWorkload, options: list[Candidate]) -> None:
        if workload.name in self.admit:
            self.add_admitted_rows(workload, options)
            return
        rates = workload.rates(self.periods)
        name = workload.name
        for label, choice, members in self.variant_groups(workload, options):
            for period, rate in enumerate(rates):
                here = [c for c in members if (c.index, period) in self.use]
                if rate > 0:
                    # an instance never needs to count for more than the demand (integer counts)
                    self.add_covering("demand", f"demand[{name},{period}{label}]",
                                      {self.use[(c.index, period)]: min(c.capacity_rps, rate)
                                       for c in here}, rate, choice, RowTag("demand", name, period))
                    if here:  # each instance serves at most the best capacity: a count cut
                        best = max(c.capacity_rps for c in here)
                        self.add_covering("demand", f"instances[{name},{period}{label}]",
                                          {self.use[(c.index, period)]: 1.0 for c in here},
                                          float(math.ceil(rate / best - 1e-9)), choice,
                                          RowTag("demand", name, period, scale=1 / best))
                self.add_spot_share(workload, here, period, label)
                self.add_non_spot_floor(workload, here, period, label, choice)
                if workload.min_replicas > 0:
                    self.add_covering("min_replicas", f"min_replicas[{name},{period}{label}]",
                                      {self.use[(c.index, period)]: float(c.config.replicas_per_instance)
                                       for c in here}, float(workload.min_replicas), choice,
                                      RowTag("min_replicas", name, period))

    def add_spot_share(self, workload: OnlineWorkload, here: list[Candidate], period: int,
                       label: str) -> None:
        share = workload.max_spot_share
        if share < 1 and any(c.mode is PricingMode.spot for c in here):
            self.add_row("spot_share", f"spot_share[{workload.name},{period}{label}]", {
                self.use[(c.index, period)]: c.capacity_rps * (
                    (1 - share) if c.mode is PricingMode.spot else -share)
                for c in here}, upper=0.0, tag=RowTag("spot_share", workload.name, period))

    def add_non_spot_floor(self, workload: OnlineWorkload, here: list[Candidate], period: int,
                           label: str, choice: int | None) -> None:
        """A cut (`Formulation.cut_rows`): capacity that is not spot covers (1 - max_spot_share)
        of the rate, each instance counted for at most that much.

        Demand and spot share imply it for whole capacities (spot <= s / (1 - s) x the rest);
        counting an instance for no more than it needs to cover keeps it valid for whole
        instance counts but not for their LP relaxation, where it keeps a fraction of a large
        pooled instance from covering what only a whole one can (mixed-fleet: LP bound $10,640
        -> $11,705 of the $12,633 optimum). With no spot share (s = 0) the demand rows say as
        much, and with no spot candidate it is weaker than they are."""
        share, rate = workload.max_spot_share, workload.rates(self.periods)[period]
        others = [c for c in here if c.mode is not PricingMode.spot]
        if not 0 < share < 1 or rate <= 0 or len(others) == len(here):
            return
        need = (1 - share) * rate
        terms = {self.use[(c.index, period)]: min(c.capacity_rps, need) for c in others}
        if choice is not None:
            terms, need = {**terms, choice: -need}, 0.0
        self.cuts.append((f"non_spot[{workload.name},{period}{label}]", terms, need))

    def add_cuts(self) -> int:
        """Add the cuts as the model's last rows; how many."""
        for name, terms, lower in self.cuts:
            self.model.add_row("non_spot", name, terms, lower=lower)
        return len(self.cuts)

    def add_admission(self, workload: OnlineWorkload) -> None:
        """serve_most_value: the workload's admit binary and served rate per period."""
        name = workload.name
        self.admit[name] = self.model.add_variable(f"admit[{name}]", 0, 1, True, 0.0)
        for period, rate in enumerate(workload.rates(self.periods)):
            if rate > 0:
                column = self.model.add_variable(f"served[{name},{period}]", 0, rate, False, 0.0)
                self.served[(name, period)] = column
                self.add_row("admit", f"admit[{name},{period}]",
                             {column: 1.0, self.admit[name]: -rate}, upper=0.0)

    def add_admitted_rows(self, workload: OnlineWorkload, options: list[Candidate]) -> None:
        """Demand and replica rows against the served rate, over all variants at once (the
        variant links keep the other variants' instances at 0)."""
        name = workload.name
        rates = workload.rates(self.periods)
        for period, rate in enumerate(rates):
            here = [c for c in options if (c.index, period) in self.use]
            served = self.served.get((name, period))
            if served is not None:
                self.add_row("demand", f"demand[{name},{period}]",
                             {**{self.use[(c.index, period)]: min(c.capacity_rps, rate)
                                 for c in here}, served: -1.0}, lower=0.0)
            for label, _, members in self.variant_groups(workload, options):
                self.add_spot_share(workload, [c for c in members if (c.index, period) in self.use],
                                    period, label)
            if workload.min_replicas > 0:
                self.add_row("min_replicas", f"min_replicas[{name},{period}]", {
                    **{self.use[(c.index, period)]: float(c.config.replicas_per_instance)
                       for c in here}, self.admit[name]: -float(workload.min_replicas)},
                    lower=0.0, tag=RowTag("min_replicas", name, period, self.admit[name]))

    def add_batch_rows(self, workload: BatchWorkload, options: list[Candidate]) -> None:
        share = workload.max_spot_share
        days = batch_days(workload.window.hours(), self.periods)
        for label, choice, members in self.variant_groups(workload, options):
            for day, periods in enumerate(days):
                here = [(c, p) for c in members for p in periods if (c.index, p) in self.use]
                self.add_covering("batch_demand", f"batch_demand[{workload.name},{day}{label}]",
                                  {self.use[(c.index, p)]: c.capacity_rps * 3600 for c, p in here},
                                  workload.requests_per_day, choice,
                                  RowTag("demand", workload.name, day,
                                         scale=workload.requests_per_day / 100))
                if share < 1 and any(c.mode is PricingMode.spot for c, _ in here):
                    self.add_row("spot_share", f"spot_share[{workload.name},day{day}{label}]", {
                        self.use[(c.index, p)]: (1 - share) if c.mode is PricingMode.spot else -share
                        for c, p in here}, upper=0.0, tag=RowTag("spot_share", workload.name, day))

    # -- shared rows -------------------------------------------------------------------------

    def add_quotas(self) -> None:
        for number, quota in enumerate(self.problem.quotas):
            held = sum(count * self.offer_count(key[0]) for key, count in self.existing.items()
                       if self.covers(quota, key[0]))
            pools = {col: float(self.offer_count(key[0])) for key, col in self.pools.items()
                     if self.covers(quota, key[0])}
            runs = {self.train[o.index]: float(o.accelerators) for o in self.training
                    if quota.covers(self.catalog, o.offer.accelerator, o.offer.provider,
                                    o.offer.region)}
            for period in range(self.periods):
                terms = {**pools, **runs}
                for candidate in self.pool:
                    column = self.use.get((candidate.index, period))
                    if column is not None and not candidate.mode.committed \
                            and quota_matches(quota, self.catalog, candidate):
                        terms[column] = terms.get(column, 0.0) + candidate.accelerators
                if terms or held:
                    self.add_row("quota", f"quota[{number},{period}]", terms,
                                 upper=float(quota.max_accelerators - held),
                                 tag=RowTag("quota", str(number), period))

    def offer_count(self, key: str) -> int:
        offer = self.offers.get(key) or next(o for o in self.catalog.offers if o.key == key)
        return offer.count

    def covers(self, quota: Quota, key: str) -> bool:
        offer = self.offers.get(key) or next(o for o in self.catalog.offers if o.key == key)
        return quota.covers(self.catalog, offer.accelerator, offer.provider, offer.region)

    def add_budget(self) -> None:
        budget = self.problem.budget_usd_per_month
        if budget is None:
            return
        terms = {col: cost for col, cost in self.true_cost.items() if cost}
        self.add_row("budget", "budget", terms, upper=budget, tag=RowTag("budget", ""))


def formulate(problem: Problem, catalog: Catalog, candidates: CandidateSet,
              active: tuple[int, ...] | None = None,
              training: tuple[TrainingOption, ...] = (), shed: bool = False) -> Formulation:
    """The MIP over the `active` candidates (default: all) and the training options.

    `shed`: online demand may be served in part (budget_mode serve_most_value): the demand
    rows cover a served-rate column instead of the rate; the objective stays the cost (the
    value of what is served is the caller's to weigh, see `planner.budget_mode`)."""
    chosen = set(active) if active is not None else None
    pool = [c for c in candidates.candidates if chosen is None or c.index in chosen]
    build = _Builder(problem, catalog, pool, training)
    serving = [w for w in problem.workloads if isinstance(w, OnlineWorkload | BatchWorkload)]
    by_workload: dict[str, list[Candidate]] = defaultdict(list)
    for candidate in pool:
        by_workload[candidate.workload].append(candidate)
    for workload in serving:
        build.add_use(workload, by_workload[workload.name])
    build.add_pools()
    build.add_training()
    used = {index for index, _ in build.use}
    if shed:
        for workload in problem.online():
            build.add_admission(workload)
    for workload in serving:
        options = [c for c in by_workload[workload.name] if c.index in used]
        build.add_variant_choice(workload, options)
        if isinstance(workload, OnlineWorkload):
            build.add_online_rows(workload, options)
        else:
            build.add_batch_rows(workload, options)
    build.add_quotas()
    build.add_budget()
    return Formulation(build.model, build.periods, build.hours, build.use, build.pools,
                       build.existing, build.variants, build.prepare, build.train,
                       build.true_cost, build.tags, build.served, build.admit, build.uncapped,
                       build.add_cuts())
