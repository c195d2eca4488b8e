"""How each catalog accelerator is named by the tools we export to.

Kubernetes device-plugin resources, the NVIDIA GPU Feature Discovery product label, GKE's
accelerator labels and SkyPilot's accelerator names, keyed by the catalog's canonical names.

Sources:
- Device-plugin resources: NVIDIA k8s-device-plugin (`nvidia.com/gpu`), AMD ROCm k8s-device-plugin
  (`amd.com/gpu`), AWS Neuron device plugin (`aws.amazon.com/neuron`, one per Neuron device), GKE
  TPUs (`google.com/tpu`, cloud.google.com/kubernetes-engine/docs/how-to/tpus).
- `nvidia.com/gpu.product`: NVIDIA gpu-feature-discovery labels nodes with the `nvidia-smi` product
  name, spaces replaced by dashes (github.com/NVIDIA/gpu-feature-discovery, e.g.
  NVIDIA-H100-80GB-HBM3, NVIDIA-A100-SXM4-80GB, Tesla-T4).
- `cloud.google.com/gke-accelerator` / `gke-tpu-accelerator` values: GKE "About GPUs" and "TPUs in
  GKE" pages; the same values SkyPilot 0.14 uses (sky/provision/kubernetes/utils.py,
  get_gke_accelerator_name and GKELabelFormatter.GKE_TPU_TOPOLOGIES).
- SkyPilot names: skypilot-org/skypilot-catalog catalogs/v8 (common/accelerators.csv and each
  cloud's vms.csv `AcceleratorName`): AWS/GCP/Azure/Lambda call every H100 `H100`, RunPod keeps
  `H100-SXM`; an 80 GB SXM A100 is `A100-80GB`, on RunPod `A100-80GB-SXM`; the 40 GB A100 is `A100`.
"""

from __future__ import annotations

from dataclasses import dataclass

NVIDIA_GPU = "nvidia.com/gpu"
AMD_GPU = "amd.com/gpu"
NEURON = "aws.amazon.com/neuron"
TPU = "google.com/tpu"
DEVICE_RESOURCES = (NVIDIA_GPU, AMD_GPU, NEURON, TPU)
"""Extended resources our manifests may request; anything else is a bug (checked in rules.py)."""

GPU_PRODUCT_LABEL = "nvidia.com/gpu.product"
GKE_ACCELERATOR_LABEL = "cloud.google.com/gke-accelerator"
GKE_TPU_LABEL = "cloud.google.com/gke-tpu-accelerator"
GKE_TPU_TOPOLOGY_LABEL = "cloud.google.com/gke-tpu-topology"


@dataclass(frozen=True)
class Device:
    """One accelerator as Kubernetes and SkyPilot see it."""

    resource: str | None
    """Extended resource requested per accelerator; None for CPU-only offers."""
    skypilot: str | None
    """SkyPilot accelerator name; None when SkyPilot selects the instance type alone."""
    gpu_product: str | None = None
    """`nvidia.com/gpu.product` value (NVIDIA only)."""
    gke: str | None = None
    """GKE accelerator label value."""


DEVICES: dict[str, Device] = {
    "H200": Device(NVIDIA_GPU, "H200", "NVIDIA-H200", "nvidia-h200-141gb"),
    "H100-SXM": Device(NVIDIA_GPU, "H100", "NVIDIA-H100-80GB-HBM3", "nvidia-h100-80gb"),
    "H100-PCIe": Device(NVIDIA_GPU, "H100", "NVIDIA-H100-PCIe"),
    "H100-NVL": Device(NVIDIA_GPU, "H100", "NVIDIA-H100-NVL"),
    "A100-80GB": Device(NVIDIA_GPU, "A100-80GB", "NVIDIA-A100-SXM4-80GB", "nvidia-a100-80gb"),
    "A100-80GB-PCIe": Device(NVIDIA_GPU, "A100-80GB", "NVIDIA-A100-80GB-PCIe"),
    "A100-40GB": Device(NVIDIA_GPU, "A100", "NVIDIA-A100-SXM4-40GB", "nvidia-tesla-a100"),
    "L40S": Device(NVIDIA_GPU, "L40S", "NVIDIA-L40S"),
    "L4": Device(NVIDIA_GPU, "L4", "NVIDIA-L4", "nvidia-l4"),
    "A10G": Device(NVIDIA_GPU, "A10G", "NVIDIA-A10G"),
    "A10": Device(NVIDIA_GPU, "A10", "NVIDIA-A10"),
    "T4": Device(NVIDIA_GPU, "T4", "Tesla-T4", "nvidia-tesla-t4"),
    "V100": Device(NVIDIA_GPU, "V100", "Tesla-V100-SXM2-16GB", "nvidia-tesla-v100"),
    "V100-32GB": Device(NVIDIA_GPU, "V100-32GB", "Tesla-V100-SXM2-32GB"),
    "MI300X": Device(AMD_GPU, "MI300X"),
    "TPU-v5e": Device(TPU, None, gke="tpu-v5-lite-podslice"),
    "TPU-v5p": Device(TPU, None, gke="tpu-v5p-slice"),
    "TPU-v6e": Device(TPU, None, gke="tpu-v6e-slice"),
    "Inferentia2": Device(NEURON, "Inferentia2"),
    "Trainium": Device(NEURON, "Trainium"),
    "Xeon-SPR-8488C": Device(None, None),
}

# RunPod's own names (skypilot-catalog v8 runpod/vms.csv).
_SKYPILOT_BY_PROVIDER = {("runpod", "H100-SXM"): "H100-SXM", ("runpod", "A100-80GB"): "A100-80GB-SXM"}
# GCP's A3 Mega machines carry the H100 "mega" label (GKE GPU docs; SkyPilot H100-MEGA).
_GKE_BY_INSTANCE_PREFIX = {"a3-megagpu": "nvidia-h100-mega-80gb"}
# Slice topology per chip count (GKE TPU docs; SkyPilot GKE_TPU_TOPOLOGIES).
_TPU_TOPOLOGIES = {
    "tpu-v5-lite-podslice": {1: "1x1", 4: "2x2", 8: "2x4"},
    "tpu-v5p-slice": {4: "2x2x1"},
    "tpu-v6e-slice": {1: "1x1", 4: "2x2", 8: "2x4"},
}


class UnknownDevice(ValueError):
    """An accelerator with no mapping to Kubernetes or SkyPilot names."""


def device(accelerator: str) -> Device:
    """The mapping for a canonical accelerator name.

    Raises:
        UnknownDevice: when the accelerator is not in `DEVICES` (e.g. from a user catalog).
    """
    found = DEVICES.get(accelerator)
    if found is None:
        raise UnknownDevice(f"no export mapping for accelerator '{accelerator}' "
                            f"(known: {', '.join(sorted(DEVICES))})")
    return found


def skypilot_name(provider: str, accelerator: str) -> str | None:
    return _SKYPILOT_BY_PROVIDER.get((provider, accelerator), device(accelerator).skypilot)


def gke_accelerator(accelerator: str, instance_type: str) -> str | None:
    for prefix, value in _GKE_BY_INSTANCE_PREFIX.items():
        if instance_type.startswith(prefix):
            return value
    return device(accelerator).gke


def tpu_topology(gke_value: str, chips: int) -> str | None:
    return _TPU_TOPOLOGIES.get(gke_value, {}).get(chips)
