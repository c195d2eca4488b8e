"""What instance names say about their accelerators.

Cloud instance names often encode the accelerator and how many there are: Lambda's
`gpu_8x_h100_sxm5`, RunPod's `2x_H100-SXM_SECURE`, GCP's `a3-highgpu-8g`, AWS's `p4d.24xlarge`
(8 x A100), Azure's `Standard_ND96isr_H100_v5` (8 x H100). The importers use this to check the
counts the public data gives (and to find the accelerator where a price list does not name it);
`plan catalog validate` uses it to check catalog rows.
"""

from __future__ import annotations

import re

# AWS: family -> accelerator (SkyPilot names); counts per size below.
AWS_FAMILIES: dict[str, str] = {
    "p3": "V100", "p3dn": "V100-32GB", "p4d": "A100", "p4de": "A100-80GB", "p5": "H100",
    "p5e": "H200", "p5en": "H200", "p6-b200": "B200", "g4dn": "T4", "g5": "A10G", "g6": "L4",
    "g6e": "L40S", "gr6": "L4", "inf2": "Inferentia2", "trn1": "Trainium", "trn1n": "Trainium",
}
AWS_COUNTS: dict[str, int] = {
    "p3.2xlarge": 1, "p3.8xlarge": 4, "p3.16xlarge": 8, "p3dn.24xlarge": 8,
    "p4d.24xlarge": 8, "p4de.24xlarge": 8, "p5.4xlarge": 1, "p5.48xlarge": 8,
    "p5e.48xlarge": 8, "p5en.48xlarge": 8, "p6-b200.48xlarge": 8, "g4dn.metal": 8,
    "inf2.xlarge": 1, "inf2.8xlarge": 1, "inf2.24xlarge": 6, "inf2.48xlarge": 12,
    "trn1.2xlarge": 1, "trn1.32xlarge": 16, "trn1n.32xlarge": 16,
}
# g4dn / g5 / g6 / g6e / gr6: one GPU up to 16xlarge, 4 at 12x/24xlarge, 8 at 48xlarge
_AWS_G_SIZES = {"12xlarge": 4, "24xlarge": 4, "48xlarge": 8}

# Azure (name without "Standard_"): exact sizes -> (accelerator, count)
AZURE_SIZES: dict[str, tuple[str, int]] = {
    "NC4as_T4_v3": ("T4", 1), "NC8as_T4_v3": ("T4", 1), "NC16as_T4_v3": ("T4", 1),
    "NC64as_T4_v3": ("T4", 4),
    "NC6s_v3": ("V100", 1), "NC12s_v3": ("V100", 2), "NC24s_v3": ("V100", 4),
    "NC24rs_v3": ("V100", 4), "ND40rs_v2": ("V100-32GB", 8),
    "NV6ads_A10_v5": ("A10", 1), "NV12ads_A10_v5": ("A10", 1), "NV18ads_A10_v5": ("A10", 1),
    "NV36ads_A10_v5": ("A10", 1), "NV36adms_A10_v5": ("A10", 1), "NV72ads_A10_v5": ("A10", 2),
    "NC24ads_A100_v4": ("A100-80GB-PCIe", 1), "NC48ads_A100_v4": ("A100-80GB-PCIe", 2),
    "NC96ads_A100_v4": ("A100-80GB-PCIe", 4),
    "ND96asr_v4": ("A100-40GB", 8), "ND96amsr_A100_v4": ("A100-80GB", 8),
    "NC40ads_H100_v5": ("H100-NVL", 1), "NC80adis_H100_v5": ("H100-NVL", 2),
    "ND96isr_H100_v5": ("H100", 8), "ND96isr_H200_v5": ("H200", 8),
    "ND96is_MI300X_v5": ("MI300X", 8),
}

# GCP: machine family -> accelerator attached to it (SkyPilot names)
GCP_FAMILIES: dict[str, str] = {
    "a2-highgpu": "A100", "a2-megagpu": "A100", "a2-ultragpu": "A100-80GB",
    "a3-highgpu": "H100", "a3-edgegpu": "H100", "a3-megagpu": "H100-MEGA",
    "a3-ultragpu": "H200", "a4-highgpu": "B200", "g2-standard": "L4",
}
_G2_COUNTS = {4: 1, 8: 1, 12: 1, 16: 1, 32: 1, 24: 2, 48: 4, 96: 8}
# GCP machine shapes (vCPUs, memory GiB) for assembling instance prices from per-unit SKUs
GCP_SHAPES: dict[str, tuple[int, float]] = {
    "a2-highgpu-1g": (12, 85), "a2-highgpu-2g": (24, 170), "a2-highgpu-4g": (48, 340),
    "a2-highgpu-8g": (96, 680), "a2-megagpu-16g": (96, 1360),
    "a2-ultragpu-1g": (12, 170), "a2-ultragpu-2g": (24, 340), "a2-ultragpu-4g": (48, 680),
    "a2-ultragpu-8g": (96, 1360),
    "a3-highgpu-1g": (26, 234), "a3-highgpu-2g": (52, 468), "a3-highgpu-4g": (104, 936),
    "a3-highgpu-8g": (208, 1872),
    "g2-standard-4": (4, 16), "g2-standard-8": (8, 32), "g2-standard-12": (12, 48),
    "g2-standard-16": (16, 64), "g2-standard-24": (24, 96), "g2-standard-32": (32, 128),
    "g2-standard-48": (48, 192), "g2-standard-96": (96, 384),
}

_TIMES_X = re.compile(r"(?:^|_)(\d+)x_", re.IGNORECASE)  # gpu_8x_h100, 2x_H100-SXM_SECURE
_GCP_G = re.compile(r"^([a-z]\d+-[a-z]+)-(\d+)g$")  # a3-highgpu-8g
_TPU = re.compile(r"^tpu-(v\d+[a-z]*|v5litepod)-(\d+)$", re.IGNORECASE)


def tpu_chips(name: str) -> tuple[str, int] | None:
    """`tpu-v6e-8` -> ('v6e', 8 chips); v2-v4 and v5p names count TensorCores (2 per chip)."""
    match = _TPU.match(name)
    if not match:
        return None
    version, number = match.group(1).lower(), int(match.group(2))
    if version == "v5litepod":
        version = "v5e"
    if version in ("v2", "v3", "v4", "v5p"):
        return version, max(1, number // 2)
    return version, number


def aws_instance(instance_type: str) -> tuple[str, int] | None:
    """(accelerator, count) an AWS instance type carries, when known."""
    family, _, size = instance_type.partition(".")
    accelerator = AWS_FAMILIES.get(family)
    if accelerator is None or not size:
        return None
    if instance_type in AWS_COUNTS:
        return accelerator, AWS_COUNTS[instance_type]
    if family in ("g4dn", "g5", "g6", "g6e", "gr6"):
        return accelerator, _AWS_G_SIZES.get(size, 1)
    return None


def azure_instance(instance_type: str) -> tuple[str, int] | None:
    name = instance_type.removeprefix("Standard_")
    if name in AZURE_SIZES:
        return AZURE_SIZES[name]
    if name.startswith("ND96"):  # every ND96 size has 8 accelerators
        return "", 8
    return None


def gcp_instance(instance_type: str) -> tuple[str, int] | None:
    match = _GCP_G.match(instance_type)
    if match and match.group(1) in GCP_FAMILIES:
        return GCP_FAMILIES[match.group(1)], int(match.group(2))
    if instance_type.startswith("g2-standard-"):
        size = instance_type.rsplit("-", 1)[1]
        if size.isdigit() and int(size) in _G2_COUNTS:
            return "L4", _G2_COUNTS[int(size)]
    tpu = tpu_chips(instance_type)
    if tpu:
        return f"tpu-{tpu[0]}", tpu[1]
    return None


def expected_count(provider: str, instance_type: str) -> int | None:
    """Accelerators per instance as the instance name encodes it, or None when it does not."""
    provider = provider.lower()
    known: tuple[str, int] | None = None
    if provider == "aws":
        known = aws_instance(instance_type)
    elif provider == "azure":
        known = azure_instance(instance_type)
    elif provider == "gcp":
        known = gcp_instance(instance_type)
    if known is not None:
        return known[1]
    match = _TIMES_X.search(instance_type)
    if match:
        return int(match.group(1))
    return None


def instance_accelerator(provider: str, instance_type: str) -> str | None:
    """The accelerator (SkyPilot name) an instance type carries, when its name fixes it."""
    provider = provider.lower()
    known = {"aws": aws_instance, "azure": azure_instance, "gcp": gcp_instance}.get(provider)
    found = known(instance_type) if known else None
    return found[0] if found and found[0] else None
