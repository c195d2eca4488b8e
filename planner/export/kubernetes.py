"""Kubernetes: a Deployment per allocation, a Service and PodDisruptionBudget per workload,
and a Karpenter NodePool per (instance type, capacity type) on AWS and Azure."""

from __future__ import annotations

from typing import Any

from planner.plan import Allocation

from . import pods
from .common import (
    ANNOTATION_PREFIX,
    MANAGED_BY,
    ExportContext,
    ExportFile,
    Placement,
    ServingGroup,
    cluster,
    describe,
    header,
    placement_name,
    slug,
    why_lines,
)
from .devices import GPU_PRODUCT_LABEL, device
from .scheduling import (
    CAPACITY_TYPE_LABEL,
    INSTANCE_TYPE_LABEL,
    KARPENTER_PROVIDERS,
    capacity_type,
    exclusion_affinity,
    node_selector,
    tolerations,
)
from .yamltext import dump

TARGET = "kubernetes"
# Karpenter v1 node classes per provider (karpenter.sh/docs/concepts/nodeclasses for AWS;
# Azure/karpenter-provider-azure for AKS Node Auto Provisioning). "default" is the name both
# getting-started guides use; point it at your own class if it differs.
NODE_CLASSES = {
    "aws": {"group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": "default"},
    "azure": {"group": "karpenter.azure.com", "kind": "AKSNodeClass", "name": "default"},
}
# Serving nodes are emptied only when idle: consolidating busy GPU nodes would restart replicas.
_CONSOLIDATE_AFTER = "10m"


def render(context: ExportContext, image: str) -> list[ExportFile]:
    """One folder per cluster (provider and region), each complete for `kubectl apply -f`."""
    files: list[ExportFile] = []
    for name, placed in _by_cluster(context).items():
        files += [_deployment(context, group, placement.allocation, placement_name(group, placement),
                              image, name) for group, placement in placed]
        workloads: dict[str, list[tuple[ServingGroup, Placement]]] = {}
        for group, placement in placed:
            workloads.setdefault(group.workload.name, []).append((group, placement))
        for local in workloads.values():
            files.append(_service(context, local, name))
            pdb = _disruption_budget(context, local, name)
            if pdb is not None:
                files.append(pdb)
        files += _node_pools(context, [placement.allocation for _, placement in placed], name)
    return files


def _by_cluster(context: ExportContext) -> dict[str, list[tuple[ServingGroup, Placement]]]:
    clusters: dict[str, list[tuple[ServingGroup, Placement]]] = {}
    for group in context.groups:
        for placement in group.placements:
            clusters.setdefault(cluster(placement.allocation), []).append((group, placement))
    return clusters


def _deployment(context: ExportContext, group: ServingGroup, allocation: Allocation, name: str,
                image: str, folder: str) -> ExportFile:
    labels = pods.labels(group, name)
    pod_spec: dict[str, Any] = {"nodeSelector": node_selector(allocation)}
    extra_affinity = exclusion_affinity(allocation)
    if extra_affinity is not None:
        pod_spec["affinity"] = extra_affinity
    pod_spec["tolerations"] = tolerations([allocation])
    pod_spec["containers"] = [pods.container(group, allocation, image, "vllm")]
    pod_spec["volumes"] = [pods.shared_memory_volume()]
    manifest = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": labels,
                     "annotations": pods.object_annotations(context, group, [allocation])},
        "spec": {
            "replicas": allocation.replicas,
            "selector": {"matchLabels": {"app.kubernetes.io/instance": name}},
            "template": {"metadata": {"labels": labels}, "spec": pod_spec},
        },
    }
    about = [f"Deployment {name}: {describe(allocation)}", *why_lines(group)]
    return ExportFile(f"{folder}/deployment-{name}.yaml", header(TARGET, context, about) + dump(manifest))


def _service(context: ExportContext, local: list[tuple[ServingGroup, Placement]], folder: str) -> ExportFile:
    workload = local[0][0].workload
    name = slug(workload.name)
    manifest = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "labels": {"app.kubernetes.io/part-of": name,
                                              "app.kubernetes.io/managed-by": MANAGED_BY},
                     "annotations": {f"{ANNOTATION_PREFIX}plan-id": context.plan_id,
                                     f"{ANNOTATION_PREFIX}workload": workload.name}},
        "spec": {"type": "ClusterIP",
                 "selector": {"app.kubernetes.io/name": "vllm", "app.kubernetes.io/part-of": name},
                 "ports": [{"name": "http", "port": pods.SERVE_PORT, "targetPort": "http",
                            "protocol": "TCP"}]},
    }
    replicas = sum(placement.allocation.replicas for _, placement in local)
    about = [f"Service {name}: one endpoint over the {replicas} replicas of workload {workload.name} "
             f"in cluster {folder}", *why_lines(local[0][0], limit=1)]
    return ExportFile(f"{folder}/service-{name}.yaml", header(TARGET, context, about) + dump(manifest))


def replicas_needed(context: ExportContext, local: list[tuple[ServingGroup, Placement]]) -> int:
    """Fewest of these replicas that must stay up so that the workload, with all its other
    replicas still running, serves its rate: drain the largest first while spare capacity lasts."""
    workload = local[0][0].workload
    every = [p.allocation for g in context.groups if g.workload.name == workload.name for p in g.placements]
    spare = sum(a.capacity_rps for a in every) - workload.rate_rps
    per_replica = sorted((p.allocation.capacity_rps / p.allocation.replicas
                          for _, p in local for _ in range(p.allocation.replicas)), reverse=True)
    drainable = 0
    for capacity in per_replica:
        if capacity > spare + 1e-9:
            break
        spare -= capacity
        drainable += 1
    return len(per_replica) - drainable


def _disruption_budget(context: ExportContext, local: list[tuple[ServingGroup, Placement]],
                       folder: str) -> ExportFile | None:
    replicas = sum(placement.allocation.replicas for _, placement in local)
    if replicas < 2:
        return None
    workload = local[0][0].workload
    name = slug(workload.name)
    needed = max(1, replicas_needed(context, local))
    manifest = {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": name, "labels": {"app.kubernetes.io/part-of": name,
                                              "app.kubernetes.io/managed-by": MANAGED_BY},
                     "annotations": {f"{ANNOTATION_PREFIX}plan-id": context.plan_id}},
        "spec": {"minAvailable": needed,
                 "selector": {"matchLabels": {"app.kubernetes.io/name": "vllm",
                                              "app.kubernetes.io/part-of": name}}},
    }
    about = [f"PodDisruptionBudget {name}: keep {needed} of the {replicas} replicas in cluster {folder}, "
             f"the fewest that still serve {workload.rate_rps:g} req/s at the planned capacity"]
    if needed == replicas:
        about.append("the plan has no spare replica, so node drains wait until capacity is added")
    return ExportFile(f"{folder}/pdb-{name}.yaml", header(TARGET, context, about) + dump(manifest))


def _node_pools(context: ExportContext, allocations: list[Allocation], folder: str) -> list[ExportFile]:
    pools: dict[tuple[str, str, str], list[Allocation]] = {}
    for allocation in allocations:
        if allocation.provider in KARPENTER_PROVIDERS:
            key = (allocation.provider, allocation.instance_type, capacity_type(allocation))
            pools.setdefault(key, []).append(allocation)
    return [_node_pool(context, key, members, folder) for key, members in sorted(pools.items())]


def _node_pool(context: ExportContext, key: tuple[str, str, str], allocations: list[Allocation],
               folder: str) -> ExportFile:
    provider, instance_type, capacity = key
    name = slug(f"{instance_type}-{capacity}".lower(), limit=63)
    found = device(allocations[0].accelerator)
    template: dict[str, Any] = {}
    if found.gpu_product is not None:
        # Declared so Karpenter knows its nodes satisfy pods that select the GFD product label.
        template["metadata"] = {"labels": {GPU_PRODUCT_LABEL: found.gpu_product}}
    node_spec: dict[str, Any] = {
        "nodeClassRef": dict(NODE_CLASSES[provider]),
        "requirements": [
            {"key": INSTANCE_TYPE_LABEL, "operator": "In", "values": [instance_type]},
            {"key": CAPACITY_TYPE_LABEL, "operator": "In", "values": [capacity]},
        ],
    }
    if found.resource is not None:
        node_spec["taints"] = [{"key": found.resource, "value": "true", "effect": "NoSchedule"}]
    template["spec"] = node_spec
    spec: dict[str, Any] = {"template": template,
                            "disruption": {"consolidationPolicy": "WhenEmpty",
                                           "consolidateAfter": _CONSOLIDATE_AFTER}}
    instances = sum(a.instances for a in allocations)
    if found.resource is not None:
        devices = sum(a.instances * a.accelerators_per_instance for a in allocations)
        spec["limits"] = {found.resource: str(devices)}
    manifest = {
        "apiVersion": "karpenter.sh/v1",
        "kind": "NodePool",
        "metadata": {"name": name, "labels": {"app.kubernetes.io/managed-by": MANAGED_BY},
                     "annotations": {f"{ANNOTATION_PREFIX}plan-id": context.plan_id,
                                     f"{ANNOTATION_PREFIX}region": allocations[0].region}},
        "spec": spec,
    }
    pricing = sorted({a.pricing for a in allocations})
    about = [f"NodePool {name}: {provider} {instance_type} {capacity} capacity "
             f"(plan pricing {', '.join(pricing)}), at most {instances} nodes "
             f"(${sum(a.cost_usd_per_month for a in allocations):,.2f}/month)",
             "limits cap the pool at the plan's device count; reserved pricing is a billing "
             "commitment on on-demand capacity",
             *[f"serves {a.workload}: {describe(a)}" for a in allocations]]
    return ExportFile(f"{folder}/nodepool-{name}.yaml", header(TARGET, context, about) + dump(manifest))
