"""`plan export`: content of each target, the real validators accepting it and rejecting broken
copies, atomic folder writes, and the CLI end to end on problems/export-demo.yaml."""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import os
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

from clirun import invoke
from planner.catalog import load_catalog
from planner.export import TARGETS, ExportFile, export_plan, validate, write_folder
from planner.export import writer as writer_module
from planner.export.common import plan_id
from planner.export.vllm_flags import QUANTIZATION_CHOICES, check_serve_args, quantization
from planner.plan import Plan
from planner.problem import load_problem
from planner.solve import solve

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "problems" / "export-demo.yaml"


def needs(module: str) -> None:
    """Validator tests need the `export` extra; CI installs it, so there a missing one fails."""
    if importlib.util.find_spec(module) is None:
        assert not os.environ.get("CI"), f"{module} missing: .ci/run installs the export extra"
        pytest.skip(f"{module} not installed (pip install -e '.[export]')")


@pytest.fixture(scope="module")
def catalog() -> Any:
    return load_catalog(["default"])


@pytest.fixture(scope="module")
def plan() -> Plan:
    problem, catalog = load_problem(DEMO)
    result = solve(problem, catalog, "highs")
    assert result.status == "optimal"
    return result


@pytest.fixture(scope="module")
def exports(plan: Plan, catalog: Any) -> dict[str, list[ExportFile]]:
    return {target: list(export_plan(plan, catalog, target).files) for target in TARGETS}


def documents(files: list[ExportFile], kind: str) -> list[dict[str, Any]]:
    found = [yaml.safe_load(f.text) for f in files]
    return [d for d in found if d.get("kind") == kind]


def serve_args(text: str) -> dict[str, str]:
    words = shlex.split(text)
    words = words[words.index("serve") + 1:] if "serve" in words else words
    return dict(zip(words[::2], words[1::2], strict=False))


def test_every_model_names_its_hugging_face_repository(catalog: Any) -> None:
    missing = [name for name, model in catalog.models.items() if not model.hf_repo]
    assert missing == []
    assert catalog.models["llama-3.1-8b"].hf_repo == "meta-llama/Llama-3.1-8B-Instruct"


def test_every_file_starts_with_plan_id_cost_and_why(plan: Plan,
                                                     exports: dict[str, list[ExportFile]]) -> None:
    identifier = plan_id(plan)
    assert len(identifier) == 12
    for target, files in exports.items():
        assert files, target
        for file in files:
            head = [line for line in file.text.splitlines() if line.startswith("#")]
            text = "\n".join(head)
            assert f"plan {identifier}" in text, file.path
            assert f"${plan.objective_usd_per_month:,.2f}/month" in text, file.path
            if "deployment-" in file.path or target in ("skypilot", "vllm", "kserve"):
                assert "why: plan:" in text, file.path


def test_exports_are_deterministic(plan: Plan, catalog: Any) -> None:
    for target in TARGETS:
        first = export_plan(plan, catalog, target).files
        assert first == export_plan(plan, catalog, target).files


def test_kubernetes_deployments_carry_the_plan(plan: Plan, exports: dict[str, list[ExportFile]]) -> None:
    files = exports["kubernetes"]
    deployments = documents(files, "Deployment")
    assert len(deployments) == len(plan.allocations)
    assert sum(d["spec"]["replicas"] for d in deployments) == sum(a.replicas for a in plan.allocations)
    for deployment, allocation in zip(deployments, _serving_order(plan), strict=True):
        pod = deployment["spec"]["template"]["spec"]
        container = pod["containers"][0]
        assert container["resources"]["limits"] == {"nvidia.com/gpu": str(allocation.tensor_parallel)}
        assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in pod["tolerations"]
        args = dict(zip(container["args"][::2], container["args"][1::2], strict=False))
        assert args["--max-num-seqs"] == str(allocation.batch)
        assert args["--tensor-parallel-size"] == str(allocation.tensor_parallel)
        selector = pod["nodeSelector"]
        assert selector["node.kubernetes.io/instance-type"] == allocation.instance_type
        if allocation.provider == "aws":
            expected = "spot" if allocation.pricing == "spot" else "on-demand"
            assert selector["karpenter.sh/capacity-type"] == expected
            assert selector["nvidia.com/gpu.product"].startswith(("NVIDIA-", "Tesla-"))
        if allocation.provider == "gcp":
            assert selector["cloud.google.com/gke-accelerator"].startswith("nvidia-")


def _serving_order(plan: Plan) -> list[Any]:
    return [a for w in plan.workloads for a in plan.allocations if a.workload == w.name]


def test_node_pools_and_disruption_budgets(plan: Plan, exports: dict[str, list[ExportFile]]) -> None:
    files = exports["kubernetes"]
    pools = documents(files, "NodePool")
    aws = {(a.instance_type, "spot" if a.pricing == "spot" else "on-demand")
           for a in plan.allocations if a.provider == "aws"}
    found = set()
    for pool in pools:
        requirements = {r["key"]: r["values"][0] for r in pool["spec"]["template"]["spec"]["requirements"]}
        found.add((requirements["node.kubernetes.io/instance-type"],
                   requirements["karpenter.sh/capacity-type"]))
        assert pool["spec"]["template"]["spec"]["nodeClassRef"]["kind"] == "EC2NodeClass"
    assert found == aws
    for budget in documents(files, "PodDisruptionBudget"):
        assert budget["spec"]["minAvailable"] >= 1
    assert documents(files, "PodDisruptionBudget"), "a workload with several replicas has a budget"


def test_vllm_flags_follow_variant_batch_and_context(plan: Plan,
                                                     exports: dict[str, list[ExportFile]]) -> None:
    workloads = {w.name: w for w in plan.workloads}
    scripts = {f.path: f.text for f in exports["vllm"]}
    for allocation in _serving_order(plan):
        text = next(t for p, t in scripts.items() if p.startswith(allocation.workload)
                    and allocation.instance_type in t)
        command = next(line for line in text.splitlines()
                       if "vllm serve" in line and not line.startswith("#"))
        args = serve_args(command.removeprefix("exec "))
        workload = workloads[allocation.workload]
        assert args["--max-model-len"] == str(workload.prompt_tokens + workload.output_tokens)
        assert args["--max-num-seqs"] == str(allocation.batch)
        assert args["--tensor-parallel-size"] == str(allocation.tensor_parallel)
        assert args.get("--quantization") in QUANTIZATION_CHOICES | {None}
    assert quantization("int4-awq", "hopper") == "awq_marlin"
    assert quantization("int4-gptq", "turing") == "gptq"
    assert quantization("fp8", "hopper") == "fp8"
    assert quantization("bf16", "ampere") is None


def test_pinned_vllm_flags_reject_what_vllm_would() -> None:
    good = ["--model", "x/y", "--quantization", "awq_marlin", "--tensor-parallel-size", "2"]
    assert check_serve_args(good) == []
    assert check_serve_args(["--model", "x", "--quantization", "int8"])  # not a vLLM method
    assert check_serve_args(["--model", "x", "--max-num-seq", "8"])  # misspelt flag
    assert check_serve_args(["--model", "x", "--max-num-seqs", "0"])
    assert check_serve_args(["--quantization", "fp8"]) == ["no --model"]


def test_skypilot_spot_mix_and_replicas(plan: Plan, exports: dict[str, list[ExportFile]]) -> None:
    tasks = {yaml.safe_load(f.text)["name"]: yaml.safe_load(f.text) for f in exports["skypilot"]}
    chat = tasks["chat"]
    allocations = [a for a in plan.allocations if a.workload == "chat"]
    assert chat["resources"]["use_spot"] is any(a.pricing == "spot" for a in allocations)
    policy = chat["service"]["replica_policy"]
    assert policy["min_replicas"] == sum(a.instances for a in allocations)
    on_demand = sum(a.instances for a in allocations if a.pricing != "spot")
    if on_demand and on_demand < policy["min_replicas"]:
        assert policy["base_ondemand_fallback_replicas"] == on_demand
    accelerators = chat["resources"].get("accelerators") or chat["resources"]["any_of"][0]["accelerators"]
    assert list(accelerators.values()) == [allocations[0].accelerators_per_instance]


def test_kserve_replicas_match_the_plan(plan: Plan, exports: dict[str, list[ExportFile]]) -> None:
    services = documents(exports["kserve"], "InferenceService")
    planned = sum(a.replicas for a in plan.allocations)
    assert sum(s["spec"]["predictor"]["minReplicas"] for s in services) == planned
    for service in services:
        predictor = service["spec"]["predictor"]
        assert predictor["minReplicas"] == predictor["maxReplicas"]
        assert predictor["containers"][0]["name"] == "kserve-container"


def test_non_serving_workloads_are_skipped(plan: Plan, catalog: Any) -> None:
    batch = dataclasses.replace(plan.workloads[1], kind="batch")
    mixed = dataclasses.replace(plan, workloads=(plan.workloads[0], batch))
    result = export_plan(mixed, catalog, "vllm")
    assert any("kind batch" in warning for warning in result.warnings)
    assert all(not f.path.startswith(batch.name) for f in result.files)


@pytest.mark.parametrize("target", TARGETS)
def test_real_validators_accept_the_export(target: str, exports: dict[str, list[ExportFile]]) -> None:
    modules = {"kubernetes": "kubernetes_validate", "kserve": "kserve", "skypilot": "sky", "vllm": "yaml"}
    needs(modules[target])
    report = validate(target, exports[target])
    assert report.ok, [str(f) for f in report.findings]
    assert report.validators


def _broken(files: list[ExportFile], kind: str, change: Any) -> list[ExportFile]:
    file = next(f for f in files if yaml.safe_load(f.text).get("kind", kind) == kind)
    document = yaml.safe_load(file.text)
    change(document)
    return [ExportFile(file.path, yaml.safe_dump(document))]


def _container(document: dict[str, Any]) -> dict[str, Any]:
    spec = document["spec"]
    pod = spec["template"]["spec"] if "template" in spec else spec["predictor"]
    container: dict[str, Any] = pod["containers"][0]
    return container


BROKEN_KUBERNETES = {
    "kubernetes-validate": lambda d: _container(d).update(gpus=2),
    "kubernetes-validate ": lambda d: d["spec"].update(replicas="two"),
    "rules": lambda d: _container(d)["resources"]["limits"].update({"nvidia.com/gpus": "1"}),
    "rules ": lambda d: d["metadata"]["labels"].update({"app.kubernetes.io/part-of": "not a label!"}),
    "vllm flags": lambda d: _container(d)["args"].extend(["--quantization", "int8"]),
}


@pytest.mark.parametrize("validator", sorted(BROKEN_KUBERNETES))
def test_kubernetes_validators_reject_broken_manifests(validator: str,
                                                        exports: dict[str, list[ExportFile]]) -> None:
    needs("kubernetes_validate")
    broken = _broken(exports["kubernetes"], "Deployment", BROKEN_KUBERNETES[validator])
    report = validate("kubernetes", broken)
    assert not report.ok
    assert {f.validator for f in report.findings} == {validator.strip()}


def test_node_pool_rules_reject_a_bad_capacity_type(exports: dict[str, list[ExportFile]]) -> None:
    needs("kubernetes_validate")

    def change(document: dict[str, Any]) -> None:
        document["spec"]["template"]["spec"]["requirements"][1]["values"] = ["preemptible"]

    report = validate("kubernetes", _broken(exports["kubernetes"], "NodePool", change))
    assert [f.validator for f in report.findings] == ["rules"]
    assert "preemptible" in report.findings[0].message


@pytest.mark.parametrize("change, validator", [
    (lambda d: d["spec"]["predictor"].update(minReplica=1), "kserve SDK"),
    (lambda d: d["spec"]["predictor"].update(minReplicas="one"), "kserve SDK"),
    (lambda d: d["spec"]["predictor"].update(maxReplicas=None, schedulerName=3), "kserve SDK"),
])
def test_kserve_sdk_rejects_broken_inference_services(change: Any, validator: str,
                                                      exports: dict[str, list[ExportFile]]) -> None:
    needs("kserve")
    report = validate("kserve", _broken(exports["kserve"], "InferenceService", change))
    assert validator in {f.validator for f in report.findings}, [str(f) for f in report.findings]


def test_skypilot_rejects_a_broken_task(exports: dict[str, list[ExportFile]]) -> None:
    needs("sky")
    file = exports["skypilot"][0]
    broken = [ExportFile("broken.yaml", file.text.replace("use_spot:", "use_spott:")),
              ExportFile("typed.yaml", file.text.replace("min_replicas:", "min_replicas: two #"))]
    report = validate("skypilot", broken)
    rejected = sorted(f.file for f in report.findings if f.validator == "skypilot")
    assert rejected == ["broken.yaml", "typed.yaml"]


def test_folder_is_written_atomically(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = [ExportFile("a/one.yaml", "x: 1\n"), ExportFile("two.sh", "#!/bin/sh\nexit 0\n")]
    out = tmp_path / "deploy"
    write_folder(out, files, force=False)
    assert (out / "a" / "one.yaml").read_text() == "x: 1\n"
    assert os.access(out / "two.sh", os.X_OK)
    with pytest.raises(Exception, match="exists"):
        write_folder(out, files, force=False)
    calls = []

    def failing(staging: Path, file: ExportFile) -> None:
        calls.append(file.path)
        if len(calls) == 2:
            raise OSError("disk full")
        original(staging, file)

    original = writer_module._write
    monkeypatch.setattr(writer_module, "_write", failing)
    with pytest.raises(OSError):
        write_folder(out, [ExportFile("new.yaml", "y: 2\n"), ExportFile("b.yaml", "z: 3\n")], force=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["deploy"]  # no temporary folder left
    assert (out / "a" / "one.yaml").exists() and not (out / "new.yaml").exists()
    with pytest.raises(ValueError):
        write_folder(tmp_path / "x", [ExportFile("../escape.yaml", "")], force=False)


def test_cli_solve_then_export_end_to_end(tmp_path: Path) -> None:
    needs("kubernetes_validate")
    plan_file, deploy = tmp_path / "plan.json", tmp_path / "deploy"
    solved = invoke(["solve", str(DEMO), "--format", "json", "-o", str(plan_file)])
    assert solved.exit_code == 0, solved.output
    exported = invoke(["export", str(plan_file), "--to", "kubernetes", "-o", str(deploy),
                                    "--validate"])
    assert exported.exit_code == 0, exported.output
    assert "valid:" in exported.output and "kubernetes-validate" in exported.output
    written = sorted(p.relative_to(deploy).as_posix() for p in deploy.rglob("*.yaml"))
    assert any(p.endswith("deployment-chat-1.yaml") for p in written)
    assert any("/nodepool-" in p for p in written)
    again = invoke(["export", str(plan_file), "--to", "kubernetes", "-o", str(deploy)])
    assert again.exit_code == 1 and "exists" in again.output and str(deploy) in again.output
    forced = invoke(["export", str(plan_file), "--to", "vllm", "-o", str(deploy), "--force"])
    assert forced.exit_code == 0, forced.output
    assert all(p.suffix == ".sh" for p in deploy.iterdir())


@pytest.mark.parametrize("content, message", [
    (None, "plan file not found"),
    ("{not json", "not valid JSON"),
    (json.dumps({"schema_version": 1, "problem": "x"}), "not a plan file"),
])
def test_cli_bad_plan_file_is_one_clear_message(tmp_path: Path, content: str | None, message: str) -> None:
    path = tmp_path / "plan.json"
    if content is not None:
        path.write_text(content)
    result = invoke(["export", str(path), "--to", "kserve", "-o", str(tmp_path / "out")])
    assert result.exit_code == 1
    assert message in result.output and str(path) in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "out").exists()
