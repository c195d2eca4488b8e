"""Vectorised candidate enumeration: the engine behind `build_candidates`.

Work is shared at three levels, so a fleet of thousands of workloads costs little more than
its distinct workload shapes:
  * grid: every (offer, variant, tensor-parallel, batch) setting of the problem, as rows of
    arrays (one grid per list of batch sizes);
  * shape: a workload's kind, the model served, tokens, SLO, batch sizes and measured points
    fix the roofline estimate of every setting, its memory/SLO verdict and the best
    (tensor-parallel, batch) setting of every (offer, variant): evaluated once per shape, as
    arrays;
  * profile: the shape plus the workload's own model (quality is relative to it), variant
    list, quality floors and whether it allows spot at all fix its candidates and rejections
    of that model up to its name: built once per profile, kept as arrays (for pruning and
    decomposition) and turned into objects per workload on demand.
A workload with `alternatives` has one profile per model it may run (its own first), and its
candidates are theirs in that order, as the reference enumerates them.

The sequential rules of the scalar reference (`reference_candidates`: a setting replaces the
best so far only with more than `CAPACITY_TOLERANCE` more capacity; rejections in enumeration
order) are reproduced exactly, and `estimate_arrays` equals `estimate` bit for bit, so the
candidates and rejections are the reference's (tests/test_vectorised.py).
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import TypeVar

import numpy as np

from planner.candidates import (
    BATCH_SIZES,
    CAPACITY_TOLERANCE,
    SPOT_NOT_ALLOWED,
    Candidate,
    CandidateSet,
    Config,
    Items,
    Reason,
    Rejection,
    _Chunk,
    cheapest_monthly,
    dominated_detail,
    hourly_costs,
    measured_points,
    memory_detail,
    no_price_detail,
    offer_allowed,
    performance_of,
    quality_of,
    quota_blocks,
    quota_detail,
    slo_problem,
    spot_allowance,
    tensor_parallel_degrees,
    utilisation_of,
    variant_problem,
)
from planner.catalog import Catalog, Offer, PricingMode, Variant
from planner.performance import (
    Estimate,
    EstimateArrays,
    SettingArrays,
    efficiency_for,
    estimate_arrays,
    peak_flops,
)
from planner.problem import BatchWorkload, OnlineWorkload, Problem, ServingWorkload

# Verdict of one setting, and the rejection it produces (in `Shape.event`).
OK, MEMORY, TTFT, TPOT, E2E = 0, 1, 2, 3, 4
DOMINATED = 5
"""The setting has no more capacity than the best before it."""
REPLACED = 6
"""The setting beats the best before it, which is rejected here."""
NO_EVENT = -1
EVENT_REASON = {MEMORY: Reason.memory, TTFT: Reason.ttft, TPOT: Reason.tpot, E2E: Reason.e2e,
                DOMINATED: Reason.dominated, REPLACED: Reason.dominated}
EVENT_CODES = [EVENT_REASON.get(code, Reason.dominated) for code in range(REPLACED + 1)]
"""`EVENT_REASON` as a list by event (OK, never an event, fills the gap)."""
REASONS: tuple[Reason, ...] = tuple(Reason)
"""`RejectionArrays.reason` is a position in this."""
# Where a rejection comes from (`RejectionArrays.source`)
BEFORE, EVENT, BANNED = 0, 1, 2


@dataclass(frozen=True)
class Grid:
    """Every (offer, variant, tensor-parallel, batch) setting of a problem, as rows.

    Pairs (offer, variant) are numbered offer-major ("combo" = offer x variants + variant), in
    the reference's order; a pair's rows are consecutive, tensor-parallel-major."""

    start: np.ndarray
    """First row of each pair."""
    stop: np.ndarray
    offer: np.ndarray
    """Offer (position in `Context.offers`) of each row."""
    tensor_parallel: np.ndarray
    batch: np.ndarray
    settings: SettingArrays
    positions: np.ndarray
    """[pair, k]: the pair's k-th row, -1 past its end."""


@dataclass
class Shape:
    """Estimates, verdicts and the best setting of every pair for one workload shape."""

    grid: Grid
    arrays: EstimateArrays
    overrides: dict[int, Estimate]
    """Rows whose estimate comes from a measured point (exact or rescaled)."""
    capacity: np.ndarray
    """Requests/s of one instance at the utilisation cap (before any spot allowance)."""
    best: np.ndarray
    """Best row of each pair, -1 when no setting fits and meets the SLO."""
    event: np.ndarray
    """Per row: the rejection emitted at that row (`NO_EVENT`, a verdict, `DOMINATED`,
    `REPLACED`)."""
    subject: np.ndarray
    """Per row: the row the rejection is about (itself, or the replaced best)."""
    other: np.ndarray
    """Per row: the row that beat the subject (dominated and replaced events)."""
    events_before: np.ndarray
    """events_before[r]: rejection events in rows before r (length rows + 1)."""
    _values: list[list[float]] | None = None
    _estimates: dict[int, Estimate] = field(default_factory=dict)
    _lists: tuple[list[int], ...] | None = None

    def lists(self) -> tuple[list[int], ...]:
        """Per row as lists (kept): tensor-parallel degree, batch, event, subject, other."""
        if self._lists is None:
            self._lists = (self.grid.tensor_parallel.tolist(), self.grid.batch.tolist(),
                           self.event.tolist(), self.subject.tolist(), self.other.tolist())
        return self._lists

    def estimate(self, row: int) -> Estimate:
        found = self._estimates.get(row)
        if found is None:
            found = self.overrides.get(row)
            if found is None:
                if self._values is None:
                    a = self.arrays
                    self._values = [a.ttft_ms.tolist(), a.tpot_ms.tolist(), a.e2e_ms.tolist(),
                                    a.throughput_rps.tolist(), a.memory_needed_gb.tolist(),
                                    a.memory_usable_gb.tolist()]
                v = self._values
                found = Estimate(v[0][row], v[1][row], v[2][row], v[3][row], v[4][row],
                                 v[5][row], "roofline")
            self._estimates[row] = found
        return found


class Columns:
    """Equal-length arrays as the fields of a dataclass, one row per item."""

    def __len__(self) -> int:
        return len(getattr(self, next(iter(self.__dataclass_fields__))))  # type: ignore[attr-defined]

    @classmethod
    def joined(cls: type[C], parts: Sequence[C]) -> C:
        """The rows of `parts`, one after another."""
        if len(parts) == 1:
            return parts[0]
        return cls(*(np.concatenate([getattr(part, name) for part in parts])
                     for name in cls.__dataclass_fields__))  # type: ignore[attr-defined]


C = TypeVar("C", bound=Columns)


@dataclass(frozen=True)
class CandidateArrays(Columns):
    """A workload's candidates as arrays, in order: what `standalone_cost` reads of them."""

    capacity_rps: np.ndarray
    cost_usd_per_month: np.ndarray
    hourly_usage_cost: np.ndarray
    """`Candidate.hourly_usage_cost`."""
    replicas_per_instance: np.ndarray
    offer: np.ndarray
    """Position in `Context.offers`."""
    mode: np.ndarray
    """Position in `Context.modes`."""


@dataclass(frozen=True)
class RejectionArrays(Columns):
    """A profile's rejections as arrays, in enumeration order: what an explanation scans
    without building them (`Context.rejection_template` builds one)."""

    reason: np.ndarray
    """Position in `REASONS`."""
    price: np.ndarray
    """The rejection's `cost_usd_per_month` (one instance for a month), NaN when None."""
    throughput_rps: np.ndarray
    """Of one replica (the estimate's), NaN without an estimate."""
    replicas_per_instance: np.ndarray
    offer: np.ndarray
    """Position in `Context.offers`."""
    pair: np.ndarray
    source: np.ndarray
    """`BEFORE`, `EVENT` or `BANNED`."""
    at: np.ndarray
    """The event's row (`EVENT`), the pricing mode's position (`BANNED`), or -1."""


@dataclass
class Profile:
    """Candidates and rejections of one model shared by the workloads of one profile (see
    module doc), with `workload` standing in for them (its name is not used)."""

    workload: ServingWorkload
    model: str
    """The model served: the workload's own or one of its alternatives."""
    shape: Shape
    # candidates, in enumeration order
    pair: np.ndarray
    mode: np.ndarray
    """Position in `Context.modes`."""
    row: np.ndarray
    capacity_rps: np.ndarray
    """After the spot interruption allowance."""
    cost_usd_per_month: np.ndarray
    quality: np.ndarray
    usage_usd_per_hour: np.ndarray
    carbon_usd_per_hour: np.ndarray
    # rejections
    before: np.ndarray
    """Per pair: the variant, quality or quota problem (position in `details`) that rejects it
    before any setting is evaluated, or -1."""
    details: list[tuple[Reason, str]]
    banned: np.ndarray
    """[pair, mode]: the pair's best setting is rejected in this pricing mode (no price, or
    spot not allowed)."""
    rejection_count: int
    _candidates: dict[int, tuple[object, ...]] | None = None
    _candidate_list: list[tuple[object, ...]] | None = None
    _rejections: list[tuple[object, ...]] | None = None
    _rejection_arrays: RejectionArrays | None = None

    @property
    def candidate_count(self) -> int:
        return len(self.pair)


class Context:
    """What every workload of one problem shares: allowed offers, prices, grids, shapes."""

    def __init__(self, problem: Problem, catalog: Catalog) -> None:
        self.problem, self.catalog = problem, catalog
        self.offers: list[Offer] = [o for o in catalog.offers if offer_allowed(problem, catalog, o)]
        self.variants: list[Variant] = list(catalog.variants.values())
        self.modes: tuple[PricingMode, ...] = tuple(m for m in PricingMode
                                                    if m in problem.allow.pricing)
        self.price_hint = [cheapest_monthly(catalog, o, problem.allow.pricing) for o in self.offers]
        self.blocked = [quota_blocks(problem, catalog, o) for o in self.offers]
        self.monthly = [[catalog.monthly_price(o, m) for m in self.modes] for o in self.offers]
        self.hourly = [[hourly_costs(problem, catalog, o, m) for m in self.modes]
                       for o in self.offers]
        priced = np.array([[m is not None for m in row] for row in self.monthly], dtype=bool
                          ).reshape(len(self.offers), len(self.modes))
        self.priced = priced
        self.monthly_array = np.array([[m or 0.0 for m in row] for row in self.monthly],
                                      dtype=float).reshape(priced.shape)
        self.usage_array = np.array([[u for u, _ in row] for row in self.hourly], dtype=float
                                    ).reshape(priced.shape)
        self.carbon_array = np.array([[c for _, c in row] for row in self.hourly], dtype=float
                                     ).reshape(priced.shape)
        self.spot_mode = np.array([m is PricingMode.spot for m in self.modes], dtype=bool)
        self.counts = np.array([o.count for o in self.offers], dtype=np.int64)
        """Per offer: its accelerators per instance."""
        self.accelerator_names = sorted({o.accelerator for o in self.offers})
        self.accelerator_code = np.array(
            [self.accelerator_names.index(o.accelerator) for o in self.offers], dtype=np.int64)
        """Per offer: its accelerator (position in `accelerator_names`)."""
        self.allowances: dict[str, np.ndarray] = {}
        self.befores: dict[Hashable, tuple[np.ndarray, list[tuple[Reason, str]]]] = {}
        self.grids: dict[tuple[int, ...], Grid] = {}
        self.shapes: dict[Hashable, Shape] = {}
        self.variant_checks: dict[Hashable, list[tuple[Reason, str] | None]] = {}
        self.qualities: dict[Hashable, list[tuple[float, str | None]]] = {}

    def pair(self, pair: int) -> tuple[Offer, Variant]:
        return self.offers[pair // len(self.variants)], self.variants[pair % len(self.variants)]

    def grid(self, batches: tuple[int, ...]) -> Grid:
        found = self.grids.get(batches)
        if found is None:
            found = self.grids[batches] = self._grid(batches)
        return found

    def _grid(self, batches: tuple[int, ...]) -> Grid:
        rows: list[tuple[int, int, int, int]] = []  # offer, variant, tp, batch
        start, stop = [], []
        for (o, offer), v in itertools.product(enumerate(self.offers), range(len(self.variants))):
            start.append(len(rows))
            rows += [(o, v, tp, b) for tp in tensor_parallel_degrees(offer.count) for b in batches]
            stop.append(len(rows))
        table = np.array(rows, dtype=np.int64).reshape(-1, 4)
        offer_at, variant_at, tp, batch = table.T
        accelerators = [self.catalog.accelerators[o.accelerator] for o in self.offers]
        efficiencies = [efficiency_for(a) for a in accelerators]
        flops = np.array([[peak_flops(a, v) for v in self.variants] for a in accelerators]
                         ).reshape(len(self.offers), len(self.variants))

        def per_offer(values: list[float]) -> np.ndarray:
            return np.array(values, dtype=float)[offer_at]

        def per_variant(values: list[float]) -> np.ndarray:
            return np.array(values, dtype=float)[variant_at]

        settings = SettingArrays(
            count=tp, batch=batch, peak_flops=flops[offer_at, variant_at],
            bandwidth_gb_s=per_offer([a.bandwidth_gb_s for a in accelerators]),
            memory_gb=per_offer([a.memory_gb for a in accelerators]),
            mfu=per_offer([e.mfu for e in efficiencies]),
            mbu=per_offer([e.mbu for e in efficiencies]),
            step_overhead_ms=per_offer([e.step_overhead_ms for e in efficiencies]),
            tp_overhead_ms_per_layer=per_offer([e.tp_overhead_ms_per_layer for e in efficiencies]),
            weight_bytes_per_param=per_variant([v.weight_bytes_per_param for v in self.variants]),
            bandwidth_efficiency=per_variant([v.bandwidth_efficiency for v in self.variants]))
        starts, stops = np.array(start, dtype=np.int64), np.array(stop, dtype=np.int64)
        longest = int((stops - starts).max(initial=0))
        positions = starts[:, None] + np.arange(longest)[None, :]
        positions = np.where(positions < stops[:, None], positions, -1)
        return Grid(starts, stops, offer_at, tp, batch, settings, positions)

    def shape(self, workload: ServingWorkload, model: str) -> Shape:
        key = shape_key(workload, model)
        found = self.shapes.get(key)
        if found is None:
            found = self.shapes[key] = self._shape(workload, model)
        return found

    def _shape(self, workload: ServingWorkload, model: str) -> Shape:
        grid = self.grid(tuple(workload.batch_sizes or BATCH_SIZES))
        arrays = estimate_arrays(self.catalog.models[model], grid.settings,
                                 workload.tokens.prompt, workload.tokens.output)
        overrides = self._measured(workload, grid, model)
        if overrides:
            arrays = _with(arrays, overrides)
        rows = len(grid.batch)
        status = np.where(arrays.fits, OK, MEMORY)
        if isinstance(workload, OnlineWorkload):  # the SLO rows, in slo_problem's order
            for limit, values, verdict in ((workload.slo.ttft_ms, arrays.ttft_ms, TTFT),
                                           (workload.slo.tpot_ms, arrays.tpot_ms, TPOT),
                                           (workload.slo.e2e_ms, arrays.e2e_ms, E2E)):
                if limit is not None:
                    status = np.where((status == OK) & (values > limit), verdict, status)
        counts = self.counts[grid.offer]
        capacity = arrays.throughput_rps * utilisation_of(self.problem, workload) * (
            counts // grid.tensor_parallel)
        best = np.full(len(grid.start), -1, dtype=np.int64)
        best_capacity = np.zeros(len(grid.start))
        event = np.full(rows, NO_EVENT, dtype=np.int64)
        subject = np.arange(rows, dtype=np.int64)
        other = np.full(rows, -1, dtype=np.int64)
        for column in grid.positions.T:  # the reference's loop, for every pair at once
            pairs = np.flatnonzero(column >= 0)
            here = column[pairs]
            verdict = status[here]
            failed = verdict != OK
            event[here[failed]] = verdict[failed]
            pairs, here = pairs[~failed], here[~failed]
            before = best[pairs]
            better = (before < 0) | (capacity[here] > best_capacity[pairs] + CAPACITY_TOLERANCE)
            replaced = better & (before >= 0)
            event[here[replaced]] = REPLACED
            subject[here[replaced]] = before[replaced]
            other[here[replaced]] = here[replaced]
            event[here[~better]] = DOMINATED
            other[here[~better]] = before[~better]
            best[pairs[better]] = here[better]
            best_capacity[pairs[better]] = capacity[here[better]]
        events_before = np.concatenate([[0], np.cumsum(event != NO_EVENT)])
        return Shape(grid, arrays, overrides, capacity, best, event, subject, other,
                     events_before)

    def _measured(self, workload: ServingWorkload, grid: Grid, model: str) -> dict[int, Estimate]:
        """Rows of pairs with a measured point of `model` on their accelerator and variant: the
        scalar `performance_of` (measured wins, or the roofline rescaled to the nearest point)."""
        measured = {(self.catalog.resolve_accelerator(p.accelerator), p.variant)
                    for p in measured_points(workload, model)}
        overrides: dict[int, Estimate] = {}
        if not measured:
            return overrides
        for pair in range(len(grid.start)):
            offer, variant = self.pair(pair)
            if (offer.accelerator, variant.name) not in measured:
                continue
            for row in range(int(grid.start[pair]), int(grid.stop[pair])):
                overrides[row] = performance_of(workload, self.catalog, variant, offer,
                                                int(grid.tensor_parallel[row]),
                                                int(grid.batch[row]), model)
        return overrides

    def variant_check(self, workload: ServingWorkload) -> list[tuple[Reason, str] | None]:
        key = workload.variants
        found = self.variant_checks.get(key)
        if found is None:
            found = self.variant_checks[key] = [
                variant_problem(workload, self.catalog, variant, offer)
                for offer, variant in itertools.product(self.offers, self.variants)]
        return found

    def quality(self, workload: ServingWorkload, model: str) -> list[tuple[float, str | None]]:
        key = (workload.model, model, workload.min_quality, workload.min_quality_score)
        found = self.qualities.get(key)
        if found is None:
            found = self.qualities[key] = [quality_of(workload, self.catalog, v, model)
                                           for v in self.variants]
        return found

    def allowance(self, workload: ServingWorkload) -> np.ndarray:
        """[offer, mode]: share of a spot instance's capacity held back (by workload kind)."""
        found = self.allowances.get(workload.kind)
        if found is None:
            found = self.allowances[workload.kind] = np.array(
                [[spot_allowance(workload, offer, mode) for mode in self.modes]
                 for offer in self.offers], dtype=float).reshape(self.priced.shape)
        return found

    def before(self, workload: ServingWorkload, model: str
               ) -> tuple[np.ndarray, list[tuple[Reason, str]]]:
        """Per pair, the problem found before any setting is evaluated (variant, quality,
        quota, in the reference's order), as a position in the list returned, or -1."""
        key = (workload.variants, workload.model, model, workload.min_quality,
               workload.min_quality_score)
        found = self.befores.get(key)
        if found is None:
            checks, qualities = self.variant_check(workload), self.quality(workload, model)
            before = np.full(len(checks), -1, dtype=np.int64)
            details: list[tuple[Reason, str]] = []
            for pair, problem in enumerate(checks):
                o, v = divmod(pair, len(self.variants))
                quality_issue = qualities[v][1]
                if problem is None and quality_issue is not None:
                    problem = (Reason.quality, quality_issue)
                blocked = self.blocked[o]
                if problem is None and blocked is not None:
                    problem = (Reason.quota, quota_detail(self.offers[o], blocked))
                if problem is not None:
                    before[pair] = len(details)
                    details.append(problem)
            found = self.befores[key] = (before, details)
        return found

    def profile(self, workload: ServingWorkload, model: str) -> Profile:
        """Candidates and rejections of `workload` served by `model`, as the reference
        enumerates them."""
        shape = self.shape(workload, model)
        grid = shape.grid
        before, details = self.before(workload, model)
        variants = len(self.variants)
        offer_of = np.arange(len(before)) // variants
        evaluated = before < 0
        best = np.where(evaluated, shape.best, -1)
        events = shape.events_before[grid.stop] - shape.events_before[grid.start]
        spot_banned = workload.max_spot_share == 0
        # [pair, mode]: the pair's best setting in each mode, candidate or rejected
        offered = (best >= 0)[:, None] & np.ones(len(self.modes), dtype=bool)[None, :]
        banned = offered & (~self.priced[offer_of] | (self.spot_mode[None, :] & spot_banned))
        pair, mode = np.nonzero(offered & ~banned)  # pair-major: the reference's order
        offer = offer_of[pair]
        row = best[pair]
        quality = np.array([q for q, _ in self.quality(workload, model)], dtype=float)
        return Profile(
            workload, model, shape, pair, mode, row,
            shape.capacity[row] * (1 - self.allowance(workload)[offer, mode]),
            self.monthly_array[offer, mode], quality[pair % variants],
            self.usage_array[offer, mode], self.carbon_array[offer, mode],
            before, details, banned,
            int((~evaluated).sum() + events[evaluated].sum() + banned.sum()))

    # -- objects -----------------------------------------------------------------------------

    def candidate_templates(self, profile: Profile) -> list[tuple[object, ...]]:
        """Per candidate: the Config fields after the workload name, then the Candidate fields
        after the config."""
        if profile._candidate_list is None:
            shape, model, kind = profile.shape, profile.model, profile.workload.kind
            rows = profile.row
            columns = zip(
                profile.pair.tolist(), profile.mode.tolist(), rows.tolist(),
                shape.grid.tensor_parallel[rows].tolist(), shape.grid.batch[rows].tolist(),
                profile.capacity_rps.tolist(), profile.cost_usd_per_month.tolist(),
                profile.quality.tolist(), profile.usage_usd_per_hour.tolist(),
                profile.carbon_usd_per_hour.tolist(), strict=True)
            found: list[tuple[object, ...]] = []
            for pair, mode, row, tp, batch, capacity, cost, quality, usage, carbon in columns:
                offer, variant = self.pair(pair)
                found.append((offer, self.modes[mode], variant.name, tp, batch, model,
                              shape.estimate(row), capacity, cost, quality, usage, carbon, kind))
            profile._candidate_list = found
        return profile._candidate_list

    def candidate_template(self, profile: Profile, k: int) -> tuple[object, ...]:
        if profile._candidate_list is not None:
            return profile._candidate_list[k]
        if profile._candidates is None:
            profile._candidates = {}
        found = profile._candidates.get(k)
        if found is None:
            grid, shape = profile.shape.grid, profile.shape
            offer, variant = self.pair(int(profile.pair[k]))
            row = int(profile.row[k])
            found = profile._candidates[k] = (
                offer, self.modes[int(profile.mode[k])], variant.name,
                int(grid.tensor_parallel[row]), int(grid.batch[row]), profile.model,
                shape.estimate(row),
                float(profile.capacity_rps[k]), float(profile.cost_usd_per_month[k]),
                float(profile.quality[k]), float(profile.usage_usd_per_hour[k]),
                float(profile.carbon_usd_per_hour[k]), profile.workload.kind)
        return found

    def rejection_templates(self, profile: Profile, below: float | None = None
                            ) -> list[tuple[object, ...]]:
        """Per rejection: the Config fields after the workload name, then the Rejection fields
        after the config. With `below`, only the priced ones below it (not kept: the full list
        is built and kept only when asked for)."""
        if profile._rejections is not None:
            if below is None:
                return profile._rejections
            return [t for t in profile._rejections if _priced_below(t[PRICE], below)]
        if below is not None:
            wanted = np.flatnonzero(self.rejection_arrays(profile).price < below)  # NaN is not
            return [self.rejection_template(profile, i) for i in wanted.tolist()]
        arrays = self.rejection_arrays(profile)
        where = zip(arrays.pair.tolist(), arrays.source.tolist(), arrays.at.tolist(), strict=True)
        templates = [self._template(profile, pair, source, at) for pair, source, at in where]
        profile._rejections = templates
        return templates

    def rejection_template(self, profile: Profile, i: int) -> tuple[object, ...]:
        """The `rejection_templates` entry of the profile's rejection `i`, alone."""
        arrays = self.rejection_arrays(profile)
        return self._template(profile, int(arrays.pair[i]), int(arrays.source[i]),
                              int(arrays.at[i]))

    def _template(self, profile: Profile, pair: int, source: int, at: int) -> tuple[object, ...]:
        shape, workload = profile.shape, profile.workload
        tp, batch, events, subject, other = shape.lists()
        offer, variant = self.pair(pair)
        hint = self.price_hint[pair // len(self.variants)]
        if source == BEFORE:
            reason, detail = profile.details[int(profile.before[pair])]
            return (offer, None, variant.name, offer.count, 1, profile.model, reason, detail, hint,
                    None)
        if source == EVENT:
            event, about = events[at], subject[at]
            perf = shape.estimate(about)
            if event == MEMORY:
                detail = memory_detail(perf, tp[about], offer)
            elif event in (DOMINATED, REPLACED):
                detail = dominated_detail(tp[other[at]], batch[other[at]])
            else:
                slo = slo_problem(workload, perf)
                assert slo is not None
                detail = slo[1]
            return (offer, None, variant.name, tp[about], batch[about], profile.model,
                    EVENT_REASON[event], detail, hint, perf)
        best = int(shape.best[pair])
        mode, perf = self.modes[at], shape.estimate(best)
        price = self.monthly[pair // len(self.variants)][at]
        if price is None:
            return (offer, mode, variant.name, tp[best], batch[best], profile.model,
                    Reason.no_price, no_price_detail(offer, mode), None, perf)
        return (offer, mode, variant.name, tp[best], batch[best], profile.model,
                Reason.spot_not_allowed, SPOT_NOT_ALLOWED, price, perf)

    def rejection_arrays(self, profile: Profile) -> RejectionArrays:
        """The profile's rejections as arrays, in enumeration order (kept)."""
        if profile._rejection_arrays is None:
            profile._rejection_arrays = self._rejection_arrays(profile)
        return profile._rejection_arrays

    def _rejection_arrays(self, profile: Profile) -> RejectionArrays:
        """Per pair in order: its problem found before any setting (`BEFORE`), or its rows'
        events in row order (`EVENT`) then its banned pricing modes in mode order (`BANNED`):
        the reference's order, each placed at its position in it."""
        shape, grid = profile.shape, profile.shape.grid
        variants = len(self.variants)
        evaluated = profile.before < 0
        events_in = shape.events_before[grid.stop] - shape.events_before[grid.start]
        banned_in = profile.banned.sum(axis=1)
        count = np.where(evaluated, events_in + banned_in, 1)
        first = np.concatenate([[0], np.cumsum(count)[:-1]]).astype(np.int64)
        hint = np.array([np.nan if h is None else h for h in self.price_hint], dtype=float)
        counts = self.counts
        reason_code = {reason: code for code, reason in enumerate(REASONS)}
        throughput = shape.arrays.throughput_rps
        # before: one per pair rejected before any setting
        before_pair = np.flatnonzero(~evaluated)
        before_reason = np.array([reason_code[profile.details[found][0]]
                                  for found in profile.before[before_pair].tolist()],
                                 dtype=np.int64)
        # events of the evaluated pairs' rows
        rows = np.flatnonzero(shape.event != NO_EVENT)
        row_pair = np.searchsorted(grid.start, rows, side="right") - 1
        keep = evaluated[row_pair]
        rows, row_pair = rows[keep], row_pair[keep]
        event_reason = np.array([reason_code[r] for r in EVENT_CODES], dtype=np.int64)[
            shape.event[rows]]
        about = shape.subject[rows]
        # banned pricing modes of the evaluated pairs' best settings
        banned_pair, banned_mode = np.nonzero(profile.banned)
        banned_offer = banned_pair // variants
        priced = self.priced[banned_offer, banned_mode]
        best = shape.best[banned_pair]
        position = np.concatenate([
            first[before_pair],
            first[row_pair] + shape.events_before[rows] - shape.events_before[grid.start[row_pair]],
            first[banned_pair] + events_in[banned_pair]
            + (np.cumsum(profile.banned, axis=1) - 1)[banned_pair, banned_mode]])
        order = np.empty(len(position), dtype=np.int64)
        order[position] = np.arange(len(position))

        def ordered(*parts: np.ndarray) -> np.ndarray:
            return np.concatenate(parts)[order]

        nothing = np.full(len(before_pair), np.nan)
        return RejectionArrays(
            reason=ordered(before_reason, event_reason,
                           np.where(priced, reason_code[Reason.spot_not_allowed],
                                    reason_code[Reason.no_price])),
            price=ordered(hint[before_pair // variants], hint[row_pair // variants],
                          np.where(priced, self.monthly_array[banned_offer, banned_mode], np.nan)),
            throughput_rps=ordered(nothing, throughput[about], throughput[best]),
            replicas_per_instance=ordered(
                np.ones(len(before_pair), dtype=np.int64),
                counts[row_pair // variants] // grid.tensor_parallel[about],
                counts[banned_offer] // grid.tensor_parallel[best]),
            offer=ordered(before_pair // variants, row_pair // variants, banned_offer),
            pair=ordered(before_pair, row_pair, banned_pair),
            source=ordered(np.full(len(before_pair), BEFORE), np.full(len(rows), EVENT),
                           np.full(len(banned_pair), BANNED)),
            at=ordered(np.full(len(before_pair), -1), rows, banned_mode))


PRICE = 8
"""Position of the price ($/month) in a rejection template."""


def _priced_below(price: object, below: float) -> bool:
    return isinstance(price, float | int) and price < below


def shape_key(workload: ServingWorkload, model: str) -> Hashable:
    """What fixes every setting's estimate and verdict with `model` (see module doc)."""
    slo = workload.slo if isinstance(workload, OnlineWorkload) else None
    return (workload.kind, model, workload.tokens.prompt, workload.tokens.output,
            None if slo is None else (slo.ttft_ms, slo.tpot_ms, slo.e2e_ms),
            tuple(workload.batch_sizes or BATCH_SIZES), measured_points(workload, model))


def profile_key(workload: ServingWorkload, model: str) -> Hashable:
    """What fixes a workload's candidates and rejections with `model` up to its name."""
    return (shape_key(workload, model), workload.model, workload.variants, workload.min_quality,
            workload.min_quality_score, workload.max_spot_share == 0)


def _with(arrays: EstimateArrays, overrides: dict[int, Estimate]) -> EstimateArrays:
    rows = np.fromiter(overrides, dtype=np.int64, count=len(overrides))
    values = {}
    for name in ("ttft_ms", "tpot_ms", "e2e_ms", "throughput_rps", "memory_needed_gb",
                 "memory_usable_gb"):
        column = getattr(arrays, name).copy()
        column[rows] = [getattr(overrides[row], name) for row in overrides]
        values[name] = column
    return EstimateArrays(**values)


class CandidateTable:
    """The candidates of every serving workload of a problem, as per-profile arrays.

    Workload i (in `workloads`) has the candidates of `profiles[p]` for each p in
    `profiles_of[i]` (one per model it may run, its own first; `profile_of[i]` is its own
    model's), one after another, numbered from `candidate_start[i]`; its rejections follow
    the same profiles."""

    def __init__(self, problem: Problem, catalog: Catalog) -> None:
        self.context = Context(problem, catalog)
        self.workloads: list[ServingWorkload] = [
            w for w in problem.workloads if isinstance(w, OnlineWorkload | BatchWorkload)]
        self.index = {w.name: i for i, w in enumerate(self.workloads)}
        self.profiles: list[Profile] = []
        known: dict[Hashable, int] = {}
        self.profiles_of: list[tuple[int, ...]] = []
        for workload in self.workloads:
            numbers = []
            for model in workload.models:
                key = profile_key(workload, model)
                if key not in known:
                    known[key] = len(self.profiles)
                    self.profiles.append(self.context.profile(workload, model))
                numbers.append(known[key])
            self.profiles_of.append(tuple(numbers))
        self.profile_of = np.array([numbers[0] for numbers in self.profiles_of], dtype=np.int64)
        counts = np.array([sum(self.profiles[p].candidate_count for p in numbers)
                           for numbers in self.profiles_of], dtype=np.int64)
        self.candidate_count = counts
        self.candidate_start = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64) \
            if len(counts) else np.zeros(0, dtype=np.int64)

    def parts(self, index: int) -> list[tuple[int, Profile]]:
        """(first candidate index, profile) of each model workload `index` may run."""
        start = int(self.candidate_start[index])
        found = []
        for number in self.profiles_of[index]:
            found.append((start, self.profiles[number]))
            start += self.profiles[number].candidate_count
        return found

    def candidates_of(self, index: int) -> list[Candidate]:
        name = self.workloads[index].name
        return [_candidate(name, start + k, t) for start, profile in self.parts(index)
                for k, t in enumerate(self.context.candidate_templates(profile))]

    def rejections_of(self, index: int, below: float | None = None) -> list[Rejection]:
        """Workload `index`'s rejections (with `below`: only those priced below it)."""
        name = self.workloads[index].name
        return [_rejection(name, t) for _, profile in self.parts(index)
                for t in self.context.rejection_templates(profile, below)]

    def candidate_arrays(self, index: int) -> CandidateArrays:
        """Workload `index`'s candidates as arrays, in order (those of `candidates_of`)."""
        context, parts = self.context, []
        for _, profile in self.parts(index):
            offer = profile.pair // len(context.variants)
            parts.append(CandidateArrays(
                profile.capacity_rps, profile.cost_usd_per_month,
                profile.usage_usd_per_hour + profile.carbon_usd_per_hour,
                context.counts[offer] // profile.shape.grid.tensor_parallel[profile.row], offer,
                profile.mode))
        return CandidateArrays.joined(parts)

    def rejection_arrays(self, index: int) -> RejectionArrays:
        """Workload `index`'s rejections as arrays, in order (`rejection_at` builds one)."""
        return RejectionArrays.joined([self.context.rejection_arrays(profile)
                                       for _, profile in self.parts(index)])

    def candidate_at(self, index: int, position: int) -> Candidate:
        """Workload `index`'s candidate at `position` (in `candidate_arrays`), alone."""
        for start, profile in self.parts(index):
            if position < profile.candidate_count:
                return _candidate(self.workloads[index].name, start + position,
                                  self.context.candidate_template(profile, position))
            position -= profile.candidate_count
        raise IndexError("candidate position out of range")

    def rejection_at(self, index: int, position: int) -> Rejection:
        """Workload `index`'s rejection at `position` (in `rejection_arrays`), alone."""
        for _, profile in self.parts(index):
            if position < profile.rejection_count:
                return _rejection(self.workloads[index].name,
                                  self.context.rejection_template(profile, position))
            position -= profile.rejection_count
        raise IndexError("rejection position out of range")

    def candidates_at(self, indices: Sequence[int]) -> tuple[Candidate, ...]:
        """The candidates with these indices (ascending), built without the others."""
        wanted = np.asarray(indices, dtype=np.int64)
        owner = np.searchsorted(self.candidate_start, wanted, side="right") - 1
        found: list[Candidate] = []
        bounds = np.flatnonzero(np.diff(owner)) + 1
        for part in np.split(wanted, bounds) if len(wanted) else []:
            index = int(owner[np.searchsorted(wanted, part[0])])
            name = self.workloads[index].name
            parts = self.parts(index)
            starts = [start for start, _ in parts]
            for candidate in part.tolist():
                start, profile = parts[bisect.bisect_right(starts, candidate) - 1]
                found.append(_candidate(name, candidate,
                                        self.context.candidate_template(profile, candidate - start)))
        return tuple(found)

    def candidate_set(self) -> CandidateSet:
        candidates = Items([_Chunk(w.name, int(self.candidate_count[i]),
                                   partial(self.candidates_of, i))
                            for i, w in enumerate(self.workloads)], self)
        rejections = Items([_Chunk(w.name, sum(self.profiles[p].rejection_count
                                               for p in self.profiles_of[i]),
                                   partial(self.rejections_of, i))
                            for i, w in enumerate(self.workloads)], self)
        return CandidateSet(candidates, rejections)


def _candidate(workload: str, index: int, template: tuple[object, ...]) -> Candidate:
    """Candidate `index` of `workload` from its template (`Context.candidate_templates`)."""
    return Candidate(index, Config(workload, *template[:6]), *template[6:])  # type: ignore[arg-type]


def _rejection(workload: str, template: tuple[object, ...]) -> Rejection:
    """A rejection of `workload` from its template (`Context.rejection_templates`)."""
    return Rejection(Config(workload, *template[:6]), *template[6:])  # type: ignore[arg-type]


def enumerate_candidates(problem: Problem, catalog: Catalog) -> CandidateSet:
    """`build_candidates`: see the module doc."""
    return CandidateTable(problem, catalog).candidate_set()
