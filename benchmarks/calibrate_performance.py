"""Calibrate the roofline performance model (planner/performance.py) against measured runs.

Data: LLM-Inference-Bench (argonne-lcf/LLM-Inference-Bench, arXiv:2411.00136), read from
`../shared/data/llm-inference-bench` relative to the repository root or from `--data DIR`; the
files are never copied into the repository. `All_results.csv` holds static-batch runs: a batch of
`Batch Size` prompts of `Input Output Length` tokens, each generating that many tokens again, on
`Num of Hardware` devices (tensor parallel); `Latency` is the whole batch end to end, in seconds.
(Its `Throughput` column is (input + output) tokens / latency, i.e. twice the output tok/s; this
script compares output tok/s = batch x output / latency.)

For each run the model predicts
    latency = prefill_ms(b, p) + o x decode_step_ms(b, p + o/2)
with p = o = the run's length, N = Num of Hardware, and compares it with the measured latency.
Per architecture it grid-searches Efficiency(mfu, mbu, step_overhead_ms, tp_overhead_ms_per_layer)
to minimise the median absolute % latency error on a training split (every 5th run held out).

    python benchmarks/calibrate_performance.py [--data DIR] [--framework vLLM] [--verbose]

The fitted numbers are copied by hand into `CALIBRATED` in planner/performance.py.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from planner.catalog import Accelerator, Model, Precision, Variant  # noqa: E402
from planner.performance import (  # noqa: E402
    CALIBRATED,
    DEFAULT_EFFICIENCY,
    Efficiency,
    decode_step_ms,
    kv_bytes_per_token,
    memory_needed_gb,
    memory_usable_gb,
    prefill_ms,
    weight_gb,
)

DEFAULT_DATA = REPO_ROOT.parent / "shared" / "data" / "llm-inference-bench"
RESULTS_FILE = "All_results.csv"
TTFT_FILE = "all_results_TTFT_ITL.csv"
AS_OF = dt.date(2025, 11, 26)
HOLD_OUT_EVERY = 5

# --------------------------------------------------------------------------------------------
# Hardware of the benchmark -> accelerator specs (dense peak, no sparsity).
# --------------------------------------------------------------------------------------------
_NV_A100 = "NVIDIA A100 Tensor Core GPU datasheet (A100 80GB SXM: 312 TF bf16, 2039 GB/s)"
_NV_H100 = "NVIDIA H100 Tensor Core GPU datasheet (H100 SXM: 989 TF bf16 dense, 3.35 TB/s)"
_NV_GH200 = (
    "NVIDIA GH200 Grace Hopper Superchip datasheet (96 GB HBM3 at 4 TB/s; "
    "H100-class GPU, 989 TF bf16 dense)"
)
_AMD_MI300X = "AMD Instinct MI300X datasheet (1307.4 TF bf16 dense, 5.3 TB/s, 192 GB HBM3)"
_AMD_MI250 = (
    "AMD Instinct MI250 datasheet (dual-GCD OAM package: 362.1 TF bf16, 3.2768 TB/s, 128 GB)"
)

HARDWARE: dict[str, Accelerator] = {
    "Nvidia A100 GPU": Accelerator(
        name="A100-80GB", vendor="nvidia", architecture="ampere", memory_gb=80,
        bandwidth_gb_s=2039, tflops={Precision.bf16: 312}, source=_NV_A100, as_of=AS_OF),
    "Nvidia H100 GPU": Accelerator(
        name="H100-SXM", vendor="nvidia", architecture="hopper", memory_gb=80,
        bandwidth_gb_s=3350, tflops={Precision.bf16: 989}, source=_NV_H100, as_of=AS_OF),
    "Nvidia GH200 GPU": Accelerator(
        name="GH200-96GB", vendor="nvidia", architecture="hopper", memory_gb=96,
        bandwidth_gb_s=4000, tflops={Precision.bf16: 989}, source=_NV_GH200, as_of=AS_OF),
    "AMD MI300X GPU": Accelerator(
        name="MI300X", vendor="amd", architecture="cdna3", memory_gb=192,
        bandwidth_gb_s=5300, tflops={Precision.bf16: 1307}, source=_AMD_MI300X, as_of=AS_OF),
    # The bench counts MI250 *packages* (2 GCDs each), not GCDs: Mixtral-8x7B (93 GB of bf16
    # weights) runs on "1" MI250 and Llama-2-70B (138 GB) on "2", which only fit in 128 GB
    # packages (one GCD has 64 GB). So N = packages, with the package's combined figures.
    "AMD MI250 GPU": Accelerator(
        name="MI250", vendor="amd", architecture="cdna2", memory_gb=128,
        bandwidth_gb_s=3277, tflops={Precision.bf16: 362}, source=_AMD_MI250, as_of=AS_OF),
}

# --------------------------------------------------------------------------------------------
# Models of the benchmark, from each model's public config.json on the Hugging Face Hub
# (num_hidden_layers, hidden_size, num_key_value_heads, head_dim = hidden / attention heads,
# max_position_embeddings) and its model card for the parameter count.
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ModelSpec:
    params_b: float
    layers: int
    hidden: int
    kv_heads: int
    head_dim: int
    context: int
    source: str
    moe: bool = False
    """Mixture of experts: the roofline (all params read and multiplied) does not model it."""


def _hf(repo: str) -> str:
    return f"https://huggingface.co/{repo}/blob/main/config.json"


MODELS: dict[str, ModelSpec] = {
    # 6.74 B; 32 layers, 4096 hidden, 32 heads (MHA), 4096 context.
    "meta-llama/Llama-2-7b-hf": ModelSpec(6.74, 32, 4096, 32, 128, 4096,
                                          _hf("meta-llama/Llama-2-7b-hf")),
    # 68.98 B; 80 layers, 8192 hidden, 64 heads, 8 KV heads (GQA), 4096 context.
    "meta-llama/Llama-2-70b-hf": ModelSpec(68.98, 80, 8192, 8, 128, 4096,
                                           _hf("meta-llama/Llama-2-70b-hf")),
    # 8.03 B; 32 layers, 4096 hidden, 32 heads, 8 KV heads, 8192 context.
    "meta-llama/Meta-Llama-3-8B": ModelSpec(8.03, 32, 4096, 8, 128, 8192,
                                            _hf("meta-llama/Meta-Llama-3-8B")),
    # 70.55 B; 80 layers, 8192 hidden, 64 heads, 8 KV heads, 8192 context.
    "meta-llama/Meta-Llama-3-70B": ModelSpec(70.55, 80, 8192, 8, 128, 8192,
                                             _hf("meta-llama/Meta-Llama-3-70B")),
    # 7.24 B; 32 layers, 4096 hidden, 32 heads, 8 KV heads, 32768 positions.
    "mistralai/Mistral-7B-v0.1": ModelSpec(7.24, 32, 4096, 8, 128, 32768,
                                           _hf("mistralai/Mistral-7B-v0.1")),
    # 46.7 B total (12.9 B active, 2 of 8 experts); 32 layers, 4096 hidden, 8 KV heads.
    "mistralai/Mixtral-8x7B-v0.1": ModelSpec(46.7, 32, 4096, 8, 128, 32768,
                                             _hf("mistralai/Mixtral-8x7B-v0.1"), moe=True),
    # 7.62 B; 28 layers, 3584 hidden, 28 heads, 4 KV heads, 32768 context.
    "Qwen/Qwen2-7B": ModelSpec(7.62, 28, 3584, 4, 128, 32768, _hf("Qwen/Qwen2-7B")),
    # 72.71 B; 80 layers, 8192 hidden, 64 heads, 8 KV heads, 32768 context.
    "Qwen/Qwen2-72B": ModelSpec(72.71, 80, 8192, 8, 128, 32768, _hf("Qwen/Qwen2-72B")),
    # 7.72 B; 32 layers, 4096 hidden, 32 heads (MHA), 32768 context.
    "Qwen/Qwen1.5-7B": ModelSpec(7.72, 32, 4096, 32, 128, 32768, _hf("Qwen/Qwen1.5-7B")),
    # 6.74 B; 32 layers, 4096 hidden, 32 heads (MHA), 2048 context.
    "huggyllama/llama-7b": ModelSpec(6.74, 32, 4096, 32, 128, 2048, _hf("huggyllama/llama-7b")),
    # 6.05 B; 28 layers, n_embd 4096, 16 heads of 256 (MHA), 2048 positions.
    "EleutherAI/gpt-j-6b": ModelSpec(6.05, 28, 4096, 16, 256, 2048, _hf("EleutherAI/gpt-j-6b")),
    # 7.07 B; 30 layers, 4096 hidden, 32 heads (MHA), ALiBi (no position limit; 2048 trained).
    "bigscience/bloom-7b1": ModelSpec(7.07, 30, 4096, 32, 128, 2048,
                                      _hf("bigscience/bloom-7b1")),
    # 6.66 B; 32 layers, 4096 hidden, 32 heads (MHA), 2048 positions.
    "facebook/opt-6.7b": ModelSpec(6.66, 32, 4096, 32, 128, 2048, _hf("facebook/opt-6.7b")),
    # Not modelled: Deci/DeciLM-7B (variable GQA per layer) and BAAI/Aquila-7B (no
    # authoritative parameter count); their runs are counted as skipped.
}

BF16 = Variant(name="bf16", weight_bytes_per_param=2.0, compute=Precision.bf16,
               quality_retention=1.0, source="unquantised 16-bit weights", as_of=AS_OF)


def planner_model(name: str) -> Model:
    spec = MODELS[name]
    return Model(
        name=name.split("/")[-1], family=name.split("/")[0], params_b=spec.params_b,
        layers=spec.layers, hidden=spec.hidden, kv_heads=spec.kv_heads, head_dim=spec.head_dim,
        context=spec.context, quality=0.5,  # quality is not used by the performance model
        source=spec.source, as_of=AS_OF,
    )


# --------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    hardware: str
    count: int
    framework: str
    model_name: str
    length: int
    """Prompt tokens = output tokens."""
    batch: int
    latency_s: float

    @property
    def accelerator(self) -> Accelerator:
        return HARDWARE[self.hardware]

    @property
    def architecture(self) -> str:
        return HARDWARE[self.hardware].architecture

    @property
    def model(self) -> Model:
        return planner_model(self.model_name)

    @property
    def moe(self) -> bool:
        return MODELS[self.model_name].moe

    @property
    def output_tok_s(self) -> float:
        return self.batch * self.length / self.latency_s


@dataclass
class Loaded:
    runs: list[Run]
    """Runs on mapped hardware with a known model that fit in memory per the model."""
    skipped_unknown: int
    skipped_no_fit: int
    skipped_context: int
    """Prompt + output beyond the model's context window: the run failed (latency ~0.04 s)."""
    skipped_impossible: int
    """Faster than the hardware's peak allows (failed runs, e.g. TensorRT-LLM Qwen2-7B at 2,048)."""
    ttft: list[TtftPoint]


class DataMissing(Exception):
    pass


def find_data(data_dir: Path | None = None) -> Path:
    path = data_dir or DEFAULT_DATA
    if not (path / RESULTS_FILE).is_file():
        raise DataMissing(
            f"LLM-Inference-Bench data not found: {path / RESULTS_FILE} does not exist. Put "
            "argonne-lcf/LLM-Inference-Bench's CSV files there (../shared/data/llm-inference-bench "
            "relative to the repository root) or pass --data DIR."
        )
    return path


def fits(run: Run) -> bool:
    need = memory_needed_gb(run.model, BF16, run.batch, 2 * run.length)
    return need <= memory_usable_gb(run.accelerator, run.count)


@dataclass(frozen=True)
class TtftPoint:
    """A measured time to first token: prefill of `batch` prompts of `prompt` tokens."""

    hardware: str
    count: int
    model_name: str
    prompt: int
    batch: int
    ttft_s: float

    @property
    def architecture(self) -> str:
        return HARDWARE[self.hardware].architecture


def load_ttft(data_dir: Path, framework: str) -> list[TtftPoint]:
    """`all_results_TTFT_ITL.csv`: TTFT of 16 prompts of 1,024 tokens (output length 1).

    Its last column, headed `end_latency`, repeats All_results' whole-batch latency for
    1,024 in / 1,024 out; only the TTFT is used here.
    """
    path = data_dir / TTFT_FILE
    if not path.is_file():
        return []
    points = []
    with path.open(newline="") as handle:
        for row in csv.DictReader(handle):
            if (row.get("Framework") != framework or row.get("Hardware") not in HARDWARE
                    or row.get("Model") not in MODELS or not row.get("TTFT Latency")):
                continue
            points.append(TtftPoint(
                hardware=row["Hardware"], count=int(row["Num of Hardware"]),
                model_name=row["Model"], prompt=int(row["Input Length"]),
                batch=int(row["Batch Size"]), ttft_s=float(row["TTFT Latency"])))
    return points


def load_runs(data_dir: Path | None = None, framework: str = "vLLM") -> Loaded:
    """Runs of `framework` on the mapped hardware, in a deterministic order."""
    folder = find_data(data_dir)
    path = folder / RESULTS_FILE
    runs: list[Run] = []
    unknown = no_fit = beyond_context = impossible = 0
    with path.open(newline="") as handle:
        for row in csv.DictReader(handle):
            if row["Framework"] != framework or row["Hardware"] not in HARDWARE:
                continue
            if row["Model"] not in MODELS:
                unknown += 1
                continue
            run = Run(
                hardware=row["Hardware"], count=int(row["Num of Hardware"]),
                framework=framework, model_name=row["Model"],
                length=int(row["Input Output Length"]), batch=int(row["Batch Size"]),
                latency_s=float(row["Latency"]),
            )
            if 2 * run.length > MODELS[run.model_name].context:
                beyond_context += 1
                continue
            if not fits(run):
                no_fit += 1
                continue
            if not run.moe and run.latency_s < predict_latency_s(run, PEAK):
                impossible += 1
                continue
            runs.append(run)
    runs.sort(key=lambda r: (r.hardware, r.model_name, r.count, r.length, r.batch, r.latency_s))
    return Loaded(runs, unknown, no_fit, beyond_context, impossible,
                  load_ttft(folder, framework))


PEAK = Efficiency(mfu=1.0, mbu=1.0, step_overhead_ms=0.0, tp_overhead_ms_per_layer=0.0)
"""100 % of peak and no overhead: a measured latency below this bound is a failed run."""


def split(runs: Sequence[Run]) -> tuple[list[Run], list[Run]]:
    """Deterministic split: every HOLD_OUT_EVERY-th run (in sorted order) is held out."""
    train = [r for i, r in enumerate(runs) if i % HOLD_OUT_EVERY != HOLD_OUT_EVERY - 1]
    test = [r for i, r in enumerate(runs) if i % HOLD_OUT_EVERY == HOLD_OUT_EVERY - 1]
    return train, test


# --------------------------------------------------------------------------------------------
# Prediction: the planner's own functions (reference) and a vectorised mirror for the search.
# --------------------------------------------------------------------------------------------


def predict_latency_s(run: Run, efficiency: Efficiency) -> float:
    """Whole-batch latency by planner.performance: prefill + o decode steps at context p + o/2."""
    model, acc, n, b, p = run.model, run.accelerator, run.count, run.batch, run.length
    prefill = prefill_ms(model, BF16, acc, n, b, p, efficiency)
    step = decode_step_ms(model, BF16, acc, n, b, p + p / 2, efficiency)
    return (prefill + p * step) / 1e3


@dataclass(frozen=True)
class Terms:
    """Per-run roofline terms, so that latency(eff) is a cheap numpy expression."""

    prefill_compute: np.ndarray
    """Seconds at MFU = 1."""
    prefill_memory: np.ndarray
    decode_compute: np.ndarray
    decode_memory: np.ndarray
    steps: np.ndarray
    """Forward passes: 1 prefill + o decode steps."""
    tp_layers: np.ndarray
    """Layers if tensor parallel (N > 1), else 0."""
    measured: np.ndarray


def terms(runs: Sequence[Run]) -> Terms:
    """Terms of whole-batch latency: prefill of p then o = p decode steps."""
    return _terms([(r.model, r.accelerator, r.count, r.batch, r.length, r.length, r.latency_s)
                   for r in runs])


def ttft_terms(points: Sequence[TtftPoint]) -> Terms:
    """Terms of the prefill alone (no decode step)."""
    return _terms([(planner_model(t.model_name), HARDWARE[t.hardware], t.count, t.batch,
                    t.prompt, 0, t.ttft_s) for t in points])


def _terms(cases: Sequence[tuple[Model, Accelerator, int, int, int, int, float]]) -> Terms:
    pc, pm, dc, dm, steps, tpl, meas = ([] for _ in range(7))
    for model, acc, n, b, p, o, measured in cases:
        params = model.params_b * 1e9
        flops_s = n * acc.tflops[Precision.bf16] * 1e12
        bw = n * acc.bandwidth_gb_s * 1e9 * BF16.bandwidth_efficiency
        weights = weight_gb(model, BF16) * 1e9
        pc.append((2 * params * b * p + 2 * model.layers * b * p**2 * model.hidden) / flops_s)
        pm.append(weights / bw)
        dc.append(o * 2 * params * b / flops_s)
        dm.append(o * (weights + b * (p + o / 2) * kv_bytes_per_token(model)) / bw)
        steps.append(1 + o)
        tpl.append(model.layers if n > 1 else 0)
        meas.append(measured)
    return Terms(*(np.asarray(x, dtype=float) for x in (pc, pm, dc, dm, steps, tpl, meas)))


def latency_grid(t: Terms, mfu: np.ndarray, mbu: np.ndarray, step_ms: np.ndarray,
                 tp_ms: np.ndarray) -> np.ndarray:
    """Predicted latency (s), shape (mfu, mbu, step, tp, runs)."""
    f = mfu[:, None, None, None, None]
    m = mbu[None, :, None, None, None]
    s = step_ms[None, None, :, None, None] / 1e3
    c = tp_ms[None, None, None, :, None] / 1e3
    roof = np.maximum(t.prefill_compute / f, t.prefill_memory / m) + np.maximum(
        t.decode_compute / f, t.decode_memory / m)
    return roof + t.steps * (s + c * t.tp_layers)


def abs_pct(pred: np.ndarray, measured: np.ndarray) -> np.ndarray:
    return np.abs(pred / measured - 1) * 100


MFU_GRID = np.round(np.arange(0.20, 0.801, 0.05), 2)
MBU_GRID = np.round(np.arange(0.30, 0.951, 0.025), 3)
STEP_GRID = np.array([0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0, 12.0, 15.0])
TP_GRID = np.array([0.0, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3])


TTFT_WEIGHT = 0.25
"""Weight of the median TTFT error in the objective. End-to-end latency of these runs is
dominated by decode and barely constrains MFU (the median error moves by a few points between
MFU 0.15 and 0.6), so the measured prefill times pin it. Weights 0.1 to 0.5 give the same fit
(within one grid step); 0 drives MFU to the grid's floor and TTFT errors above 200 %."""


def fit(runs: Sequence[Run], ttft: Sequence[TtftPoint] = ()) -> Efficiency:
    """Grid search minimising median abs % latency error + TTFT_WEIGHT x median abs % TTFT error."""
    t = terms(runs)
    tt = ttft_terms(ttft) if ttft else None
    best: tuple[float, Efficiency] | None = None
    for f in MFU_GRID:  # one mfu at a time keeps the array small
        pred = latency_grid(t, np.array([f]), MBU_GRID, STEP_GRID, TP_GRID)
        med = np.median(abs_pct(pred, t.measured), axis=-1)[0]
        if tt is not None:
            pred_ttft = latency_grid(tt, np.array([f]), MBU_GRID, STEP_GRID, TP_GRID)
            med = med + TTFT_WEIGHT * np.median(abs_pct(pred_ttft, tt.measured), axis=-1)[0]
        i, j, k = np.unravel_index(np.argmin(med), med.shape)
        score = float(med[i, j, k])
        if best is None or score < best[0] - 1e-9:
            best = (score, Efficiency(mfu=float(f), mbu=float(MBU_GRID[i]),
                                      step_overhead_ms=float(STEP_GRID[j]),
                                      tp_overhead_ms_per_layer=float(TP_GRID[k])))
    assert best is not None
    return best[1]


# --------------------------------------------------------------------------------------------
# Errors and report
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Errors:
    runs: int
    latency_median: float
    latency_p90: float
    throughput_median: float
    throughput_p90: float


def latency_errors(runs: Sequence[Run], efficiency: Efficiency) -> np.ndarray:
    """Absolute % latency errors, by the planner's own (scalar) functions."""
    pred = np.array([predict_latency_s(r, efficiency) for r in runs])
    meas = np.array([r.latency_s for r in runs])
    return abs_pct(pred, meas) if len(runs) else np.zeros(0)


def errors(runs: Sequence[Run], efficiency: Efficiency) -> Errors:
    if len(runs) == 0:
        return Errors(0, float("nan"), float("nan"), float("nan"), float("nan"))
    pred = np.array([predict_latency_s(r, efficiency) for r in runs])
    meas = np.array([r.latency_s for r in runs])
    lat = abs_pct(pred, meas)
    thr = abs_pct(meas / pred, np.ones_like(meas))  # output tok/s: (b o / pred) / (b o / meas)
    return Errors(len(runs), float(np.median(lat)), float(np.percentile(lat, 90)),
                  float(np.median(thr)), float(np.percentile(thr, 90)))


def ttft_error(points: Sequence[TtftPoint], efficiency: Efficiency) -> float:
    """Median absolute % error of prefill_ms against measured TTFT (nan without points)."""
    if not points:
        return float("nan")
    pred = np.array([prefill_ms(planner_model(t.model_name), BF16, HARDWARE[t.hardware], t.count,
                                t.batch, t.prompt, efficiency) / 1e3 for t in points])
    return float(np.median(abs_pct(pred, np.array([t.ttft_s for t in points]))))


def by_architecture(runs: Iterable[Run]) -> dict[str, list[Run]]:
    groups: dict[str, list[Run]] = {}
    for r in runs:
        groups.setdefault(r.architecture, []).append(r)
    return dict(sorted(groups.items()))


def calibration_runs(loaded: Loaded) -> list[Run]:
    """The runs the factors are fitted to and tested on: dense models only."""
    return [r for r in loaded.runs if not r.moe]


@dataclass(frozen=True)
class Row:
    label: str
    factors: Efficiency
    held_out: Errors
    all_runs: Errors
    ttft: float


def row(label: str, group: Sequence[Run], ttft: Sequence[TtftPoint], eff: Efficiency) -> Row:
    return Row(label, eff, errors(split(group)[1], eff), errors(group, eff), ttft_error(ttft, eff))


def calibrate(runs: Sequence[Run], ttft: Sequence[TtftPoint]) -> list[Row]:
    """Fit each architecture on its training split; errors on held-out and all runs."""
    rows = []
    for arch, group in by_architecture(runs).items():
        points = [t for t in ttft if t.architecture == arch]
        rows.append(row(arch, group, points, fit(split(group)[0], points)))
    return rows


def _fmt_eff(e: Efficiency) -> str:
    return (f"mfu={e.mfu:.2f} mbu={e.mbu:.3f} step={e.step_overhead_ms:g}ms "
            f"tp={e.tp_overhead_ms_per_layer:g}ms/layer")


def format_table(rows: Sequence[Row], title: str) -> str:
    head = (f"{'architecture':<13}{'runs':>5}  {'latency held-out':>16}  {'latency all':>13}  "
            f"{'tok/s held-out':>14}  {'tok/s all':>13}  {'TTFT':>5}  factors")
    sub = (f"{'':<13}{'':>5}  {'med / p90 %':>16}  {'med / p90 %':>13}  {'med / p90 %':>14}  "
           f"{'med / p90 %':>13}  {'med %':>5}")
    lines = [title, head, sub, "-" * (len(head) + 40)]
    for r in rows:
        h, a = r.held_out, r.all_runs
        lines.append(
            f"{r.label:<13}{a.runs:>5}  {h.latency_median:>7.1f} / {h.latency_p90:<6.1f}  "
            f"{a.latency_median:>5.1f} / {a.latency_p90:<5.1f}  "
            f"{h.throughput_median:>6.1f} / {h.throughput_p90:<5.1f}  "
            f"{a.throughput_median:>5.1f} / {a.throughput_p90:<5.1f}  {r.ttft:>5.0f}  "
            f"{_fmt_eff(r.factors)}"
        )
    return "\n".join(lines)


def breakdown(runs: Sequence[Run], effs: dict[str, Efficiency], key: str) -> str:
    """Median / p90 / signed-median latency error per hardware or per model."""
    groups: dict[str, list[Run]] = {}
    for r in runs:
        groups.setdefault(getattr(r, key), []).append(r)
    lines = []
    for name, group in sorted(groups.items()):
        pred = np.array([predict_latency_s(r, effs.get(r.architecture, DEFAULT_EFFICIENCY))
                         for r in group])
        signed = (pred / np.array([r.latency_s for r in group]) - 1) * 100
        lines.append(f"  {name:<30}{len(group):>5}  |latency err| med {np.median(abs(signed)):5.1f}"
                     f" %  p90 {np.percentile(abs(signed), 90):6.1f} %  signed med "
                     f"{np.median(signed):+6.1f} %")
    return "\n".join(lines)


def check_vectorised(runs: Sequence[Run], eff: Efficiency) -> float:
    """Largest relative gap between the numpy mirror and planner.performance (should be ~0)."""
    t = terms(runs)
    vec = latency_grid(t, np.array([eff.mfu]), np.array([eff.mbu]),
                       np.array([eff.step_overhead_ms]),
                       np.array([eff.tp_overhead_ms_per_layer]))[0, 0, 0, 0]
    ref = np.array([predict_latency_s(r, eff) for r in runs])
    return float(np.max(np.abs(vec / ref - 1))) if len(runs) else 0.0


def report(data_dir: Path | None, framework: str, verbose: bool) -> str:
    loaded = load_runs(data_dir, framework)
    dense = calibration_runs(loaded)
    moe = [r for r in loaded.runs if r.moe]
    rows = calibrate(dense, loaded.ttft)
    effs = {r.label: r.factors for r in rows}
    gap = max((check_vectorised(dense, e) for e in effs.values()), default=0.0)
    total = (len(loaded.runs) + loaded.skipped_no_fit + loaded.skipped_unknown
             + loaded.skipped_context + loaded.skipped_impossible)
    groups = by_architecture(dense)

    def points(arch: str) -> list[TtftPoint]:
        return [t for t in loaded.ttft if t.architecture == arch]

    out = [
        f"{framework}: {total} runs on A100/H100/GH200/MI250/MI300X; "
        f"{len(dense)} dense runs fitted, {len(moe)} MoE runs reported apart, "
        f"{len(loaded.ttft)} TTFT points.",
        f"  skipped: {loaded.skipped_unknown} model not described (DeciLM-7B, Aquila-7B), "
        f"{loaded.skipped_context} prompt + output beyond the model's context,",
        f"           {loaded.skipped_no_fit} do not fit in memory per the model, "
        f"{loaded.skipped_impossible} faster than peak hardware allows (failed runs).",
        f"Objective: median |latency error| on the training split (every {HOLD_OUT_EVERY}th run "
        f"held out) + {TTFT_WEIGHT} x median |TTFT error|.",
        "",
        format_table(rows, f"Fitted per architecture ({framework}, dense models):"),
    ]
    if CALIBRATED:
        current = [row(a, g, points(a), e) for a, g in groups.items()
                   if (e := CALIBRATED.get(a)) is not None]
        out += ["", format_table(current, "planner/performance.py CALIBRATED, same runs:")]
    default = [row(a, g, points(a), DEFAULT_EFFICIENCY) for a, g in groups.items()]
    out += ["", format_table(default, "DEFAULT_EFFICIENCY (fallback), same runs:")]
    if moe:
        moe_rows = [row(a, g, [], effs.get(a, DEFAULT_EFFICIENCY))
                    for a, g in by_architecture(moe).items()]
        out += ["", format_table(moe_rows, "Mixtral-8x7B (MoE; total params treated as dense), "
                                           "fitted dense factors:")]
    if verbose:
        out += ["", "Per hardware (dense, fitted factors):", breakdown(dense, effs, "hardware"),
                "", "Per model (fitted factors; signed > 0 = predicted slower):",
                breakdown(loaded.runs, effs, "model_name")]
    out += ["", f"numpy mirror vs planner.performance: max relative gap {gap:.1e}"]
    return "\n".join(out)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--data", type=Path, default=None,
                        help=f"folder with {RESULTS_FILE} (default: {DEFAULT_DATA})")
    parser.add_argument("--framework", action="append", default=None,
                        help="framework(s) to calibrate (default: vLLM and TensorRT-LLM)")
    parser.add_argument("--verbose", action="store_true", help="per-hardware and per-model errors")
    args = parser.parse_args(argv)
    try:
        find_data(args.data)
    except DataMissing as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    frameworks = args.framework or ["vLLM", "TensorRT-LLM"]
    print("\n\n".join(report(args.data, fw, args.verbose) for fw in frameworks))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
