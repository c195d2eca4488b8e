"""Candidate configurations per workload, each feasible or rejected with its reason.

A candidate is one way to serve a workload: (model, offer, pricing mode, variant,
tensor-parallel degree, batch), the model being the workload's own or one of its
`alternatives`. Latency, memory and quality are properties of the configuration alone, so
they are checked here; coupled limits (budget, quotas, spot share) are left to the MIP.

Exact dominance pruning: for one workload, model, offer and variant, every (tensor-parallel,
batch) choice has the same price, the same accelerators and the same quality, so only the one
with the highest capacity per instance can appear in an optimal plan; the others are kept as
rejections with reason `dominated`. Pricing modes of one offer share that choice.
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections import defaultdict
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Generic, TypeVar, overload

from planner.catalog import Catalog, Offer, PricingMode, Variant
from planner.performance import Estimate, estimate, measured_estimate, rescale
from planner.plan import choice_text
from planner.problem import BatchWorkload, Measurement, OnlineWorkload, Problem, ServingWorkload

if TYPE_CHECKING:
    from planner.enumeration import CandidateTable

Workload = ServingWorkload
BATCH_UTILISATION = 1.0
"""Batch jobs run their instances saturated: no queueing target to protect."""
RESTART_HOURS_BATCH = 0.25
"""Work a batch instance loses per spot interruption (restart and the batch in flight)."""

BATCH_SIZES = (1, 2, 4, 8, 16, 32, 64, 128, 256)
CAPACITY_TOLERANCE = 1e-12
"""A (tensor-parallel, batch) setting replaces the best so far only with more capacity than
this (req/s); of equal ones the first in enumeration order is kept."""


class Reason(str, Enum):
    """Why a configuration cannot serve a workload."""

    variant_unsupported = "variant_unsupported"
    variant_not_allowed = "variant_not_allowed"
    quality = "quality"
    memory = "memory"
    ttft = "ttft"
    tpot = "tpot"
    e2e = "e2e"
    no_price = "no_price"
    spot_not_allowed = "spot_not_allowed"
    quota = "quota"
    dominated = "dominated"
    deadline = "deadline"


@dataclass(frozen=True)
class Config:
    """Where and how one replica group runs: shared by candidates and rejections."""

    workload: str
    offer: Offer
    mode: PricingMode | None
    variant: str
    tensor_parallel: int
    batch: int
    model: str
    """The model served: the workload's own or one of its alternatives."""

    @property
    def replicas_per_instance(self) -> int:
        return self.offer.count // self.tensor_parallel

    @property
    def choice(self) -> tuple[str, str]:
        """(model, variant): what the workload runs, one choice per workload in a plan."""
        return (self.model, self.variant)

    def label(self) -> str:
        mode = self.mode.value if self.mode else "any"
        return (f"{self.offer.key} {self.offer.accelerator}x{self.offer.count} {mode} "
                f"{self.model} {self.variant} tp{self.tensor_parallel} b{self.batch}")


def config_choice(config: Config, workload_model: str) -> str:
    """`choice_text` of a configuration: `fp8`, or `llama-3.1-8b fp8` for an alternative."""
    return choice_text(config.model, config.variant, workload_model)


@dataclass(frozen=True)
class Candidate:
    """A feasible configuration: capacity and price per instance."""

    index: int
    config: Config
    estimate: Estimate
    capacity_rps: float
    """Requests/s one instance serves at the utilisation cap (all its replicas), after the
    spot interruption allowance."""
    cost_usd_per_month: float
    """One instance for a whole month: on-demand/spot hours, or a committed pool's fee."""
    quality: float
    """Quality relative to the bf16 model."""
    usage_usd_per_hour: float = 0.0
    """What one busy instance-hour costs: the hourly price (on-demand, spot), the busy
    electricity of an owned server, nothing more for a reservation."""
    carbon_usd_per_hour: float = 0.0
    """Carbon price of one busy instance-hour (0 without a carbon price)."""
    kind: str = "online"

    @property
    def hourly_usage_cost(self) -> float:
        return self.usage_usd_per_hour + self.carbon_usd_per_hour

    @property
    def workload(self) -> str:
        return self.config.workload

    @property
    def mode(self) -> PricingMode:
        assert self.config.mode is not None
        return self.config.mode

    @property
    def accelerators(self) -> int:
        return self.config.offer.count


@dataclass(frozen=True)
class Rejection:
    config: Config
    reason: Reason
    detail: str
    cost_usd_per_month: float | None
    estimate: Estimate | None = None


Item = TypeVar("Item", Candidate, Rejection)


@dataclass
class _Chunk(Generic[Item]):
    """Consecutive items of one workload (`workload` set) or of any (`workload` None)."""

    workload: str | None
    length: int
    load: Callable[[], Sequence[Item]]
    items: Sequence[Item] | None = None

    def get(self) -> Sequence[Item]:
        if self.items is None:
            self.items = self.load()
        return self.items


class Items(Sequence[Item]):
    """Candidates or rejections in order, built one workload at a time when first read.

    A large problem has millions of rejected configurations and far more candidates than
    survive pruning; only the workloads something asks about are turned into objects. The
    length is known without building anything. `items + other` appends (lazily)."""

    def __init__(self, chunks: Sequence[_Chunk[Item]], table: CandidateTable | None = None
                 ) -> None:
        self._chunks: list[_Chunk[Item]] = list(chunks)
        self._ends: list[int] = list(itertools.accumulate(chunk.length for chunk in self._chunks))
        self.table = table
        """The arrays behind the candidates, when they come from `build_candidates`."""
        self._by_name: dict[str, list[int]] | None = None
        self._loose: dict[str, list[Item]] | None = None

    @classmethod
    def of(cls, items: Sequence[Item]) -> Items[Item]:
        return items if isinstance(items, Items) else cls([_Chunk(None, len(items), tuple,
                                                                   tuple(items))])

    def __len__(self) -> int:
        return self._ends[-1] if self._ends else 0

    @overload
    def __getitem__(self, index: int) -> Item: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[Item]: ...

    def __getitem__(self, index: int | slice) -> Item | Sequence[Item]:
        if isinstance(index, slice):
            return tuple(self)[index]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError("index out of range")
        chunk = bisect.bisect_right(self._ends, index)
        start = self._ends[chunk - 1] if chunk else 0
        return self._chunks[chunk].get()[index - start]

    def __iter__(self) -> Iterator[Item]:
        for chunk in self._chunks:
            yield from chunk.get()

    def __add__(self, other: Sequence[Item]) -> Items[Item]:
        items = tuple(other)
        tail: _Chunk[Item] = _Chunk(None, len(items), tuple, items)
        chunks = list(self._chunks)
        chunks.append(tail)
        return Items(chunks, self.table)

    def workloads(self) -> set[str]:
        """The workloads with at least one item, without building the items of any other
        chunk than those built in any case (no workload of its own)."""
        found = {chunk.workload for chunk in self._chunks
                 if chunk.workload is not None and chunk.length}
        return found | {item.config.workload for chunk in self._chunks
                        if chunk.workload is None for item in chunk.get()}

    def for_workload(self, name: str,
                     instead: Callable[[str], Sequence[Item]] | None = None) -> list[Item]:
        """This workload's items, in order; `instead` builds a part of the items of a workload
        whose chunk is not built yet (without keeping it)."""
        by_name, loose = self._indexed()
        found: list[Item] = []
        for position in by_name.get(name, ()):
            chunk = self._chunks[position]
            found.extend(chunk.get() if instead is None or chunk.items is not None
                         else instead(name))
        return found + loose.get(name, [])

    def restricted_to(self, names: Collection[str]) -> Items[Item]:
        """The items of these workloads only, in order, sharing this sequence's chunks (none is
        built for it). Without the table: its arrays hold every workload (array paths such as
        pruning's would read the others)."""
        chunks = [chunk for chunk in self._chunks if chunk.workload in names]
        loose = tuple(item for chunk in self._chunks if chunk.workload is None
                      for item in chunk.get() if item.config.workload in names)
        if loose:
            chunks.append(_Chunk(None, len(loose), tuple, loose))
        return Items(chunks)

    def table_for(self, name: str) -> CandidateTable | None:
        """`table` when its arrays hold exactly this workload's items (none added to them)."""
        if self.table is None or name not in self.table.index:
            return None
        return None if self._indexed()[1].get(name) else self.table

    def _indexed(self) -> tuple[dict[str, list[int]], dict[str, list[Item]]]:
        """Per workload: its chunks (positions), and its items in chunks of any workload."""
        if self._by_name is None:
            self._by_name = defaultdict(list)
            for position, chunk in enumerate(self._chunks):
                if chunk.workload is not None:
                    self._by_name[chunk.workload].append(position)
        if self._loose is None:
            self._loose = defaultdict(list)
            for chunk in self._chunks:
                if chunk.workload is None:
                    for item in chunk.get():
                        self._loose[item.config.workload].append(item)
        return self._by_name, self._loose


class CandidateSet:
    """Every workload's feasible candidates and rejected configurations, in enumeration order
    (candidate `index` is its position in `candidates`)."""

    def __init__(self, candidates: Sequence[Candidate], rejections: Sequence[Rejection]) -> None:
        self._candidates: Items[Candidate] = Items.of(candidates)
        self._rejections: Items[Rejection] = Items.of(rejections)

    @property
    def candidates(self) -> Items[Candidate]:
        return self._candidates

    @property
    def rejections(self) -> Items[Rejection]:
        return self._rejections

    @property
    def table(self) -> CandidateTable | None:
        """The candidates as arrays (per workload profile), when built by `build_candidates`."""
        return self._candidates.table

    def for_workload(self, name: str) -> list[Candidate]:
        return self._candidates.for_workload(name)

    def rejection_reasons(self, name: str) -> set[Reason]:
        """Why this workload's configurations were rejected, from the table's arrays when it
        holds them (a fleet of 200 has 2.2 million rejections: not built for this)."""
        table = self.rejection_table_for(name)
        if table is None:
            return {r.reason for r in self.rejections_for(name)}
        from planner.enumeration import REASONS

        codes = table.rejection_arrays(table.index[name]).reason
        return {REASONS[code] for code in set(codes.tolist())}

    def options_of(self, name: str) -> Sequence[Candidate]:
        """`for_workload`, but when the table holds this workload's candidates each is built
        only when read (an explanation reads a few of thousands)."""
        table = self.candidate_table_for(name)
        if table is None:
            return self.for_workload(name)
        return _TableCandidates(table, table.index[name])

    def candidate_table_for(self, name: str) -> CandidateTable | None:
        """The table whose arrays hold exactly this workload's candidates, if any."""
        return self._candidates.table_for(name)

    def rejection_table_for(self, name: str) -> CandidateTable | None:
        """The table whose arrays hold exactly this workload's rejections, if any."""
        return self._rejections.table_for(name)

    def only(self, active: Sequence[int] | None) -> CandidateSet:
        """The candidates with these indices (all when None), as their own set without
        rejections: what the MIP needs, without building the others."""
        if active is None:
            return self
        table = self._candidates.table
        if table is None:
            chosen = set(active)
            return CandidateSet(tuple(c for c in self._candidates if c.index in chosen), ())
        return CandidateSet(table.candidates_at(active), ())

    def rejections_for(self, name: str, below: float | None = None) -> list[Rejection]:
        """This workload's rejected configurations; with `below`, at least those priced below
        it (on a large catalog most are dearer, and are then not built)."""
        table = self._rejections.table
        if below is None or table is None:
            return self._rejections.for_workload(name)
        return self._rejections.for_workload(
            name, lambda workload: table.rejections_of(table.index[workload], below))


class _TableCandidates(Sequence[Candidate]):
    """One workload's candidates in a table, each built when first read."""

    def __init__(self, table: CandidateTable, workload: int) -> None:
        self.table = table
        self.workload = workload
        self.length = int(table.candidate_count[workload])
        self.built: dict[int, Candidate] = {}

    def __len__(self) -> int:
        return self.length

    @overload
    def __getitem__(self, position: int) -> Candidate: ...

    @overload
    def __getitem__(self, position: slice) -> Sequence[Candidate]: ...

    def __getitem__(self, position: int | slice) -> Candidate | Sequence[Candidate]:
        if isinstance(position, slice):
            return [self[p] for p in range(*position.indices(self.length))]
        if position < 0:
            position += self.length
        if not 0 <= position < self.length:
            raise IndexError("candidate position out of range")
        if position not in self.built:
            self.built[position] = self.table.candidate_at(self.workload, position)
        return self.built[position]


def instances_needed(rate_rps: float, capacity_rps: float, min_replicas: int,
                     replicas_per_instance: int) -> int:
    """Instances of one configuration that serve a workload alone (demand and replicas)."""
    return max(math.ceil(rate_rps / capacity_rps - 1e-9),
               math.ceil(min_replicas / replicas_per_instance), 1)


def tensor_parallel_degrees(count: int) -> list[int]:
    """Divisors of the instance's accelerator count that are powers of two (and the count)."""
    degrees = {d for d in (1, 2, 4, 8, 16) if count % d == 0}
    degrees.add(count)
    return sorted(degrees)


def offer_allowed(problem: Problem, catalog: Catalog, offer: Offer) -> bool:
    allow = problem.allow
    if allow.providers is not None and offer.provider not in allow.providers:
        return False
    if allow.regions is not None and offer.region not in allow.regions:
        return False
    if allow.accelerators is not None:
        allowed = {catalog.resolve_accelerator(name) for name in allow.accelerators}
        if offer.accelerator not in allowed:
            return False
    return True


def quota_blocks(problem: Problem, catalog: Catalog, offer: Offer) -> int | None:
    """The smallest quota that matches the offer and is below one instance, if any."""
    for quota in problem.quotas:
        if not quota.covers(catalog, offer.accelerator, offer.provider, offer.region):
            continue
        if quota.max_accelerators < offer.count:
            return quota.max_accelerators
    return None


def spot_allowance(workload: Workload, offer: Offer, mode: PricingMode) -> float:
    """Share of a spot instance's capacity held back for interruptions.

    Online: the offer's monthly interruption rate, read conservatively as the share of spot
    capacity that may be reclaimed at once, so the SLO holds while replacements start.
    Batch: the expected work lost (restart and the batch in flight) per instance-hour."""
    rate = offer.spot_interruption_rate
    if mode is not PricingMode.spot or rate is None:
        return 0.0
    if isinstance(workload, BatchWorkload):
        return min(0.5, rate / 730 * RESTART_HOURS_BATCH)
    return rate


def quality_of(workload: Workload, catalog: Catalog, variant: Variant, model: str | None = None
               ) -> tuple[float, str | None]:
    """Quality of `model` (default: the workload's) in `variant`, relative to the workload's
    model at bf16, and, if it misses a floor, the reason. The absolute score is the served
    model's score times the variant's retention."""
    served = catalog.models[model or workload.model]
    relative = variant.quality_retention
    if served.name != workload.model:
        relative *= served.quality / catalog.models[workload.model].quality
    if workload.min_quality is not None and relative < workload.min_quality:
        return relative, f"quality {relative:.3f} < floor {workload.min_quality:.3f}"
    score = served.quality * variant.quality_retention
    if workload.min_quality_score is not None and score < workload.min_quality_score:
        return relative, f"quality score {score:.3f} < floor {workload.min_quality_score:.3f}"
    return relative, None


def variant_problem(workload: Workload, catalog: Catalog, variant: Variant, offer: Offer
                    ) -> tuple[Reason, str] | None:
    if workload.variants is not None and variant.name not in workload.variants:
        return Reason.variant_not_allowed, f"{variant.name} not in the workload's variants"
    accelerator = catalog.accelerators[offer.accelerator]
    if variant.architectures is not None and accelerator.architecture not in variant.architectures:
        return (Reason.variant_unsupported,
                f"{variant.name} has no kernels for {accelerator.name} ({accelerator.architecture})")
    if variant.compute not in accelerator.tflops:
        return (Reason.variant_unsupported,
                f"{accelerator.name} has no {variant.compute.value} tensor cores")
    return None


def slo_problem(workload: Workload, performance: Estimate) -> tuple[Reason, str] | None:
    if not isinstance(workload, OnlineWorkload):
        return None
    slo = workload.slo
    if slo.ttft_ms is not None and performance.ttft_ms > slo.ttft_ms:
        return Reason.ttft, f"TTFT {performance.ttft_ms:.0f} ms > SLO {slo.ttft_ms:.0f} ms"
    if slo.tpot_ms is not None and performance.tpot_ms > slo.tpot_ms:
        return Reason.tpot, f"TPOT {performance.tpot_ms:.1f} ms > SLO {slo.tpot_ms:.1f} ms"
    if slo.e2e_ms is not None and performance.e2e_ms > slo.e2e_ms:
        return Reason.e2e, f"E2E {performance.e2e_ms:.0f} ms > SLO {slo.e2e_ms:.0f} ms"
    return None


def performance_of(workload: Workload, catalog: Catalog, variant: Variant, offer: Offer,
                   tensor_parallel: int, batch: int, model: str | None = None) -> Estimate:
    """A measured point for exactly this configuration wins; otherwise the roofline of `model`
    (default: the workload's), scaled by the workload's nearest measurement of that model on
    the same accelerator and variant if it has one."""
    served = catalog.models[model or workload.model]
    accelerator = catalog.accelerators[offer.accelerator]
    prompt, output = workload.tokens.prompt, workload.tokens.output
    points = [p for p in measured_points(workload, served.name)
              if catalog.resolve_accelerator(p.accelerator) == accelerator.name
              and p.variant == variant.name]
    for point in points:
        if point.count == tensor_parallel and point.batch == batch:
            return measured_estimate(served, variant, accelerator, tensor_parallel, batch, prompt,
                                     output, point.ttft_ms, point.tpot_ms, point.throughput_rps)
    roofline = estimate(served, variant, accelerator, tensor_parallel, batch, prompt, output)
    if not points:
        return roofline
    nearest = min(points, key=lambda p: (p.count != tensor_parallel,
                                         abs(math.log2(p.batch / batch)), p.batch, p.count))
    at_point = estimate(served, variant, accelerator, nearest.count, nearest.batch, prompt, output)
    return rescale(roofline, nearest.ttft_ms / at_point.ttft_ms,
                   nearest.tpot_ms / at_point.tpot_ms,
                   nearest.throughput_rps / at_point.throughput_rps,
                   f"roofline scaled to measured tp{nearest.count} b{nearest.batch}")


def measured_points(workload: Workload, model: str) -> tuple[Measurement, ...]:
    """The workload's measurements of `model` (a point without a model is of the workload's)."""
    return tuple(p for p in workload.measured if (p.model or workload.model) == model)


def cheapest_monthly(catalog: Catalog, offer: Offer, modes: tuple[PricingMode, ...]) -> float | None:
    prices = [p for p in (catalog.monthly_price(offer, m) for m in modes) if p is not None]
    return min(prices) if prices else None


def _best_setting(workload: Workload, catalog: Catalog, model: str, variant: Variant,
                  offer: Offer, utilisation: float, reject: Callable[..., None]
                  ) -> tuple[float, int, int, Estimate] | None:
    """The (tensor-parallel, batch) setting with the most capacity that fits and meets the SLO;
    every other setting is rejected with its reason."""
    best: tuple[float, int, int, Estimate] | None = None
    for tp in tensor_parallel_degrees(offer.count):
        for batch in workload.batch_sizes or BATCH_SIZES:
            perf = performance_of(workload, catalog, variant, offer, tp, batch, model)
            if not perf.fits:
                reject(Reason.memory, memory_detail(perf, tp, offer), tp, batch, perf)
                continue
            slo_found = slo_problem(workload, perf)
            if slo_found:
                reject(*slo_found, tp, batch, perf)
                continue
            capacity = perf.throughput_rps * utilisation * (offer.count // tp)
            if best is None or capacity > best[0] + CAPACITY_TOLERANCE:
                if best is not None:
                    reject(Reason.dominated, dominated_detail(tp, batch), *best[1:])
                best = (capacity, tp, batch, perf)
            else:
                reject(Reason.dominated, dominated_detail(best[1], best[2]), tp, batch, perf)
    return best


def memory_detail(perf: Estimate, tensor_parallel: int, offer: Offer) -> str:
    return (f"needs {perf.memory_needed_gb:.1f} GB > {perf.memory_usable_gb:.1f} GB usable on "
            f"{tensor_parallel}x{offer.accelerator}")


def dominated_detail(tensor_parallel: int, batch: int) -> str:
    """Why a (tensor-parallel, batch) setting lost to the one named."""
    return f"less capacity than tp{tensor_parallel} b{batch}"


def quota_detail(offer: Offer, blocked: int) -> str:
    return f"one instance needs {offer.count} {offer.accelerator}, quota allows {blocked}"


def no_price_detail(offer: Offer, mode: PricingMode) -> str:
    return f"{offer.key} has no {mode.value} price"


SPOT_NOT_ALLOWED = "max_spot_share is 0"


def utilisation_of(problem: Problem, workload: Workload) -> float:
    """Share of a replica's throughput that is planned: the cap online, saturated for batch."""
    return (problem.performance.utilisation_cap if isinstance(workload, OnlineWorkload)
            else BATCH_UTILISATION)


def build_candidates(problem: Problem, catalog: Catalog) -> CandidateSet:
    """Enumerate every configuration of every workload; keep the feasible, explain the rest.

    Vectorised (`planner.enumeration`): the roofline of every setting of a workload shape is
    evaluated as arrays, shared by the workloads of that shape, and candidates and rejections
    become objects only when read. The result equals `reference_candidates` (tested)."""
    from planner.enumeration import enumerate_candidates

    return enumerate_candidates(problem, catalog)


def reference_candidates(problem: Problem, catalog: Catalog) -> CandidateSet:
    """The scalar reference for `build_candidates`: one `performance_of` call per setting."""
    candidates: list[Candidate] = []
    rejections: list[Rejection] = []
    modes = problem.allow.pricing
    offers = [offer for offer in catalog.offers if offer_allowed(problem, catalog, offer)]
    serving = [w for w in problem.workloads if isinstance(w, OnlineWorkload | BatchWorkload)]
    settings = [(workload, model, offer, variant) for workload in serving
                for model in workload.models
                for offer, variant in itertools.product(offers, catalog.variants.values())]
    for workload, model, offer, variant in settings:
        utilisation = utilisation_of(problem, workload)
        price_hint = cheapest_monthly(catalog, offer, modes)

        def reject(reason: Reason, detail: str, tp: int = offer.count, batch: int = 1,
                   perf: Estimate | None = None, workload: ServingWorkload = workload,
                   offer: Offer = offer, variant: Variant = variant,
                   price_hint: float | None = price_hint, model: str = model) -> None:
            config = Config(workload.name, offer, None, variant.name, tp, batch, model)
            rejections.append(Rejection(config, reason, detail, price_hint, perf))

        problem_found = variant_problem(workload, catalog, variant, offer)
        if problem_found:
            reject(*problem_found)
            continue
        quality, quality_detail = quality_of(workload, catalog, variant, model)
        if quality_detail:
            reject(Reason.quality, quality_detail)
            continue
        blocked = quota_blocks(problem, catalog, offer)
        if blocked is not None:
            reject(Reason.quota, quota_detail(offer, blocked))
            continue
        best = _best_setting(workload, catalog, model, variant, offer, utilisation, reject)
        if best is None:
            continue
        capacity, tp, batch, perf = best
        for mode in (m for m in PricingMode if m in modes):  # canonical order, stable indices
            config = Config(workload.name, offer, mode, variant.name, tp, batch, model)
            monthly = catalog.monthly_price(offer, mode)
            if monthly is None:
                rejections.append(Rejection(config, Reason.no_price, no_price_detail(offer, mode),
                                            None, perf))
            elif mode is PricingMode.spot and workload.max_spot_share == 0:
                rejections.append(Rejection(config, Reason.spot_not_allowed, SPOT_NOT_ALLOWED,
                                            monthly, perf))
            else:
                usage, carbon = hourly_costs(problem, catalog, offer, mode)
                candidates.append(Candidate(
                    len(candidates), config, perf,
                    capacity * (1 - spot_allowance(workload, offer, mode)), monthly, quality,
                    usage, carbon, workload.kind))
    return CandidateSet(tuple(candidates), tuple(rejections))


def hourly_costs(problem: Problem, catalog: Catalog, offer: Offer, mode: PricingMode
                 ) -> tuple[float, float]:
    """(usage, carbon) cost of one busy instance-hour of `offer` in `mode`."""
    if mode.committed:
        usage = catalog.busy_energy_usd_per_hour(offer, mode)
    else:
        usage = offer.prices_usd_per_hour.get(mode) or 0.0
    carbon = 0.0
    if problem.carbon_usd_per_tonne:
        kg = catalog.kg_co2_per_busy_hour(offer)
        carbon = (kg or 0.0) * problem.carbon_usd_per_tonne / 1000
    return usage, carbon
