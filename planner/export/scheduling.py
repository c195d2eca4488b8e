"""Where a replica's pod may run: node labels, tolerations and device requests per allocation.

Labels by provider:
- aws, azure (Karpenter on EKS, Node Auto Provisioning on AKS): `node.kubernetes.io/instance-type`
  and `topology.kubernetes.io/region` (well-known labels, kubernetes.io/docs/reference/labels-
  annotations-taints), `karpenter.sh/capacity-type` spot|on-demand (karpenter.sh/docs/concepts/
  scheduling). Reserved pricing is a billing commitment (RI, savings plan, reservation) on
  on-demand capacity, so it selects on-demand.
- gcp (GKE): instance type and region as above, `cloud.google.com/gke-accelerator` or the TPU
  labels, `cloud.google.com/gke-spot: "true"` for Spot VMs and a toleration for the taint GKE puts
  on auto-provisioned Spot nodes (cloud.google.com/kubernetes-engine/docs/concepts/spot-vms);
  on-demand pods keep off Spot nodes with a `DoesNotExist` node affinity.
- anywhere else (Lambda, RunPod, on-premises): the NVIDIA product label only.
NVIDIA pods also select `nvidia.com/gpu.product` wherever GPU Feature Discovery runs (not on
GKE, whose own device plugin labels nodes instead); the NodePools we write declare the label, so
Karpenter knows its nodes will carry it.
"""

from __future__ import annotations

from typing import Any

from planner.plan import Allocation

from .common import is_spot
from .devices import (
    GKE_ACCELERATOR_LABEL,
    GKE_TPU_LABEL,
    GKE_TPU_TOPOLOGY_LABEL,
    GPU_PRODUCT_LABEL,
    TPU,
    device,
    gke_accelerator,
    tpu_topology,
)

INSTANCE_TYPE_LABEL = "node.kubernetes.io/instance-type"
REGION_LABEL = "topology.kubernetes.io/region"
CAPACITY_TYPE_LABEL = "karpenter.sh/capacity-type"
GKE_SPOT_LABEL = "cloud.google.com/gke-spot"
KARPENTER_PROVIDERS = ("aws", "azure")
CLOUD_PROVIDERS = ("aws", "azure", "gcp")


def capacity_type(allocation: Allocation) -> str:
    return "spot" if is_spot(allocation) else "on-demand"


def node_selector(allocation: Allocation) -> dict[str, str]:
    """Equality node labels a replica of `allocation` must land on."""
    found = device(allocation.accelerator)
    labels: dict[str, str] = {}
    tpu = found.resource == TPU
    if allocation.provider in CLOUD_PROVIDERS:
        if not tpu:
            labels[INSTANCE_TYPE_LABEL] = allocation.instance_type
        labels[REGION_LABEL] = allocation.region
    if allocation.provider in KARPENTER_PROVIDERS:
        labels[CAPACITY_TYPE_LABEL] = capacity_type(allocation)
    if allocation.provider == "gcp":
        labels.update(_gke_labels(allocation))
    elif found.gpu_product is not None:
        labels[GPU_PRODUCT_LABEL] = found.gpu_product
    return labels


def _gke_labels(allocation: Allocation) -> dict[str, str]:
    labels: dict[str, str] = {}
    value = gke_accelerator(allocation.accelerator, allocation.instance_type)
    if device(allocation.accelerator).resource == TPU and value is not None:
        labels[GKE_TPU_LABEL] = value
        topology = tpu_topology(value, allocation.accelerators_per_instance)
        if topology is not None:
            labels[GKE_TPU_TOPOLOGY_LABEL] = topology
    elif value is not None:
        labels[GKE_ACCELERATOR_LABEL] = value
    if is_spot(allocation):
        labels[GKE_SPOT_LABEL] = "true"
    return labels


def excluded_labels(allocation: Allocation) -> list[str]:
    """Label keys a replica's node must not have (on-demand pods off GKE Spot nodes)."""
    return [GKE_SPOT_LABEL] if allocation.provider == "gcp" and not is_spot(allocation) else []


def node_selector_term(allocation: Allocation) -> dict[str, Any]:
    """The same constraints as one `nodeSelectorTerm` (for node affinity ORed across offers)."""
    expressions: list[dict[str, Any]] = [
        {"key": key, "operator": "In", "values": [value]} for key, value in node_selector(allocation).items()
    ]
    expressions += [{"key": key, "operator": "DoesNotExist"} for key in excluded_labels(allocation)]
    return {"matchExpressions": expressions}


def tolerations(allocations: list[Allocation]) -> list[dict[str, str]]:
    """Tolerate the device taint of each allocation's accelerator, and GKE's Spot taint."""
    found: list[dict[str, str]] = []
    for allocation in allocations:
        resource = device(allocation.accelerator).resource
        entries = []
        if resource is not None:
            entries.append({"key": resource, "operator": "Exists", "effect": "NoSchedule"})
        if allocation.provider == "gcp" and is_spot(allocation):
            entries.append({"key": GKE_SPOT_LABEL, "operator": "Equal", "value": "true",
                            "effect": "NoSchedule"})
        found += [entry for entry in entries if entry not in found]
    return found


def device_resources(allocation: Allocation) -> dict[str, dict[str, str]]:
    """Requests and limits of one replica: its tensor-parallel share of the instance's devices."""
    resource = device(allocation.accelerator).resource
    if resource is None:
        return {}
    count = {resource: str(allocation.tensor_parallel)}
    return {"limits": dict(count), "requests": dict(count)}


def exclusion_affinity(allocation: Allocation) -> dict[str, Any] | None:
    """Node affinity for what a nodeSelector cannot say (label must be absent), if anything."""
    excluded = excluded_labels(allocation)
    if not excluded:
        return None
    term = {"matchExpressions": [{"key": key, "operator": "DoesNotExist"} for key in excluded]}
    return {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [term]}}}


def affinity(allocations: list[Allocation]) -> dict[str, Any] | None:
    """Node affinity with one ORed term per allocation, or None when a nodeSelector says it all."""
    needs_affinity = len(allocations) > 1 or any(excluded_labels(a) for a in allocations)
    if not needs_affinity:
        return None
    terms = []
    for allocation in allocations:
        term = node_selector_term(allocation)
        if term not in terms:
            terms.append(term)
    return {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": terms}}}
