"""The roofline model against hand arithmetic (reference-facts.md §6 worked example)."""

from __future__ import annotations

import datetime as dt

import pytest

from planner.catalog import Accelerator, Model, Variant
from planner.performance import Efficiency, estimate, kv_bytes_per_token, weight_gb

ROW = {"source": "test", "as_of": dt.date(2026, 1, 1)}
H100 = Accelerator(name="H100-SXM", vendor="nvidia", architecture="hopper", memory_gb=80,
                   bandwidth_gb_s=3350, tflops={"bf16": 989, "fp8": 1979}, **ROW)
LLAMA_8B = Model(name="llama-3.1-8b", family="llama-3", params_b=8.03, layers=32, hidden=4096,
                 kv_heads=8, head_dim=128, context=131072, quality=0.69, **ROW)
BF16 = Variant(name="bf16", weight_bytes_per_param=2, compute="bf16", quality_retention=1,
               **ROW)
FP8 = Variant(name="fp8", weight_bytes_per_param=1, compute="fp8", quality_retention=0.995,
              **ROW)
IDEAL = Efficiency(mfu=0.5, mbu=0.7, step_overhead_ms=0.0, tp_overhead_ms_per_layer=0.0)


def test_kv_cache_and_weights() -> None:
    """KV/token = 2 x 32 layers x 8 heads x 128 x 2 bytes = 131,072 B (128 KiB);
    weights = 8.03e9 x 2 B = 16.06 GB."""
    assert kv_bytes_per_token(LLAMA_8B) == 131072
    assert weight_gb(LLAMA_8B, BF16) == pytest.approx(16.06)


def test_decode_step_is_memory_bound_at_batch_1() -> None:
    """TPOT(b=1) = (16.06e9 + 1 x 1050 x 131072) / (3350e9 x 0.7) = 6.908 ms; compute would be
    2 x 8.03e9 / (989e12 x 0.5) = 0.032 ms."""
    result = estimate(LLAMA_8B, BF16, H100, 1, 1, 1000, 100, IDEAL)
    assert result.tpot_ms == pytest.approx((16.06e9 + 1050 * 131072) / (3350e9 * 0.7) * 1e3)


def test_prefill_is_compute_bound() -> None:
    """TTFT(p=1024, b=1) = (2 x 8.03e9 x 1024 + 2 x 32 x 1024^2 x 4096) / (989e12 x 0.5)
    = 33.8 ms, above the 6.85 ms weight read."""
    result = estimate(LLAMA_8B, BF16, H100, 1, 1, 1024, 1, IDEAL)
    flops = 2 * 8.03e9 * 1024 + 2 * 32 * 1024**2 * 4096
    assert result.ttft_ms == pytest.approx(flops / (989e12 * 0.5) * 1e3)


def test_fp8_halves_weight_traffic_and_doubles_compute() -> None:
    bf16 = estimate(LLAMA_8B, BF16, H100, 1, 1, 1000, 100, IDEAL)
    fp8 = estimate(LLAMA_8B, FP8, H100, 1, 1, 1000, 100, IDEAL)
    assert fp8.tpot_ms < 0.6 * bf16.tpot_ms
    assert fp8.ttft_ms == pytest.approx(bf16.ttft_ms / 2, rel=0.01)


def test_memory_fit_and_throughput() -> None:
    """Batch 128 x 2,000 tokens x 128 KiB = 33.6 GB of KV + 16.06 GB weights = 49.6 GB
    < 72 GB usable (0.9 x 80); batch 512 needs 150 GB and does not fit. Throughput is
    batch / (TTFT + output x TPOT)."""
    fits = estimate(LLAMA_8B, BF16, H100, 1, 128, 1000, 1000, IDEAL)
    assert fits.memory_needed_gb == pytest.approx(16.06 + 128 * 2000 * 131072 / 1e9)
    assert fits.fits
    assert fits.throughput_rps == pytest.approx(128 / (fits.e2e_ms / 1e3))
    assert not estimate(LLAMA_8B, BF16, H100, 1, 512, 1000, 1000, IDEAL).fits


def test_tensor_parallel_is_faster_but_pays_communication() -> None:
    one = estimate(LLAMA_8B, BF16, H100, 1, 8, 1000, 100, IDEAL)
    comm = Efficiency(mfu=0.5, mbu=0.7, step_overhead_ms=0.0, tp_overhead_ms_per_layer=0.05)
    two = estimate(LLAMA_8B, BF16, H100, 2, 8, 1000, 100, comm)
    assert two.tpot_ms == pytest.approx(one.tpot_ms / 2 + 32 * 0.05)
