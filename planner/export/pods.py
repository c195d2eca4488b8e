"""The serving container and the pod-level settings shared by Deployments and InferenceServices."""

from __future__ import annotations

from typing import Any

from planner.plan import Allocation

from .common import ANNOTATION_PREFIX, MANAGED_BY, ExportContext, ServingGroup, slug
from .scheduling import device_resources
from .vllm_flags import SERVE_PORT, server_args

HEALTH_PATH = "/health"
HF_TOKEN_SECRET = "hf-token"
# Gated models (Llama) need a Hugging Face token; the Secret is optional so open models start
# without it (kubectl create secret generic hf-token --from-literal=token=...).
_HF_TOKEN_ENV = {"name": "HF_TOKEN", "valueFrom": {"secretKeyRef": {
    "name": HF_TOKEN_SECRET, "key": "token", "optional": True}}}
# Model download and load can take many minutes: allow 30 minutes before the first health check
# fails the pod.
_STARTUP_FAILURES = 180
_PROBE_PERIOD_SECONDS = 10


def container(group: ServingGroup, allocation: Allocation, image: str, name: str) -> dict[str, Any]:
    probe = {"httpGet": {"path": HEALTH_PATH, "port": SERVE_PORT}, "periodSeconds": _PROBE_PERIOD_SECONDS}
    spec: dict[str, Any] = {
        "name": name,
        "image": image,
        "command": ["vllm", "serve"],
        "args": server_args(group.command),
        "ports": [{"name": "http", "containerPort": SERVE_PORT, "protocol": "TCP"}],
        "env": [_HF_TOKEN_ENV],
        "startupProbe": {**probe, "failureThreshold": _STARTUP_FAILURES},
        "readinessProbe": {**probe, "failureThreshold": 3},
        "volumeMounts": [{"name": "dshm", "mountPath": "/dev/shm"}],
    }
    resources = device_resources(allocation)
    if resources:
        spec["resources"] = resources
    return spec


def shared_memory_volume() -> dict[str, Any]:
    """vLLM's tensor-parallel workers talk through /dev/shm (docs.vllm.ai deployment/docker:
    --ipc=host or a larger --shm-size); a memory-backed emptyDir gives pods the same."""
    return {"name": "dshm", "emptyDir": {"medium": "Memory"}}


def labels(group: ServingGroup, instance: str) -> dict[str, str]:
    return {"app.kubernetes.io/name": "vllm", "app.kubernetes.io/instance": instance,
            "app.kubernetes.io/part-of": slug(group.workload.name),
            "app.kubernetes.io/managed-by": MANAGED_BY}


def object_annotations(context: ExportContext, group: ServingGroup,
                       allocations: list[Allocation]) -> dict[str, str]:
    cost = sum(a.cost_usd_per_month for a in allocations)
    return {f"{ANNOTATION_PREFIX}plan-id": context.plan_id,
            f"{ANNOTATION_PREFIX}workload": group.workload.name,
            f"{ANNOTATION_PREFIX}offers": ", ".join(f"{a.offer_key} {a.pricing}" for a in allocations),
            f"{ANNOTATION_PREFIX}cost-usd-per-month": f"{cost:.2f}"}
