"""The calibrated performance model against measured runs (LLM-Inference-Bench, vLLM).

Reads ../shared/data/llm-inference-bench relative to the repository root; skips when it is
absent (a fresh clone has no such folder). Reuses benchmarks/calibrate_performance.py.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from planner.performance import CALIBRATED, efficiency_for, estimate

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "calibrate_performance.py"

TARGET_PCT = 20.0
# Documented exception (see the comment on CALIBRATED["cdna3"]): this bench's MI300X vLLM runs
# need MFU ~0.05 to fit, below the plausible range the calibration is held to. Guard against
# regressions only.
KNOWN_OFF_PCT = {"cdna3": 40.0}


def _load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("calibrate_performance", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def calib() -> ModuleType:
    module = _load_script()
    if not (module.DEFAULT_DATA / module.RESULTS_FILE).is_file():
        pytest.skip(f"measured data absent: {module.DEFAULT_DATA}")
    return module


@pytest.fixture(scope="module")
def vllm_runs(calib: ModuleType) -> dict[str, list]:
    loaded = calib.load_runs(framework="vLLM")
    return calib.by_architecture(calib.calibration_runs(loaded))


def test_every_measured_architecture_is_calibrated(vllm_runs: dict[str, list]) -> None:
    assert set(vllm_runs) <= set(CALIBRATED)


@pytest.mark.parametrize("architecture", sorted(CALIBRATED))
def test_median_latency_error(calib: ModuleType, vllm_runs: dict[str, list],
                              architecture: str) -> None:
    runs = vllm_runs.get(architecture, [])
    if not runs:
        pytest.skip(f"no measured vLLM runs for {architecture}")
    errors = []
    for run in runs:
        # The planner's public path: estimate() with the efficiency looked up by architecture.
        assert efficiency_for(run.accelerator) is CALIBRATED[architecture]
        est = estimate(run.model, calib.BF16, run.accelerator, run.count, run.batch,
                       run.length, run.length)
        errors.append(abs(est.e2e_ms / 1e3 / run.latency_s - 1) * 100)
    median = float(np.median(errors))
    limit = KNOWN_OFF_PCT.get(architecture, TARGET_PCT)
    assert median <= limit, f"{architecture}: median |latency error| {median:.1f} % > {limit} %"


@pytest.mark.parametrize("architecture", sorted(set(CALIBRATED) - set(KNOWN_OFF_PCT)))
def test_median_ttft_error(calib: ModuleType, architecture: str) -> None:
    points = [t for t in calib.load_ttft(calib.DEFAULT_DATA, "vLLM")
              if t.architecture == architecture]
    if not points:
        pytest.skip(f"no measured TTFT for {architecture}")
    median = calib.ttft_error(points, CALIBRATED[architecture])
    assert median <= 25.0, f"{architecture}: median |TTFT error| {median:.1f} %"


def test_script_exits_cleanly_without_data(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    module = _load_script()
    assert module.main(["--data", str(tmp_path)]) == 2
    assert "not found" in capsys.readouterr().err
