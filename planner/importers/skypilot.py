"""SkyPilot catalog CSV (`vms.csv`), schema v8 (and v6, Azure's: no AvailabilityZone, a
Generation column).

One offer per (region, instance type): on-demand = `Price`, spot = the cheapest zone's
`SpotPrice`. The cloud is taken from `--provider`, else from the file's folder or name
(`catalogs/v8/aws/vms.csv`), else from the instance names.

GCP lists host VMs and GPUs as separate rows: host rows have an empty `AcceleratorName`, GPU
rows an empty `InstanceType`. Pairing rule: a host whose machine family fixes its GPUs
(`a2-highgpu-Ng` = N x A100, `a2-ultragpu-Ng` = N x A100-80GB, `a3-highgpu-Ng` = N x H100,
`a3-megagpu-8g` = 8 x H100-MEGA, `a3-ultragpu-8g` = 8 x H200, `g2-standard-S` = L4 by size)
is added to the GPU row with that accelerator name and count in the same zone, or failing that
in the same region; the offer's prices are host + GPU for on-demand and for spot. TPU rows
(`tpu-v6e-8`) stand alone: instance type = the TPU name, count = its chips. Hosts with attachable
GPUs (n1) or none are ignored; unpaired GPU rows and hosts are reported.
"""

from __future__ import annotations

import ast
import csv
import io
from pathlib import Path

from planner.importers.common import ImportReport, PriceRow, parse_count, parse_price
from planner.importers.instances import GCP_FAMILIES, gcp_instance, tpu_chips

PROVIDERS = ("aws", "gcp", "azure", "lambda", "runpod")


def guess_provider(path: Path, rows: list[dict[str, str]], header: list[str]) -> str | None:
    for part in reversed(path.parts):
        lowered = part.lower()
        for provider in PROVIDERS:
            if lowered == provider or lowered.startswith((provider + "_", provider + "-")):
                return provider
    names = [row.get("InstanceType") or "" for row in rows]
    if "Generation" in header or any(n.startswith("Standard_") for n in names):
        return "azure"
    if any(not n for n in names) or any(n.startswith(("a2-", "a3-", "n1-", "g2-")) for n in names):
        return "gcp"
    if any(n.startswith(("gpu_", "cpu_")) for n in names):
        return "lambda"
    if any(n.endswith(("_SECURE", "_COMMUNITY")) for n in names):
        return "runpod"
    if any("." in n for n in names):
        return "aws"
    return None


def _gpu_memory_gib(info: str, ref: str, report: ImportReport) -> tuple[float | None, str]:
    """Per-GPU memory (GiB) and GPU name from the GpuInfo cell (a Python literal), if given."""
    if not info.startswith("{"):
        return None, ""
    try:
        data = ast.literal_eval(info)
        gpu = data["Gpus"][0]
        mib = float(gpu["MemoryInfo"]["SizeInMiB"])
        name = str(gpu.get("Name", ""))
    except (ValueError, SyntaxError, KeyError, IndexError, TypeError, MemoryError, RecursionError):
        return None, ""
    if mib < 1024:
        report.warn(ref, f"GpuInfo memory {mib:g} MiB per GPU is not plausible (GB in a MiB field?); "
                         "memory ignored")
        return None, name
    return mib / 1024, name


def read(path: Path, text: str, report: ImportReport, provider: str | None) -> list[PriceRow]:
    reader = csv.DictReader(io.StringIO(text))
    header = list(reader.fieldnames or [])
    for needed in ("InstanceType", "AcceleratorName", "AcceleratorCount", "Price", "SpotPrice", "Region"):
        if needed not in header:
            raise ValueError(f"not a SkyPilot catalog CSV: no '{needed}' column "
                             f"(header: {', '.join(header)})")
    records: list[tuple[int, dict[str, str]]] = []
    for record in reader:
        records.append((reader.line_num, {k: (v or "").strip() for k, v in record.items() if k}))
    report.rows_read = len(records)
    provider = provider or guess_provider(path, [r for _, r in records], header)
    if provider is None:
        raise ValueError("cannot tell which cloud this catalog is for; pass --provider")
    name = path.name
    rows: list[PriceRow] = []
    hosts: list[PriceRow] = []
    gpus: list[PriceRow] = []
    for line, record in records:
        ref = f"{name}:{line}"
        instance = record.get("InstanceType", "")
        accelerator = record.get("AcceleratorName", "")
        count = parse_count(record.get("AcceleratorCount"))
        if count == "not an integer":
            report.skip(ref, f"fractional accelerator count ({record.get('AcceleratorCount')})")
            continue
        memory, gpu_name = _gpu_memory_gib(record.get("GpuInfo", ""), ref, report)
        row = PriceRow(ref, provider, record.get("Region", ""), instance, accelerator,
                       count if isinstance(count, int) else None,
                       on_demand=parse_price(record.get("Price")), spot=parse_price(record.get("SpotPrice")),
                       memory_gib=memory)
        row.zone = record.get("AvailabilityZone", "") or row.region
        row.hint = gpu_name
        if provider == "gcp" and accelerator.lower().startswith("tpu-"):
            chips = tpu_chips(accelerator)
            if chips is None:
                report.skip(ref, f"unknown accelerator (unrecognised TPU name '{accelerator}')")
                continue
            row.instance_type, row.count = accelerator, chips[1]
            rows.append(row)
        elif provider == "gcp" and not instance:
            gpus.append(row)
        elif provider == "gcp" and not accelerator:
            known = gcp_instance(instance)
            if known is None:
                report.ignored["host VM without a fixed GPU"] += 1
                continue
            row.accelerator, row.count = known
            hosts.append(row)
            row.memory_gib = None
        elif not accelerator:
            report.ignored["no accelerator (CPU-only or fractional GPU)"] += 1
        elif not instance:
            report.skip(ref, "no instance type")
        else:
            rows.append(row)
    if provider == "gcp":
        rows.extend(_pair_gcp(hosts, gpus, report))
    return rows


def _pair_gcp(hosts: list[PriceRow], gpus: list[PriceRow], report: ImportReport) -> list[PriceRow]:
    """Host + GPU rows of the same zone (else region) -> one row per host row."""
    from planner.importers.common import row_defect

    usable: list[PriceRow] = []
    for gpu in gpus:
        # check the GPU row on its own, so its defects are reported as its own
        probe = PriceRow(gpu.ref, "gcp", gpu.region, "", gpu.accelerator, gpu.count, gpu.on_demand, gpu.spot)
        defect = row_defect(probe)
        if defect:
            report.skip(gpu.ref, defect)
            continue
        usable.append(gpu)
    used: set[str] = set()
    out: list[PriceRow] = []
    for host in hosts:
        wanted = GCP_FAMILIES.get(host.instance_type.rsplit("-", 1)[0], host.accelerator)
        matches = [g for g in usable if g.accelerator == wanted and g.count == host.count
                   and g.region == host.region]
        same_zone = [g for g in matches if g.zone == host.zone]
        gpu_row = same_zone[0] if same_zone else (matches[0] if matches else None)
        if gpu_row is None:
            report.skip(host.ref, f"no matching GPU row (host {host.instance_type} needs {host.count} x "
                                  f"{wanted} in {host.region}; missing or skipped)")
            continue
        used.add(gpu_row.ref)
        spot = None if host.spot is None or gpu_row.spot is None else host.spot + gpu_row.spot
        on_demand = None if host.on_demand is None or gpu_row.on_demand is None \
            else host.on_demand + gpu_row.on_demand
        ref_line = gpu_row.ref.rsplit(":", 1)[-1]
        out.append(PriceRow(f"{host.ref}+{ref_line}", "gcp", host.region, host.instance_type, wanted,
                            host.count, on_demand=on_demand, spot=spot, memory_gib=gpu_row.memory_gib,
                            zone=host.zone))
    for gpu in usable:
        if gpu.ref not in used:
            report.skip(gpu.ref, f"no matching host VM row ({gpu.count} x {gpu.accelerator} in {gpu.region}; "
                                 "GCP prices GPUs apart from the VM)")
    return out
