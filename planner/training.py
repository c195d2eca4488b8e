"""Training and fine-tuning runs: which offer, pricing mode and accelerator count finish the
run by its deadline, and what each costs.

  * work: flops_per_param_token x params x tokens (6 N D for full training);
  * speed on n accelerators: n x dense bf16 peak x MFU x scaling_efficiency^log2(n);
  * memory: bytes_per_param x params, sharded over the n accelerators (FSDP / ZeRO-3), must
    fit in 90 % of their memory (activations are assumed recomputed);
  * spot: the run checkpoints every tau = sqrt(2 delta M) hours (Young's rule; delta the time
    to write a checkpoint, M the mean hours between interruptions of the whole job) and loses
    on average tau / 2 of work plus a restart per interruption;
  * cost per run: hours x instances x hourly price, spread over the horizon
    (`runs_per_horizon` runs in `horizon_months`).
Training rents on-demand or spot capacity; committed pools serve inference.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from planner.candidates import Config, Reason, Rejection, hourly_costs, offer_allowed, quota_blocks
from planner.catalog import Catalog, Offer, Precision, PricingMode
from planner.performance import MEMORY_UTILISATION
from planner.problem import Problem, TrainingWorkload

ASSUMED_INTERRUPTION_RATE = 0.2
"""Monthly spot interruption rate assumed where the catalog publishes none."""
TRAINING_MODES = (PricingMode.on_demand, PricingMode.spot)


@dataclass(frozen=True)
class TrainingOption:
    index: int
    workload: str
    offer: Offer
    mode: PricingMode
    instances: int
    hours: float
    """Wall-clock hours of one run, interruptions included."""
    overhead: float
    """Share of the run lost to checkpoints and interruptions (0 off spot)."""
    cost_usd_per_run: float
    cost_usd_per_month: float

    @property
    def accelerators(self) -> int:
        return self.instances * self.offer.count

    def label(self) -> str:
        return (f"{self.offer.key} {self.instances}x {self.offer.accelerator}x{self.offer.count} "
                f"{self.mode.value}")


def spot_overhead(rate: float, instances: int, checkpoint_hours: float, restart_hours: float
                  ) -> float:
    """Expected share of extra time on spot: checkpoint writes plus lost work and restarts."""
    if rate <= 0:
        return 0.0
    mean_hours = 730 / (rate * instances)
    interval = math.sqrt(2 * checkpoint_hours * mean_hours)
    return checkpoint_hours / interval + (interval / 2 + restart_hours) / mean_hours


def run_hours(workload: TrainingWorkload, catalog: Catalog, offer: Offer, accelerators: int
              ) -> float:
    model = catalog.models[workload.model]
    peak = catalog.accelerators[offer.accelerator].tflops[Precision.bf16] * 1e12
    speed = accelerators * peak * workload.mfu * workload.scaling_efficiency ** math.log2(accelerators)
    flops = workload.flops_per_param_token * model.params_b * 1e9 * workload.train_tokens
    return flops / speed / 3600


def memory_needed_gb(workload: TrainingWorkload, catalog: Catalog) -> float:
    return workload.bytes_per_param * catalog.models[workload.model].params_b


def _workload_options(problem: Problem, catalog: Catalog, workload: TrainingWorkload,
                      offers: list[Offer], start: int
                      ) -> tuple[list[TrainingOption], list[Rejection]]:
    options: list[TrainingOption] = []
    rejections: list[Rejection] = []
    deadline = workload.deadline_days * 24
    modes = [m for m in TRAINING_MODES if m in problem.allow.pricing
             and (m is not PricingMode.spot or workload.allow_spot)]
    needed = memory_needed_gb(workload, catalog)
    for offer in offers:
        if quota_blocks(problem, catalog, offer) is not None:
            continue
        memory = catalog.accelerators[offer.accelerator].memory_gb
        for count in workload.accelerator_counts:
            if count % offer.count:
                continue
            instances = count // offer.count
            config = Config(workload.name, offer, None, "bf16", count, 0, workload.model)
            if needed > count * memory * MEMORY_UTILISATION:
                rejections.append(Rejection(config, Reason.memory, f"needs {needed:.0f} GB > "
                                            f"{count * memory * MEMORY_UTILISATION:.0f} GB on "
                                            f"{count}x{offer.accelerator}", None))
                continue
            hours = run_hours(workload, catalog, offer, count)
            for mode in modes:
                hourly = offer.prices_usd_per_hour.get(mode)
                if hourly is None:
                    continue
                overhead = 0.0
                if mode is PricingMode.spot:
                    rate = offer.spot_interruption_rate
                    overhead = spot_overhead(ASSUMED_INTERRUPTION_RATE if rate is None else rate,
                                             instances, workload.checkpoint_minutes / 60,
                                             workload.restart_minutes / 60)
                wall = hours * (1 + overhead)
                per_run = wall * instances * sum(hourly_costs(problem, catalog, offer, mode))
                if wall > deadline:
                    rejections.append(Rejection(
                        Config(workload.name, offer, mode, "bf16", count, 0, workload.model),
                        Reason.deadline,
                        f"{wall:,.0f} h on {count}x{offer.accelerator} > deadline "
                        f"{deadline:,.0f} h", per_run * workload.runs_per_horizon
                        / problem.horizon_months))
                    continue
                options.append(TrainingOption(
                    start + len(options), workload.name, offer, mode, instances, wall, overhead,
                    per_run, per_run * workload.runs_per_horizon / problem.horizon_months))
    return options, rejections


def _undominated(problem: Problem, catalog: Catalog, options: list[TrainingOption]
                 ) -> list[TrainingOption]:
    """Options no cheaper-or-equal option beats on every quota (ties: lower index wins)."""
    if len(options) <= 1:
        return options
    cost = np.array([o.cost_usd_per_month for o in options])
    usage = np.array([[o.accelerators if q.covers(catalog, o.offer.accelerator, o.offer.provider,
                                                  o.offer.region) else 0 for q in problem.quotas]
                      for o in options], dtype=float).reshape(len(options), -1)
    order = np.arange(len(options))
    better = (cost[:, None] < cost[None, :]) | (
        (cost[:, None] == cost[None, :]) & (order[:, None] < order[None, :]))
    no_more_quota = np.all(usage[:, None, :] <= usage[None, :, :], axis=2)
    dominates = better & no_more_quota
    np.fill_diagonal(dominates, False)
    return [o for o, hit in zip(options, dominates.any(axis=0), strict=True) if not hit]


def training_options(problem: Problem, catalog: Catalog, prune: bool = True
                     ) -> tuple[tuple[TrainingOption, ...], tuple[Rejection, ...]]:
    """Feasible (offer, mode, count) choices per training workload, and the rejected ones."""
    offers = [o for o in catalog.offers if offer_allowed(problem, catalog, o)]
    options: list[TrainingOption] = []
    rejections: list[Rejection] = []
    for workload in problem.workloads:
        if not isinstance(workload, TrainingWorkload):
            continue
        found, rejected = _workload_options(problem, catalog, workload, offers, 0)
        kept = _undominated(problem, catalog, found) if prune else found
        options += [replace(option, index=len(options) + n) for n, option in enumerate(kept)]
        rejections += rejected
    return tuple(options), tuple(rejections)
