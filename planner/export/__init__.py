"""Deployment configurations from a plan: SkyPilot, Kubernetes, KServe and vLLM.

`export_plan(plan, catalog, target)` renders files in memory; `write_folder` writes them
atomically; `validate` checks them with the tools' own validators.
"""

from __future__ import annotations

from dataclasses import dataclass

from planner.catalog import Catalog
from planner.plan import Plan

from . import kserve, kubernetes, skypilot, vllm_scripts
from .common import ExportContext, ExportFile, build_context
from .devices import UnknownDevice
from .validate import K8S_VERSION, Finding, Report, ValidatorMissing, validate
from .vllm_flags import VLLM_IMAGE, VLLM_VERSION
from .writer import write_folder

TARGETS = ("skypilot", "kubernetes", "kserve", "vllm")


@dataclass(frozen=True)
class Export:
    files: tuple[ExportFile, ...]
    warnings: tuple[str, ...]
    plan_id: str


def export_plan(plan: Plan, catalog: Catalog, target: str, image: str = VLLM_IMAGE) -> Export:
    """Render `plan` for `target` (one of TARGETS).

    Raises:
        ValueError: when the plan names a model or accelerator that cannot be exported, or
            has no online-serving allocation.
    """
    context = build_context(plan, catalog)
    if not context.groups:
        raise ValueError("the plan has no online-serving allocation to export")
    files = _render(context, target, image)
    notes = sorted({note for group in context.groups for note in group.command.notes})
    warnings = [f"skipped {reason}" for reason in context.skipped] + notes
    warnings += _image_warnings(context, target, image)
    return Export(tuple(files), tuple(warnings), context.plan_id)


def _render(context: ExportContext, target: str, image: str) -> list[ExportFile]:
    if target == "kubernetes":
        return kubernetes.render(context, image)
    if target == "kserve":
        return kserve.render(context, image)
    if target == "skypilot":
        return skypilot.render(context)
    if target == "vllm":
        return vllm_scripts.render(context)
    raise ValueError(f"unknown export target '{target}' (choose from {', '.join(TARGETS)})")


def _image_warnings(context: ExportContext, target: str, image: str) -> list[str]:
    if target not in ("kubernetes", "kserve") or image != VLLM_IMAGE:
        return []
    from .devices import NVIDIA_GPU, device

    others = sorted({p.allocation.accelerator for g in context.groups for p in g.placements
                     if device(p.allocation.accelerator).resource != NVIDIA_GPU})
    if not others:
        return []
    return [f"{VLLM_IMAGE} is vLLM's CUDA image; {', '.join(others)} need their vendor's vLLM image "
            "(pass --image)"]


__all__ = [
    "K8S_VERSION",
    "TARGETS",
    "VLLM_IMAGE",
    "VLLM_VERSION",
    "Export",
    "ExportFile",
    "Finding",
    "Report",
    "UnknownDevice",
    "ValidatorMissing",
    "export_plan",
    "validate",
    "write_folder",
]
