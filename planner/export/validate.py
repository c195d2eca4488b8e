"""Check exported files with the tools' own validators, offline, plus our rules.

- Kubernetes objects: `kubernetes-validate` (strict: unknown fields are errors) against the
  Kubernetes OpenAPI schemas it ships, for `K8S_VERSION`; Karpenter's NodePool is a CRD that
  kubernetes-validate does not ship, so NodePools get our rules only (rules.py).
- KServe InferenceServices: rebuilt field by field as the `kserve` SDK's models
  (V1beta1InferenceService ...; its Kubernetes parts are the `kubernetes` client's models) and
  compared after the round trip, so unknown or mistyped fields are caught; the predictor's pod
  settings are also validated strictly as a Kubernetes Pod.
- SkyPilot YAML: `sky.Task.from_yaml` in a subprocess with a throw-away HOME (sky_check.py).
- vLLM command lines: the pinned flag and choice lists of vllm_flags.py.
The validators live in the optional extra `export` (pip install 'plan-ai-compute[export]').
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from planner.errors import PlanError

from .common import ExportFile
from .rules import check_object
from .vllm_flags import check_serve_args

K8S_VERSION = "1.33.0"
"""Kubernetes version whose schemas the manifests must pass (kubernetes-validate ships 1.37 too)."""
_SKY_TIMEOUT_SECONDS = 600
_EXTRA = "pip install 'plan-ai-compute[export]'"


@dataclass(frozen=True)
class Finding:
    file: str
    validator: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.validator}: {self.message}"


@dataclass(frozen=True)
class Report:
    findings: tuple[Finding, ...]
    validators: tuple[str, ...]
    """What ran, e.g. 'kubernetes-validate 1.37.0 --strict (Kubernetes 1.33.0)'."""

    @property
    def ok(self) -> bool:
        return not self.findings


class ValidatorMissing(PlanError):
    """A validator's package is not installed."""


def validate(target: str, files: list[ExportFile]) -> Report:
    """Run every validator that applies to `target` on `files` (paths relative to one folder)."""
    checks = {"kubernetes": _kubernetes, "kserve": _kserve, "skypilot": _skypilot, "vllm": _vllm}
    findings, validators = checks[target](files)
    return Report(tuple(findings), tuple(validators))


def _documents(file: ExportFile) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(file.text) if doc]


def _require(module: str, package: str, load: bool = True) -> Any:
    """Import a validator's module (or, with `load=False`, only check it is installed)."""
    if importlib.util.find_spec(module) is None:
        raise ValidatorMissing(f"{package} is not installed; {_EXTRA}")
    return importlib.import_module(module) if load else None


def _version(package: str) -> str:
    from importlib.metadata import version

    return version(package)


def _kubernetes(files: list[ExportFile]) -> tuple[list[Finding], list[str]]:
    kubernetes_validate = _require("kubernetes_validate", "kubernetes-validate")
    findings: list[Finding] = []
    for file in files:
        for document in _documents(file):
            findings += [Finding(file.path, "rules", p) for p in check_object(document)]
            findings += _schema_findings(kubernetes_validate, file.path, document)
            for args in _container_args(document):
                findings += [Finding(file.path, "vllm flags", p) for p in check_serve_args(args)]
    return findings, [_kubernetes_validate_name(), "rules", "vllm flags"]


def _kubernetes_validate_name() -> str:
    return f"kubernetes-validate {_version('kubernetes-validate')} --strict (Kubernetes {K8S_VERSION})"


def _schema_findings(kubernetes_validate: Any, path: str, document: dict[str, Any]) -> list[Finding]:
    from kubernetes_validate.utils import SchemaNotFoundError

    if document.get("kind") == "NodePool":
        return []  # a Karpenter CRD: kubernetes-validate ships no schema for it (rules.py checks it)
    try:
        kubernetes_validate.validate(document, K8S_VERSION, strict=True)
    except kubernetes_validate.ValidationError as exc:
        where = ".".join(str(part) for part in exc.path) or "(top)"
        return [Finding(path, "kubernetes-validate", f"{document.get('kind')} {where}: {exc.message}")]
    except SchemaNotFoundError as exc:
        return [Finding(path, "kubernetes-validate", exc.message)]
    return []


def _container_args(document: dict[str, Any]) -> list[list[str]]:
    spec = document.get("spec", {})
    pod = spec.get("template", {}).get("spec") or spec.get("predictor") or {}
    return [list(c.get("args", [])) for c in pod.get("containers", [])
            if c.get("command") == ["vllm", "serve"]]


def _kserve(files: list[ExportFile]) -> tuple[list[Finding], list[str]]:
    from . import kserve_models

    _require("kserve", "kserve", load=False)
    kubernetes_validate = _require("kubernetes_validate", "kubernetes-validate")
    findings: list[Finding] = []
    for file in files:
        for document in _documents(file):
            findings += [Finding(file.path, "kserve SDK", p) for p in kserve_models.round_trip(document)]
            findings += [Finding(file.path, "rules", p) for p in check_object(document)]
            pod = _predictor_as_pod(document)
            findings += [Finding(file.path, f.validator, f"predictor as Pod: {f.message}")
                         for f in _schema_findings(kubernetes_validate, file.path, pod)]
            for args in _container_args(document):
                findings += [Finding(file.path, "vllm flags", p) for p in check_serve_args(args)]
    return findings, [f"kserve {_version('kserve')} SDK models (round trip)", _kubernetes_validate_name(),
                      "rules", "vllm flags"]


# Predictor fields that are KServe's own rather than a PodSpec's.
_PREDICTOR_ONLY = ("minReplicas", "maxReplicas", "scaleTarget", "scaleMetric", "containerConcurrency",
                   "timeout", "canaryTrafficPercent", "logger", "batcher", "labels", "annotations")


def _predictor_as_pod(document: dict[str, Any]) -> dict[str, Any]:
    predictor = dict(document.get("spec", {}).get("predictor", {}))
    for key in _PREDICTOR_ONLY:
        predictor.pop(key, None)
    name = document.get("metadata", {}).get("name", "predictor")
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": predictor}


def _skypilot(files: list[ExportFile]) -> tuple[list[Finding], list[str]]:
    _require("sky", "skypilot", load=False)  # SkyPilot runs in a subprocess with its own HOME
    findings: list[Finding] = []
    with tempfile.TemporaryDirectory(prefix="plan-sky-check-") as scratch:
        root = Path(scratch)
        home = root / "home"
        home.mkdir()
        paths = []
        for file in files:
            path = root / "files" / file.path
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(file.text, encoding="utf-8")
            paths.append(path)
        by_path = {str(path): file.path for path, file in zip(paths, files, strict=True)}
        for result in _run_sky_check(home, [str(p) for p in paths]):
            findings.append(Finding(by_path.get(result["file"], result["file"]), "skypilot",
                                    result["error"]))
    for file in files:
        for document in _documents(file):
            args = _run_args(str(document.get("run", "")))
            findings += [Finding(file.path, "vllm flags", p) for p in check_serve_args(args)]
    return findings, [f"skypilot {_version('skypilot')} sky.Task.from_yaml (offline)", "vllm flags"]


def _run_sky_check(home: Path, paths: list[str]) -> list[dict[str, str]]:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("SKYPILOT")}
    environment.update(HOME=str(home), SKYPILOT_DISABLE_USAGE_COLLECTION="1")
    completed = subprocess.run([sys.executable, "-m", "planner.export.sky_check", *paths],
                               capture_output=True, text=True, env=environment,
                               timeout=_SKY_TIMEOUT_SECONDS, check=False)
    lines = [line for line in completed.stdout.splitlines() if line.strip()]
    if completed.returncode != 0 or not lines:
        tail = (completed.stderr or completed.stdout).strip().splitlines()[-3:]
        raise PlanError("SkyPilot check failed to run: " + " | ".join(tail))
    results: list[dict[str, str]] = json.loads(lines[-1])
    return results


def _run_args(run: str) -> list[str]:
    """Arguments after `vllm serve` in a shell line (env assignments, exec and & stripped)."""
    words = shlex.split(run.strip().rstrip("&"))
    while words and (words[0] == "exec" or re.match(r"^[A-Z_]+=", words[0])):
        words.pop(0)
    return words[2:] if words[:2] == ["vllm", "serve"] else words


def _vllm(files: list[ExportFile]) -> tuple[list[Finding], list[str]]:
    findings: list[Finding] = []
    for file in files:
        commands = [line for line in file.text.splitlines()
                    if "vllm serve" in line and not line.startswith("#")]
        if not commands:
            findings.append(Finding(file.path, "vllm flags", "no `vllm serve` command"))
        for line in commands:
            findings += [Finding(file.path, "vllm flags", p) for p in check_serve_args(_run_args(line))]
    return findings, ["vllm flags"]
