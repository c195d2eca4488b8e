"""KServe: one InferenceService per serving group (a workload's replicas that run the same
vLLM command), with a fixed replica count and node affinity ORed over the group's offers in one cluster."""

from __future__ import annotations

from typing import Any

from planner.plan import Allocation

from . import pods
from .common import ExportContext, ExportFile, ServingGroup, cluster, describe, header, why_lines
from .scheduling import affinity, node_selector, tolerations
from .yamltext import dump

TARGET = "kserve"
API_VERSION = "serving.kserve.io/v1beta1"
# KServe runs a predictor's custom container under this name (kserve.io docs, custom predictors).
CONTAINER_NAME = "kserve-container"


def render(context: ExportContext, image: str) -> list[ExportFile]:
    """One folder per cluster (provider and region); a group spanning clusters gets one
    InferenceService in each."""
    files = []
    for group in context.groups:
        by_cluster: dict[str, list[Allocation]] = {}
        for placement in group.placements:
            by_cluster.setdefault(cluster(placement.allocation), []).append(placement.allocation)
        files += [_inference_service(context, group, allocations, image, folder)
                  for folder, allocations in by_cluster.items()]
    return files


def _inference_service(context: ExportContext, group: ServingGroup, allocations: list[Allocation],
                       image: str, folder: str) -> ExportFile:
    replicas = sum(a.replicas for a in allocations)
    cost = sum(a.cost_usd_per_month for a in allocations)
    predictor: dict[str, Any] = {"minReplicas": replicas, "maxReplicas": replicas}
    node_affinity = affinity(allocations)
    if node_affinity is None:
        predictor["nodeSelector"] = node_selector(allocations[0])
    else:
        predictor["affinity"] = node_affinity
    predictor["tolerations"] = tolerations(allocations)
    predictor["containers"] = [pods.container(group, allocations[0], image, CONTAINER_NAME)]
    predictor["volumes"] = [pods.shared_memory_volume()]
    manifest = {
        "apiVersion": API_VERSION,
        "kind": "InferenceService",
        "metadata": {"name": group.name, "labels": pods.labels(group, group.name),
                     "annotations": pods.object_annotations(context, group, allocations)},
        "spec": {"predictor": predictor},
    }
    about = [f"InferenceService {group.name} in cluster {folder}: {replicas} replicas "
             f"(${cost:,.2f}/month) on"]
    about += [f"  {describe(a)}" for a in allocations]
    if len(allocations) > 1:
        about.append("KServe places replicas on any of these offers; the plan's split per offer "
                     "is above (the Kubernetes export pins it)")
    about += why_lines(group)
    return ExportFile(f"{folder}/inferenceservice-{group.name}.yaml",
                      header(TARGET, context, about) + dump(manifest))
