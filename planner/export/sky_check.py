"""Load SkyPilot YAML files with SkyPilot's own `sky.Task.from_yaml`, offline.

Run as `python -m planner.export.sky_check FILE...` with HOME pointing at an empty, writable
folder (validate.py does this). SkyPilot reads its per-cloud catalogs on first use and downloads
them when missing; we seed ~/.sky/catalogs/v8 with one row per (cloud, region, instance type,
accelerators) that the files name, and refuse every network connection, so the check runs
without a network and a download attempt shows up as an error. What this checks is SkyPilot's
task and service schema and its parsing of resources, any_of, spot policy and replica policy;
whether the offer exists today is the catalog's job, not this check's. Prints a JSON list of
{"file", "error"} objects.
"""

from __future__ import annotations

import csv
import json
import os
import socket
import sys
from pathlib import Path
from typing import Any

import yaml

_HEADER = ["InstanceType", "AcceleratorName", "AcceleratorCount", "vCPUs", "MemoryGiB", "GpuInfo",
           "Price", "SpotPrice", "Region", "AvailabilityZone"]
# SkyPilot's catalog folder names per cloud (sky/catalog/*_catalog.py read_catalog calls).
_CLOUD_FOLDERS = {"aws": "aws", "gcp": "gcp", "azure": "azure", "lambda": "lambda", "runpod": "runpod"}


def _refuse_network(*_args: Any, **_kwargs: Any) -> Any:
    raise OSError("network access refused: offline SkyPilot validation")


def _locations(document: dict[str, Any]) -> list[dict[str, Any]]:
    resources = document.get("resources") or {}
    entries = resources.get("any_of") or resources.get("ordered") or [resources]
    return [{**resources, **entry} for entry in entries]


def seed_catalog(home: Path, documents: list[dict[str, Any]]) -> None:
    rows: dict[str, list[list[str]]] = {}
    names: dict[str, set[str]] = {}
    for document in documents:
        for place in _locations(document):
            cloud = str(place.get("cloud", "")).lower()
            if cloud not in _CLOUD_FOLDERS:
                continue
            accelerators = place.get("accelerators") or {}
            name, count = next(iter(accelerators.items()), ("", ""))
            region = str(place.get("region", ""))
            rows.setdefault(cloud, []).append([
                str(place.get("instance_type") or ""), str(name), str(count), "8", "64", "",
                "1.0", "0.5", region, f"{region}-a"])
            if name:
                names.setdefault(str(name), set()).add(cloud)
    base = home / ".sky" / "catalogs" / "v8"
    for cloud, cloud_rows in rows.items():
        _write_csv(base / _CLOUD_FOLDERS[cloud] / "vms.csv", _HEADER, cloud_rows)
    _write_csv(base / "common" / "accelerators.csv", ["AcceleratorName", "Clouds"],
               [[name, str(sorted(clouds))] for name, clouds in sorted(names.items())])


def _write_csv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(header)
        writer.writerows(rows)


def main(paths: list[str]) -> int:
    socket.getaddrinfo = _refuse_network
    socket.socket.connect = _refuse_network  # type: ignore[method-assign]
    documents = [yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {} for path in paths]
    seed_catalog(Path(os.environ["HOME"]), documents)
    import sky  # after the catalog is seeded: SkyPilot reads it lazily

    results = []
    for path in paths:
        try:
            sky.Task.from_yaml(path)
        except Exception as exc:  # every SkyPilot rejection is a finding
            results.append({"file": path, "error": f"{type(exc).__name__}: {exc}"})
    sys.stdout.write("\n" + json.dumps(results) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
