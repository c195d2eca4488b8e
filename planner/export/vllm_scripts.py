"""vLLM: one shell script per allocation, with the `vllm serve` command of every replica an
instance holds (each on its own devices and port)."""

from __future__ import annotations

import shlex

from planner.plan import Allocation

from .common import ExportContext, ExportFile, ServingGroup, describe, header, placement_name, why_lines
from .devices import AMD_GPU, NVIDIA_GPU, device
from .vllm_flags import SERVE_PORT, VLLM_VERSION, server_args

TARGET = "vllm"
# Environment variables that pin a process to some devices (CUDA and ROCm/HIP runtimes).
_VISIBLE_DEVICES = {NVIDIA_GPU: "CUDA_VISIBLE_DEVICES", AMD_GPU: "HIP_VISIBLE_DEVICES"}


def render(context: ExportContext) -> list[ExportFile]:
    return [_script(context, group, placement.allocation, placement_name(group, placement))
            for group in context.groups for placement in group.placements]


def replica_commands(group: ServingGroup, allocation: Allocation) -> list[str]:
    """The command line of each replica on one instance."""
    visible = _VISIBLE_DEVICES.get(device(allocation.accelerator).resource or "")
    per_instance = group.replicas_per_instance
    if visible is None and per_instance > 1:
        # Without a device-visibility variable, one server runs every replica (data parallel).
        args = [*server_args(group.command), "--data-parallel-size", str(per_instance)]
        return [shlex.join(["vllm", "serve", *args])]
    lines = []
    tp = allocation.tensor_parallel
    for slot in range(per_instance):
        command = shlex.join(["vllm", "serve", *server_args(group.command, SERVE_PORT + slot)])
        if visible is not None and per_instance > 1:
            devices = ",".join(str(d) for d in range(slot * tp, (slot + 1) * tp))
            command = f"{visible}={devices} {command}"
        lines.append(command)
    return lines


def _script(context: ExportContext, group: ServingGroup, allocation: Allocation, name: str) -> ExportFile:
    commands = replica_commands(group, allocation)
    about = [f"{name}: {describe(allocation)}",
             f"run on each of the {allocation.instances} instances; {len(commands)} vLLM "
             f"{VLLM_VERSION} server(s) per instance", *why_lines(group)]
    body = ["set -eu"]
    if len(commands) == 1:
        body.append(f"exec {commands[0]}")
    else:
        body += [f"{command} &" for command in commands]
        body.append("wait")
    text = "#!/bin/sh\n" + header(TARGET, context, about) + "\n".join(body) + "\n"
    return ExportFile(f"{name}.sh", text)
