"""SkyPilot: one SkyServe service YAML per serving group.

A SkyServe replica is one instance; an instance with room for several tensor-parallel replicas
runs one vLLM server with `--data-parallel-size`. Several offers become `any_of`; spot and
on-demand offers in one group become `use_spot: true` with `base_ondemand_fallback_replicas`
set to the plan's on-demand and reserved instances (docs.skypilot.co, SkyServe spot policy).
Reserved pricing is a billing commitment on on-demand instances, so it launches on-demand.
"""

from __future__ import annotations

import shlex
from typing import Any

from planner.plan import Allocation

from .common import ExportContext, ExportFile, ServingGroup, describe, header, is_spot, why_lines
from .devices import TPU, device, skypilot_name
from .vllm_flags import SERVE_PORT, server_args
from .yamltext import dump

TARGET = "skypilot"
# Model download and load take minutes; SkyServe's default initial delay is 1200 s.
_READINESS = {"path": "/health", "initial_delay_seconds": 1800}


def render(context: ExportContext) -> list[ExportFile]:
    return [_service(context, group) for group in context.groups]


def location(allocation: Allocation) -> dict[str, Any]:
    """One place SkyPilot may launch a replica: cloud, region, instance and its accelerators."""
    entry: dict[str, Any] = {"cloud": allocation.provider, "region": allocation.region}
    found = device(allocation.accelerator)
    if found.resource == TPU:
        # GCP TPU VMs are named by their accelerator (e.g. tpu-v6e-1), with no instance type.
        entry["accelerators"] = {allocation.instance_type: 1}
        return entry
    entry["instance_type"] = allocation.instance_type
    name = skypilot_name(allocation.provider, allocation.accelerator)
    if name is not None:
        entry["accelerators"] = {name: allocation.accelerators_per_instance}
    return entry


def run_command(group: ServingGroup) -> str:
    args = server_args(group.command)
    if group.replicas_per_instance > 1:
        args += ["--data-parallel-size", str(group.replicas_per_instance)]
    return shlex.join(["vllm", "serve", *args]) + "\n"


def _service(context: ExportContext, group: ServingGroup) -> ExportFile:
    allocations = [p.allocation for p in group.placements]
    spot = [a for a in allocations if is_spot(a)]
    on_demand_instances = sum(a.instances for a in allocations if not is_spot(a))
    resources: dict[str, Any] = {}
    places = [location(a) for a in allocations]
    unique = [place for index, place in enumerate(places) if place not in places[:index]]
    if len(unique) == 1:
        resources.update(unique[0])
    else:
        resources["any_of"] = unique
    resources["use_spot"] = bool(spot)
    resources["ports"] = SERVE_PORT
    replicas = group.instances
    policy: dict[str, Any] = {"min_replicas": replicas, "max_replicas": replicas}
    if spot and on_demand_instances:
        policy["base_ondemand_fallback_replicas"] = on_demand_instances
    task = {
        "name": group.name,
        "resources": resources,
        "envs": {"HF_TOKEN": ""},
        "service": {"readiness_probe": dict(_READINESS), "replica_policy": policy},
        "run": run_command(group),
    }
    about = [f"service {group.name}: {replicas} instances, {group.replicas} vLLM replicas "
             f"(${group.cost_usd_per_month:,.2f}/month) on"]
    about += [f"  {describe(a)}" for a in allocations]
    if spot and on_demand_instances:
        about.append(f"spot mix: {on_demand_instances} on-demand/reserved instances always, the rest spot")
    if len(unique) > 1:
        about.append("SkyServe picks among any_of itself; the plan's split per offer is above")
    about.append("set HF_TOKEN (sky serve up --env HF_TOKEN) for gated models")
    about += why_lines(group)
    return ExportFile(f"{group.name}.yaml", header(TARGET, context, about) + dump(task))
