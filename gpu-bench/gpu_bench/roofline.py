"""Roofline ceilings for LLM serving: memory-bound decode, compute-bound prefill, KV capacity."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict, dataclass, replace
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from gpu_bench.stats import PhaseStats

GIB = 2**30
DEFAULT_UTILIZATION = 0.9  # vLLM's default gpu_memory_utilization
DTYPE_BYTES = {
    "float32": 4.0, "fp32": 4.0, "bfloat16": 2.0, "bf16": 2.0, "float16": 2.0, "fp16": 2.0,
    "half": 2.0, "fp8": 1.0, "float8_e4m3fn": 1.0, "float8_e5m2": 1.0, "int8": 1.0, "int4": 0.5,
}  # fmt: skip


@dataclass(frozen=True)
class GpuSpec:
    """One GPU's datasheet figures: memory GiB, bandwidth GB/s, dense TFLOPS."""

    name: str
    memory_gib: float
    bandwidth_gb_s: float
    bf16_tflops: float
    fp8_tflops: float | None = None


@dataclass(frozen=True)
class ModelShape:
    """What the roofline needs of a decoder-only transformer."""

    name: str
    parameters: float
    num_layers: int
    num_kv_heads: int
    head_dim: int
    dtype_bytes: float = 2.0
    kv_dtype_bytes: float = 2.0


PRESETS = {
    "llama-3.1-8b": ModelShape("llama-3.1-8b", 8.03e9, 32, 8, 128),
    "llama-3.1-70b": ModelShape("llama-3.1-70b", 70.6e9, 80, 8, 128),
}


def load_gpu_table() -> dict[str, GpuSpec]:
    """The built-in GPU table (gpus.yaml next to this module)."""
    text = resources.files("gpu_bench").joinpath("gpus.yaml").read_text(encoding="utf-8")
    data: dict[str, dict[str, Any]] = yaml.safe_load(text)
    return {name: GpuSpec(name=name, **fields) for name, fields in data.items()}


def get_gpu(
    name: str,
    *,
    memory_gib: float | None = None,
    bandwidth_gb_s: float | None = None,
    bf16_tflops: float | None = None,
    fp8_tflops: float | None = None,
) -> GpuSpec:
    """A GPU from the table with any given figure overridden; unknown names need all three."""
    given = {"memory_gib": memory_gib, "bandwidth_gb_s": bandwidth_gb_s}
    given |= {"bf16_tflops": bf16_tflops, "fp8_tflops": fp8_tflops}
    overrides: dict[str, Any] = {key: value for key, value in given.items() if value is not None}
    if any(value <= 0 for value in overrides.values()):
        raise ValueError(f"GPU {name!r}: overrides must be greater than zero, got {overrides}")
    table = load_gpu_table()
    base = {key.lower(): spec for key, spec in table.items()}.get(name.lower())
    if base is not None:
        return replace(base, **overrides)
    if memory_gib and bandwidth_gb_s and bf16_tflops:
        return GpuSpec(name, memory_gib, bandwidth_gb_s, bf16_tflops, fp8_tflops)
    known = ", ".join(table)
    raise ValueError(
        f"unknown GPU {name!r}: use one of {known}, or give memory, bandwidth and TFLOPS"
    )


def get_dtype_bytes(dtype: str, where: str) -> float:
    """Bytes per element of a dtype name such as bfloat16; ValueError naming the source."""
    key = dtype.lower().removeprefix("torch.")
    if key not in DTYPE_BYTES:
        raise ValueError(f"{where}: unknown dtype {dtype!r}; known: {', '.join(DTYPE_BYTES)}")
    return DTYPE_BYTES[key]


def _read_mapping(path: Path) -> dict[str, Any]:
    """A JSON or YAML file's top-level mapping; ValueError naming the file and line."""
    if not path.is_file():
        raise ValueError(f"{path}: file not found")
    text = path.read_text(encoding="utf-8")
    try:
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg})") from None
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else "?"
        raise ValueError(f"{path}:{line}: not valid YAML ({exc.problem})") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}:1: expected a mapping at the top level")
    return data


def _number(data: dict[str, Any], key: str, path: Path, *, default: Any = None) -> int:
    """A required positive whole number, or a ValueError naming the file and the field."""
    value = data[key] if data.get(key) is not None else default
    if value is None:
        raise ValueError(f"{path}: missing field {key!r}")
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ValueError(f"{path}: field {key!r} must be a positive number, got {value!r}")
    return int(value)


def load_model_shape(folder: Path) -> ModelShape:
    """A model's shape from an Airlock model folder (manifest.yaml plus config.json)."""
    manifest_path, config_path = folder / "manifest.yaml", folder / "config.json"
    manifest, config = _read_mapping(manifest_path), _read_mapping(config_path)
    dtype, where = manifest.get("dtype"), manifest_path
    if not dtype:
        dtype, where = config.get("torch_dtype"), config_path
    if not dtype:
        raise ValueError(f"{manifest_path}: missing field 'dtype' (and no torch_dtype in config)")
    dtype_bytes = get_dtype_bytes(str(dtype), str(where))
    heads = _number(config, "num_attention_heads", config_path)
    hidden = config.get("hidden_size")
    head_dim = hidden // heads if isinstance(hidden, int) else None
    return ModelShape(
        name=str(manifest.get("id") or folder.name),
        parameters=float(_number(manifest, "parameters", manifest_path)),
        num_layers=_number(config, "num_hidden_layers", config_path),
        num_kv_heads=_number(config, "num_key_value_heads", config_path, default=heads),
        head_dim=_number(config, "head_dim", config_path, default=head_dim),
        dtype_bytes=dtype_bytes,
        kv_dtype_bytes=max(dtype_bytes, 2.0),  # quantized weights keep a 16-bit KV cache
    )


def get_model_shape(spec: str) -> ModelShape:
    """A preset by name (llama-3.1-8b, llama-3.1-70b) or a model folder's shape."""
    if spec.lower() in PRESETS:
        return PRESETS[spec.lower()]
    if Path(spec).is_dir():
        return load_model_shape(Path(spec))
    raise ValueError(f"model {spec!r} is neither a preset ({', '.join(PRESETS)}) nor a folder")


@dataclass(frozen=True)
class Roofline:
    """Ceilings for one model on a set of GPUs; bytes in bytes, times in seconds."""

    model: str
    gpu: str
    tensor_parallel: int
    utilization: float
    batch: int
    context_tokens: int
    weight_bytes: float
    kv_bytes_per_token: float
    fits: bool  # weights fit in the usable memory
    batch_fits: bool  # and the KV cache of `batch` sequences of `context_tokens` too
    decode_s_per_token: float  # batch 1, weights only
    decode_tokens_per_s: float  # batch 1
    batch_step_s: float  # one decode step at `batch` sequences of `context_tokens`
    batch_tokens_per_s: float
    prefill_tokens_per_s: float
    kv_capacity_tokens: int
    max_sequences_at_context: int

    def to_dict(self) -> dict[str, Any]:
        """JSON values."""
        return asdict(self)


def compute_roofline(
    model: ModelShape,
    gpu: GpuSpec,
    *,
    tensor_parallel: int = 1,
    batch: int = 1,
    context_tokens: int = 2048,
    utilization: float = DEFAULT_UTILIZATION,
) -> Roofline:
    """Ceilings assuming ideal tensor parallelism (bandwidth and FLOPs add across GPUs)."""
    if min(tensor_parallel, batch, context_tokens) < 1 or not 0 < utilization <= 1:
        raise ValueError("roofline needs tp, batch and context >= 1 and utilization in (0, 1]")
    weights = model.parameters * model.dtype_bytes
    kv_token = 2 * model.num_layers * model.num_kv_heads * model.head_dim * model.kv_dtype_bytes
    bandwidth = gpu.bandwidth_gb_s * 1e9 * tensor_parallel
    use_fp8 = model.dtype_bytes <= 1 and gpu.fp8_tflops is not None
    tflops = gpu.fp8_tflops if use_fp8 and gpu.fp8_tflops else gpu.bf16_tflops
    usable = gpu.memory_gib * GIB * utilization * tensor_parallel
    capacity = max(0, int((usable - weights) // kv_token))
    step = (weights + batch * kv_token * context_tokens) / bandwidth
    return Roofline(
        model=model.name,
        gpu=gpu.name,
        tensor_parallel=tensor_parallel,
        utilization=utilization,
        batch=batch,
        context_tokens=context_tokens,
        weight_bytes=weights,
        kv_bytes_per_token=kv_token,
        fits=weights < usable,
        batch_fits=batch * context_tokens <= capacity,
        decode_s_per_token=weights / bandwidth,
        decode_tokens_per_s=bandwidth / weights,
        batch_step_s=step,
        batch_tokens_per_s=batch / step,
        prefill_tokens_per_s=tflops * 1e12 * tensor_parallel / (2 * model.parameters),
        kv_capacity_tokens=capacity,
        max_sequences_at_context=capacity // context_tokens,
    )


@dataclass(frozen=True)
class CeilingRatios:
    """A run against its roofline: throughput as a fraction, TPOT as a multiple of the ceiling."""

    achieved_output_tokens_per_s: float
    ceiling_output_tokens_per_s: float
    throughput_fraction: float  # achieved / ceiling; 1.0 is the roofline
    achieved_tpot_s: float | None  # mean TPOT of the phase
    ceiling_tpot_s: float
    tpot_multiple: float | None  # achieved / ceiling; 1.0 is the roofline, higher is slower

    def to_dict(self) -> dict[str, Any]:
        """JSON values."""
        return asdict(self)


def achieved_vs_ceiling(stats: PhaseStats, ceiling: Roofline) -> CeilingRatios:
    """Compare a phase with the roofline computed for its batch size and context length."""
    tpot = stats.tpot.mean if stats.tpot is not None else None
    return CeilingRatios(
        achieved_output_tokens_per_s=stats.output_tokens_per_s,
        ceiling_output_tokens_per_s=ceiling.batch_tokens_per_s,
        throughput_fraction=stats.output_tokens_per_s / ceiling.batch_tokens_per_s,
        achieved_tpot_s=tpot,
        ceiling_tpot_s=ceiling.batch_step_s,
        tpot_multiple=tpot / ceiling.batch_step_s if tpot is not None else None,
    )


TABLE_CASES = (
    ("llama-3.1-8b", "H100-SXM", 1),
    ("llama-3.1-8b", "H200", 1),
    ("llama-3.1-70b", "H100-SXM", 2),
    ("llama-3.1-70b", "H100-SXM", 4),
    ("llama-3.1-70b", "H200", 1),
    ("llama-3.1-70b", "H200", 2),
)


def _table_row(r: Roofline) -> str:
    """One markdown row; "-" where the weights do not fit, "†" where the batch's KV does not."""
    if not r.fits:
        cells = ["no", "-", "-", "-", "-", "0", "0"]
    else:
        dagger = "" if r.batch_fits else " †"
        cells = [
            "yes",
            f"{r.decode_s_per_token * 1e3:.2f}",
            f"{r.decode_tokens_per_s:,.0f}",
            f"{r.batch_tokens_per_s:,.0f}{dagger}",
            f"{r.prefill_tokens_per_s:,.0f}",
            f"{r.kv_capacity_tokens:,}",
            f"{r.max_sequences_at_context:,}",
        ]
    head = [r.model, r.gpu, str(r.tensor_parallel), f"{r.weight_bytes / 1e9:.2f}"]
    return "| " + " | ".join([*head, *cells, f"{r.kv_bytes_per_token / 1024:.0f}"]) + " |"


def format_table(*, batch: int = 32, context_tokens: int = 4096) -> str:
    """Markdown table of the roofline for the README cases (bf16 weights and KV cache)."""
    lines = [
        "| model | GPU | TP | weights GB | fits | decode ms/token (B=1) | tokens/s (B=1) "
        f"| tokens/s (B={batch}, {context_tokens} ctx) | prefill tokens/s "
        f"| KV capacity tokens | sequences of {context_tokens} | KV KiB/token |",
        "|---|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for model, gpu, tp in TABLE_CASES:
        roofline = compute_roofline(
            PRESETS[model],
            get_gpu(gpu),
            tensor_parallel=tp,
            batch=batch,
            context_tokens=context_tokens,
        )
        lines.append(_table_row(roofline))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """`python -m gpu_bench.roofline --table`, or one model on one GPU as JSON."""
    parser = argparse.ArgumentParser(prog="python -m gpu_bench.roofline", description=__doc__)
    parser.add_argument("--table", action="store_true", help="print the README markdown table")
    parser.add_argument("--model", default="llama-3.1-8b", help="preset name or model folder")
    parser.add_argument("--gpu", default="H200")
    parser.add_argument("--gpu-memory", type=float, help="GiB per GPU")
    parser.add_argument("--gpu-bandwidth", type=float, help="GB/s per GPU")
    parser.add_argument("--gpu-tflops", type=float, help="dense BF16 TFLOPS per GPU")
    parser.add_argument("--tp", type=int, default=1, help="tensor-parallel GPUs")
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--context", type=int, default=2048, help="tokens per sequence")
    args = parser.parse_args(argv)
    if args.table:
        print(format_table())
        return
    gpu = get_gpu(
        args.gpu,
        memory_gib=args.gpu_memory,
        bandwidth_gb_s=args.gpu_bandwidth,
        bf16_tflops=args.gpu_tflops,
    )
    result = compute_roofline(
        get_model_shape(args.model),
        gpu,
        tensor_parallel=args.tp,
        batch=args.batch,
        context_tokens=args.context,
    )
    print(json.dumps(result.to_dict(), indent=2))


if __name__ == "__main__":
    main()
