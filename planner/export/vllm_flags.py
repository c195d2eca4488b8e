"""The vLLM command line for one replica, and a check of it against a pinned vLLM version.

Pinned: vLLM 0.33.0, read from its PyPI wheel (vllm-0.33.0-cp38-abi3-manylinux_2_28_x86_64.whl):
`--quantization` choices are the `QuantizationMethods` literal in
vllm/model_executor/layers/quantization/__init__.py, `--dtype` choices `ModelDType` in
vllm/config/model.py, `--runner` choices `RunnerOption` in vllm/config/model.py, the flags
themselves from EngineArgs.add_cli_args (vllm/engine/arg_utils.py) and FrontendArgs
(vllm/entrypoints/common/cli_args.py). vLLM is not installed here; bump the version and these
lists together.
"""

from __future__ import annotations

from dataclasses import dataclass

from planner.catalog import Model
from planner.plan import Allocation

VLLM_VERSION = "0.33.0"
VLLM_IMAGE = f"vllm/vllm-openai:v{VLLM_VERSION}"
"""vLLM's official CUDA image on Docker Hub (docs.vllm.ai, deployment/docker)."""
SERVE_PORT = 8000

QUANTIZATION_CHOICES = frozenset({
    "awq", "auto_awq", "fp8", "fbgemm_fp8", "fp_quant", "modelopt", "modelopt_fp4", "modelopt_mxfp8",
    "modelopt_mixed", "auto_gptq", "gptq", "gptq_marlin", "awq_marlin", "humming",
    "compressed-tensors", "experts_int8", "quark", "moe_wna16", "torchao", "inc", "mxfp4",
    "gpt_oss_mxfp4", "deepseek_v4_fp8", "online", "fp8_per_tensor", "fp8_per_block",
    "fp8_per_channel", "int8_per_channel_weight_only", "nvfp4_per_token", "mxfp8",
})
DTYPE_CHOICES = frozenset({"auto", "half", "float16", "bfloat16", "float", "float32"})
RUNNER_CHOICES = frozenset({"auto", "generate", "pooling", "draft"})
INTEGER_FLAGS = frozenset({"--max-num-seqs", "--tensor-parallel-size", "--data-parallel-size",
                           "--max-model-len", "--port"})
FLAGS = frozenset({"--model", "--served-model-name", "--quantization", "--dtype", "--runner",
                   "--gpu-memory-utilization", "--host", *INTEGER_FLAGS})

# Variant -> vLLM quantization method. fp8 quantizes a 16-bit checkpoint at load time
# (docs.vllm.ai features/quantization/fp8, "online dynamic quantization"); the others read a
# pre-quantized checkpoint: W8A8 INT8 and 2:4 sparse checkpoints from llm-compressor are in
# compressed-tensors format; AWQ/GPTQ use the Marlin kernels from compute capability 8.0
# (Ampere) on, the plain kernels on Turing.
_QUANTIZATION = {"fp8": "fp8", "int8": "compressed-tensors", "sparse-2of4": "compressed-tensors"}
_MARLIN_ARCHITECTURES = frozenset({"ampere", "ada", "hopper", "blackwell"})
_FP16_ONLY_ARCHITECTURES = frozenset({"turing", "volta"})
# Pre-quantized checkpoints on the Hugging Face Hub, by (catalog model, variant). Publishers:
# hugging-quants (AWQ/GPTQ INT4 of Llama 3.1, linked from Meta's release), RedHatAI (formerly
# neuralmagic; W8A8 INT8 and Sparse-Llama-3.1-8B-2of4, cited in catalogs/default/variants.yaml),
# Qwen (official AWQ and GPTQ-Int4 releases of Qwen2.5 Instruct).
CHECKPOINTS: dict[tuple[str, str], str] = {
    ("llama-3.1-8b", "int4-awq"): "hugging-quants/Meta-Llama-3.1-8B-Instruct-AWQ-INT4",
    ("llama-3.1-8b", "int4-gptq"): "hugging-quants/Meta-Llama-3.1-8B-Instruct-GPTQ-INT4",
    ("llama-3.1-8b", "int8"): "RedHatAI/Meta-Llama-3.1-8B-Instruct-quantized.w8a8",
    ("llama-3.1-8b", "sparse-2of4"): "RedHatAI/Sparse-Llama-3.1-8B-2of4",
    ("llama-3.1-70b", "int4-awq"): "hugging-quants/Meta-Llama-3.1-70B-Instruct-AWQ-INT4",
    ("llama-3.1-70b", "int4-gptq"): "hugging-quants/Meta-Llama-3.1-70B-Instruct-GPTQ-INT4",
    ("llama-3.1-70b", "int8"): "RedHatAI/Meta-Llama-3.1-70B-Instruct-quantized.w8a8",
    ("llama-3.1-405b", "int4-awq"): "hugging-quants/Meta-Llama-3.1-405B-Instruct-AWQ-INT4",
    ("llama-3.1-405b", "int4-gptq"): "hugging-quants/Meta-Llama-3.1-405B-Instruct-GPTQ-INT4",
    ("llama-3.1-405b", "int8"): "RedHatAI/Meta-Llama-3.1-405B-Instruct-quantized.w8a8",
    ("qwen2.5-7b", "int4-awq"): "Qwen/Qwen2.5-7B-Instruct-AWQ",
    ("qwen2.5-7b", "int4-gptq"): "Qwen/Qwen2.5-7B-Instruct-GPTQ-Int4",
    ("qwen2.5-32b", "int4-awq"): "Qwen/Qwen2.5-32B-Instruct-AWQ",
    ("qwen2.5-32b", "int4-gptq"): "Qwen/Qwen2.5-32B-Instruct-GPTQ-Int4",
    ("qwen2.5-72b", "int4-awq"): "Qwen/Qwen2.5-72B-Instruct-AWQ",
    ("qwen2.5-72b", "int4-gptq"): "Qwen/Qwen2.5-72B-Instruct-GPTQ-Int4",
}
# Encoder-only embedding models run on vLLM's pooling runner.
_EMBEDDING_FAMILIES = frozenset({"bge"})
_ONLINE_VARIANTS = frozenset({"bf16", "fp8"})


@dataclass(frozen=True)
class ServeCommand:
    """`vllm serve` arguments for one replica (no port), and what the reader must know."""

    args: tuple[str, ...]
    notes: tuple[str, ...] = ()


def quantization(variant: str, architecture: str) -> str | None:
    if variant in ("int4-awq", "int4-gptq"):
        kernel = variant.removeprefix("int4-")
        return f"{kernel}_marlin" if architecture in _MARLIN_ARCHITECTURES else kernel
    if variant == "bf16":
        return None
    return _QUANTIZATION.get(variant, variant)


def weights_repo(model: Model, variant: str) -> tuple[str, tuple[str, ...]]:
    """Hugging Face repository to load, and a note when no pre-quantized checkpoint is known."""
    base = model.hf_repo or model.name
    notes: list[str] = []
    if model.hf_repo is None:
        notes.append(f"model {model.name} has no hf_repo in the catalog; --model {model.name} "
                     "must name a local path or repository")
    if variant in _ONLINE_VARIANTS:
        return base, tuple(notes)
    known = CHECKPOINTS.get((model.name, variant))
    if known is not None:
        return known, tuple(notes)
    notes.append(f"variant {variant} needs a pre-quantized checkpoint of {base}; none is known, "
                 f"so --model {base} must be replaced by one")
    return base, tuple(notes)


def serve_command(allocation: Allocation, model: Model, architecture: str,
                  max_model_len: int, data_parallel: int = 1) -> ServeCommand:
    """The flags that reproduce the planned configuration: variant, TP degree, batch, context."""
    repo, notes = weights_repo(model, allocation.variant)
    args = ["--model", repo, "--served-model-name", model.name]
    if model.family in _EMBEDDING_FAMILIES:
        args += ["--runner", "pooling"]
    method = quantization(allocation.variant, architecture)
    if method is not None:
        args += ["--quantization", method]
    args += ["--dtype", "float16" if architecture in _FP16_ONLY_ARCHITECTURES else "bfloat16",
             "--tensor-parallel-size", str(allocation.tensor_parallel),
             "--max-num-seqs", str(allocation.batch),
             "--max-model-len", str(max_model_len),
             # The planner's memory fit assumes vLLM's default 90 % of device memory.
             "--gpu-memory-utilization", "0.9"]
    if data_parallel > 1:
        args += ["--data-parallel-size", str(data_parallel)]
    return ServeCommand(tuple(args), notes)


def server_args(command: ServeCommand, port: int = SERVE_PORT) -> list[str]:
    """The replica's arguments plus where its OpenAI-compatible server listens."""
    return [*command.args, "--host", "0.0.0.0", "--port", str(port)]


def max_model_len(model: Model, prompt_tokens: int, output_tokens: int) -> int:
    """Context the plan sized the KV cache for (prompt + output), capped at the model's own."""
    planned = prompt_tokens + output_tokens
    return min(planned, model.context) if planned > 0 else model.context


def check_serve_args(args: tuple[str, ...] | list[str]) -> list[str]:
    """Problems with `vllm serve` arguments under the pinned vLLM version (empty when valid)."""
    problems: list[str] = []
    index = 0
    seen: set[str] = set()
    while index < len(args):
        flag = args[index]
        if flag not in FLAGS:
            problems.append(f"unknown flag {flag!r} for vLLM {VLLM_VERSION}")
            index += 1
            continue
        if flag in seen:
            problems.append(f"flag {flag} given twice")
        seen.add(flag)
        if index + 1 >= len(args) or args[index + 1].startswith("--"):
            problems.append(f"flag {flag} has no value")
            index += 1
            continue
        problems += _check_value(flag, args[index + 1])
        index += 2
    if "--model" not in seen:
        problems.append("no --model")
    return problems


def _check_value(flag: str, value: str) -> list[str]:
    choices = {"--quantization": QUANTIZATION_CHOICES, "--dtype": DTYPE_CHOICES,
               "--runner": RUNNER_CHOICES}.get(flag)
    if choices is not None and value not in choices:
        return [f"{flag} {value!r} is not one of vLLM {VLLM_VERSION}'s choices"]
    if flag in INTEGER_FLAGS and not (value.isdigit() and int(value) > 0):
        return [f"{flag} needs a positive integer (got {value!r})"]
    if flag == "--gpu-memory-utilization":
        try:
            fraction = float(value)
        except ValueError:
            return [f"{flag} needs a number (got {value!r})"]
        if not 0 < fraction <= 1:
            return [f"{flag} must be in (0, 1] (got {value})"]
    return []
