"""Our own checks of exported Kubernetes objects, for what schemas do not say.

JSON schemas type labels as plain strings and know nothing of device plugins or Karpenter, so
these rules check: object names (DNS-1123), label keys and values and annotation keys
(kubernetes.io/docs/concepts/overview/working-with-objects/labels), that device resources are
known and requested whole with requests equal to limits (extended resources cannot be
overcommitted), that the GPU product or GKE accelerator a pod selects matches the device it
requests, that a Deployment's selector matches its pods, and Karpenter NodePool rules
(karpenter.sh/v1 API: requirement operators, capacity types, restricted label domains,
nodeClassRef).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from .devices import (
    DEVICE_RESOURCES,
    DEVICES,
    GKE_ACCELERATOR_LABEL,
    GKE_TPU_LABEL,
    GPU_PRODUCT_LABEL,
    NVIDIA_GPU,
    TPU,
)
from .scheduling import CAPACITY_TYPE_LABEL

_LABEL_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS_1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_STANDARD_RESOURCES = frozenset({"cpu", "memory", "ephemeral-storage"})
_CAPACITY_TYPES = frozenset({"spot", "on-demand", "reserved"})
_OPERATORS = frozenset({"In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt"})
_GPU_PRODUCTS = frozenset(d.gpu_product for d in DEVICES.values() if d.gpu_product)
_GKE_GPUS = frozenset(d.gke for d in DEVICES.values() if d.gke and d.resource == NVIDIA_GPU) | {
    "nvidia-h100-mega-80gb"}
_GKE_TPUS = frozenset(d.gke for d in DEVICES.values() if d.gke and d.resource == TPU)
# Karpenter v1 lets NodePools set labels in these domains only as listed (karpenter.sh_nodepools
# CRD, template.metadata.labels validations).
_KARPENTER_ALLOWED_KUBERNETES_LABELS = frozenset({
    "topology.kubernetes.io/zone", "topology.kubernetes.io/region", "kubernetes.io/arch",
    "kubernetes.io/os", "node.kubernetes.io/windows-build"})


def qualified_name_problems(key: str) -> list[str]:
    """Problems with a label or annotation key: optional DNS-subdomain prefix, name <= 63."""
    prefix, _, name = key.rpartition("/")
    problems = []
    if prefix and (len(prefix) > 253 or not all(_DNS_LABEL.match(part) for part in prefix.split("."))):
        problems.append(f"key {key!r}: prefix must be a DNS subdomain")
    if not name or len(name) > 63 or not _LABEL_NAME.match(name):
        problems.append(f"key {key!r}: name must be 1-63 alphanumerics, '-', '_' or '.'")
    return problems


def label_problems(labels: dict[str, Any], where: str) -> list[str]:
    problems = []
    for key, value in labels.items():
        problems += [f"{where}: {p}" for p in qualified_name_problems(str(key))]
        if not isinstance(value, str):
            problems.append(f"{where}: label {key!r} value must be a string (got {value!r})")
        elif len(value) > 63 or not _LABEL_VALUE.match(value):
            problems.append(f"{where}: label {key!r} value {value!r} is not a valid label value")
    return problems


def check_object(document: dict[str, Any]) -> list[str]:
    """Every rule that applies to one exported Kubernetes object."""
    kind = document.get("kind")
    metadata = document.get("metadata") or {}
    where = f"{kind} {metadata.get('name')}"
    problems = _metadata_problems(kind, metadata, where)
    if kind == "Deployment":
        problems += _deployment_problems(document, where)
    elif kind == "InferenceService":
        predictor = document.get("spec", {}).get("predictor", {})
        problems += _pod_problems(predictor, f"{where} predictor")
    elif kind == "NodePool":
        problems += _node_pool_problems(document, where)
    elif kind in ("Service", "PodDisruptionBudget"):
        selector = document.get("spec", {}).get("selector", {})
        labels = selector.get("matchLabels", selector) if kind == "PodDisruptionBudget" else selector
        problems += label_problems(labels, f"{where} selector")
    return problems


def _metadata_problems(kind: Any, metadata: dict[str, Any], where: str) -> list[str]:
    name = metadata.get("name")
    problems = []
    pattern = _DNS_1035 if kind == "Service" else _DNS_LABEL
    if not isinstance(name, str) or len(name) > 63 or not pattern.match(name):
        problems.append(f"{where}: name must be a DNS label (lowercase alphanumerics and '-', <= 63)")
    problems += label_problems(metadata.get("labels") or {}, f"{where} labels")
    for key in metadata.get("annotations") or {}:
        problems += [f"{where} annotations: {p}" for p in qualified_name_problems(str(key))]
    return problems


def _deployment_problems(document: dict[str, Any], where: str) -> list[str]:
    spec = document.get("spec", {})
    template = spec.get("template", {})
    pod_labels = template.get("metadata", {}).get("labels") or {}
    problems = label_problems(pod_labels, f"{where} pod labels")
    selector = spec.get("selector", {}).get("matchLabels") or {}
    if not selector or any(pod_labels.get(k) != v for k, v in selector.items()):
        problems.append(f"{where}: selector {selector} does not match the pod labels")
    return problems + _pod_problems(template.get("spec", {}), f"{where} pod")


def _selected(pod: dict[str, Any]) -> Iterator[tuple[str, str]]:
    yield from (pod.get("nodeSelector") or {}).items()
    terms = (pod.get("affinity") or {}).get("nodeAffinity", {}).get(
        "requiredDuringSchedulingIgnoredDuringExecution", {}).get("nodeSelectorTerms", [])
    for term in terms:
        for expression in term.get("matchExpressions", []):
            for value in expression.get("values", []):
                yield expression["key"], value


def _pod_problems(pod: dict[str, Any], where: str) -> list[str]:
    problems = label_problems(pod.get("nodeSelector") or {}, f"{where} nodeSelector")
    requested: set[str] = set()
    for container in pod.get("containers", []):
        resources = container.get("resources") or {}
        limits, requests = resources.get("limits") or {}, resources.get("requests") or {}
        for key in set(limits) | set(requests):
            if key not in _STANDARD_RESOURCES and key not in DEVICE_RESOURCES:
                problems.append(f"{where}: unknown resource {key!r} (devices: {', '.join(DEVICE_RESOURCES)})")
            if key in DEVICE_RESOURCES:
                requested.add(key)
                problems += _device_count_problems(key, limits.get(key), requests.get(key), where)
    selected = list(_selected(pod))
    for key, value in selected:
        problems += _selection_problems(key, value, requested, where)
    return problems


def _device_count_problems(key: str, limit: Any, request: Any, where: str) -> list[str]:
    problems = []
    if not (isinstance(limit, str) and limit.isdigit() and int(limit) > 0):
        problems.append(f"{where}: {key} limit must be a whole number of devices (got {limit!r})")
    if request is not None and request != limit:
        problems.append(f"{where}: {key} request {request!r} must equal its limit {limit!r}")
    return problems


def _selection_problems(key: str, value: str, requested: set[str], where: str) -> list[str]:
    if key == GPU_PRODUCT_LABEL:
        if value not in _GPU_PRODUCTS:
            return [f"{where}: {key}={value!r} is not a known GPU product"]
        if NVIDIA_GPU not in requested:
            return [f"{where}: selects an NVIDIA GPU product but requests no {NVIDIA_GPU}"]
    if key == GKE_ACCELERATOR_LABEL and (value not in _GKE_GPUS or NVIDIA_GPU not in requested):
        return [f"{where}: {key}={value!r} needs a known GKE GPU and a {NVIDIA_GPU} request"]
    if key == GKE_TPU_LABEL and (value not in _GKE_TPUS or TPU not in requested):
        return [f"{where}: {key}={value!r} needs a known GKE TPU and a {TPU} request"]
    if key == CAPACITY_TYPE_LABEL and value not in _CAPACITY_TYPES:
        return [f"{where}: {key}={value!r} is not one of {sorted(_CAPACITY_TYPES)}"]
    return []


def _node_pool_problems(document: dict[str, Any], where: str) -> list[str]:
    spec = document.get("spec", {})
    template = spec.get("template", {})
    labels = template.get("metadata", {}).get("labels") or {}
    problems = label_problems(labels, f"{where} template labels")
    for key in labels:
        domain = key.rpartition("/")[0]
        restricted = domain.endswith(("kubernetes.io", "k8s.io", "karpenter.sh"))
        if restricted and key not in _KARPENTER_ALLOWED_KUBERNETES_LABELS and not domain.endswith(
                "node.kubernetes.io"):
            problems.append(f"{where}: label {key!r} is in a domain Karpenter restricts")
    node_spec = template.get("spec", {})
    reference = node_spec.get("nodeClassRef") or {}
    if not all(isinstance(reference.get(k), str) and reference.get(k) for k in ("group", "kind", "name")):
        problems.append(f"{where}: nodeClassRef needs group, kind and name")
    for requirement in node_spec.get("requirements", []):
        problems += _requirement_problems(requirement, where)
    for key, value in (spec.get("limits") or {}).items():
        if key not in _STANDARD_RESOURCES and key not in DEVICE_RESOURCES:
            problems.append(f"{where}: unknown resource {key!r} in limits")
        if not (isinstance(value, str) and value.isdigit()):
            problems.append(f"{where}: limit {key} must be a whole number (got {value!r})")
    return problems


def _requirement_problems(requirement: dict[str, Any], where: str) -> list[str]:
    key, operator = requirement.get("key", ""), requirement.get("operator")
    values = requirement.get("values") or []
    problems = [f"{where} requirement: {p}" for p in qualified_name_problems(str(key))]
    if operator not in _OPERATORS:
        problems.append(f"{where}: {key}: operator {operator!r} is not one of {sorted(_OPERATORS)}")
    if operator in ("In", "NotIn") and not values:
        problems.append(f"{where}: requirement {key} {operator} needs values")
    if key == CAPACITY_TYPE_LABEL:
        problems += [f"{where}: capacity type {v!r} is not one of {sorted(_CAPACITY_TYPES)}"
                     for v in values if v not in _CAPACITY_TYPES]
    problems += [f"{where}: requirement {key} value {v!r} is not a valid label value"
                 for v in values if not (isinstance(v, str) and len(v) <= 63 and _LABEL_VALUE.match(v))]
    return problems
