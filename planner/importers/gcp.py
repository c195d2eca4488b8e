"""GCP Cloud Billing Catalog SKUs JSON (`{"skus": [...]}` from services/6F81-5844-456A/skus).

Price = units + nanos / 1e9 per `usageUnit` (first tier). `usageType` OnDemand -> on-demand,
Preemptible -> spot, Commit1Yr / Commit3Yr -> reserved_1y / reserved_3y. GPU SKUs
(`resourceGroup` GPU, "Nvidia Tesla A100 GPU running in Americas") are priced per GPU-hour;
the host is priced per vCPU-hour ("A2 Instance Core") and per GiB-hour ("A2 Instance Ram").
Assembly: for each machine type whose GPUs are fixed (a2-highgpu-Ng = N x A100, a2-ultragpu =
A100 80GB, a3-highgpu = H100, g2-standard = L4) and each region in the SKUs' `serviceRegions`,
price = vCPUs x core + GiB x RAM + N x GPU, per usage type for which all three SKUs exist.
GPU SKUs without host SKUs for their family are reported.
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

from planner.importers.common import ImportReport, PriceRow, json_items
from planner.importers.instances import GCP_SHAPES, gcp_instance

USAGE = {"OnDemand": "on_demand", "Preemptible": "spot", "Commit1Yr": "reserved_1y",
         "Commit3Yr": "reserved_3y"}
# GPU description -> SkyPilot accelerator name (longest match first)
GPU_NAMES = (
    ("A100 80GB", "A100-80GB"), ("A100", "A100"), ("H100 80GB Mega", "H100-MEGA"), ("H100", "H100"),
    ("H200", "H200"), ("B200", "B200"), ("L4", "L4"), ("T4", "T4"), ("V100", "V100"),
)
# machine family prefix -> (host SKU family word, GPU accelerator)
FAMILIES = {
    "a2-highgpu": ("A2", "A100"), "a2-megagpu": ("A2", "A100"), "a2-ultragpu": ("A2", "A100-80GB"),
    "a3-highgpu": ("A3", "H100"), "g2-standard": ("G2", "L4"),
}
_HOST = re.compile(r"\b([A-Z]\d\w*) (?:Instance )?(Core|Cpu|Ram)\b", re.IGNORECASE)


def _price(sku: dict[str, Any]) -> tuple[float, str] | None:
    try:
        expression = sku["pricingInfo"][0]["pricingExpression"]
        rate = expression["tieredRates"][-1]["unitPrice"]
        price = float(rate.get("units") or 0) + float(rate.get("nanos") or 0) / 1e9
        return price, str(expression["usageUnit"])
    except (KeyError, IndexError, TypeError, ValueError):
        return None


def read(name: str, text: str, report: ImportReport) -> list[PriceRow]:
    skus = json_items(text, "skus", report, "a Cloud Billing Catalog SKU list")
    # (usage field, region) -> component -> (price, ref); component = "gpu:A100" / "core:A2" / "ram:A2"
    parts: dict[tuple[str, str], dict[str, tuple[float, str]]] = defaultdict(dict)
    for index, sku in enumerate(skus):
        ref = f"{name}:skus[{index}]"
        if not isinstance(sku, dict):
            report.skip(ref, "not an object")
            continue
        category = sku.get("category") or {}
        description = str(sku.get("description", ""))
        usage = USAGE.get(str(category.get("usageType", "")))
        if usage is None:
            report.ignored[f"usageType {category.get('usageType')}"] += 1
            continue
        priced = _price(sku)
        if priced is None:
            report.skip(ref, "no price")
            continue
        price, unit = priced
        group = str(category.get("resourceGroup", ""))
        component = None
        if group == "GPU":
            gpu = next((acc for word, acc in GPU_NAMES if word.lower() in description.lower()), None)
            if gpu is None:
                report.skip(ref, f"unknown accelerator (in '{description}')")
                continue
            component = f"gpu:{gpu}"
            expected_unit = "h"
        else:
            host = _HOST.search(description)
            if host is None:
                report.ignored["not a GPU or GPU-host SKU"] += 1
                continue
            kind = "ram" if host.group(2).lower() == "ram" else "core"
            component = f"{kind}:{host.group(1).upper()}"
            expected_unit = "h" if kind == "core" else "GiBy.h"
        if unit != expected_unit:
            report.skip(ref, f"unexpected usageUnit ('{unit}', expected '{expected_unit}')")
            continue
        if price <= 0:
            report.skip(ref, "no price")
            continue
        for region in sku.get("serviceRegions") or []:
            parts[(usage, str(region))][component] = (price, f"{index}")
    rows: dict[tuple[str, str], PriceRow] = {}
    gpus_used: set[tuple[str, str, str]] = set()
    for (usage, region), components in sorted(parts.items()):
        for machine, (vcpus, memory) in GCP_SHAPES.items():
            family = machine.rsplit("-", 1)[0]
            if family not in FAMILIES:
                continue
            host_word, gpu = FAMILIES[family]
            needed = (f"core:{host_word}", f"ram:{host_word}", f"gpu:{gpu}")
            if not all(n in components for n in needed):
                continue
            known = gcp_instance(machine)
            assert known is not None
            count = known[1]
            core, ram, gpu_price = (components[n][0] for n in needed)
            total = vcpus * core + memory * ram + count * gpu_price
            refs = "+".join(components[n][1] for n in needed)
            row = rows.get((region, machine))
            if row is None:
                row = PriceRow(f"{name}:skus[{refs}]", "gcp", region, machine, gpu, count)
                rows[(region, machine)] = row
            setattr(row, usage, round(total, 6))
            gpus_used.add((usage, region, gpu))
    for (usage, region), components in sorted(parts.items()):
        for component, (_, ref) in components.items():
            if component.startswith("gpu:") and (usage, region, component[4:]) not in gpus_used:
                report.skip(f"{name}:skus[{ref}]", f"no matching host SKUs (core and RAM for "
                                                    f"{component[4:]} in {region}, {usage})")
    return list(rows.values())
