"""Deployment physics: do a model's weights and KV cache fit the GPUs a deployment is given?"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from airlock.settings import ClusterSettings
from models.manifest import ModelManifest
from serving.errors import ServingConfigError

GIB = 1024**3
# Per GPU, outside vLLM's KV budget: CUDA context and NCCL buffers (~0.5 GiB), the activation
# peak of one 8192-token prefill chunk of a Llama-8B-class layer (~0.5 GiB) and captured CUDA
# graphs (~0.5 GiB). vLLM measures the real figure at start; this keeps the check honest.
RESERVE_GIB = 1.5
DTYPE_BYTES = {"float32": 4.0, "float16": 2.0, "bfloat16": 2.0}
# Bytes per parameter of vLLM's weight quantization methods (4-bit ones are ~0.5 plus scales).
QUANTIZATION_BYTES = {
    **dict.fromkeys(("fp8", "fbgemm_fp8", "int8", "w8a8"), 1.0),
    **dict.fromkeys(("awq", "awq_marlin", "gptq", "gptq_marlin", "int4", "bitsandbytes"), 0.5),
}
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".gguf")


@dataclass(frozen=True)
class ModelShape:
    """What the physics needs from a model's config.json."""

    layers: int
    attention_heads: int
    kv_heads: int
    head_dim: int
    context_length: int
    dtype: str  # the dtype vLLM serves it in (vLLM's "auto": float32 checkpoints run as float16)


@dataclass(frozen=True)
class DeploymentAsk:
    """What the operator asks for; None means the model's recommendation."""

    cluster: ClusterSettings
    tensor_parallel: int | None = None
    pipeline_parallel: int = 1
    gpu_memory_utilization: float = 0.9
    max_model_len: int | None = None
    min_replicas: int = 1
    max_replicas: int = 1


@dataclass(frozen=True)
class ServingPlan:
    """The numbers of one replica: what each GPU holds and how much context fits."""

    model_id: str
    tensor_parallel: int
    pipeline_parallel: int
    max_model_len: int
    dtype: str
    quantization: str | None
    gpu_memory_gib: float
    gpu_memory_utilization: float
    reserve_gib: float
    weights_gib_per_gpu: float
    kv_gib_per_gpu: float
    kv_bytes_per_token: int
    kv_tokens: int
    max_full_sequences: int
    warnings: tuple[str, ...] = field(default=())

    @property
    def gpus_per_replica(self) -> int:
        """GPUs one replica occupies."""
        return self.tensor_parallel * self.pipeline_parallel

    def to_dict(self) -> dict[str, Any]:
        """Plain values for JSON output."""
        return {**asdict(self), "gpus_per_replica": self.gpus_per_replica}

    def describe(self) -> list[str]:
        """Human-readable lines for the operator."""
        lines = [
            f"model {self.model_id}: {self.gpus_per_replica} GPU(s) per replica "
            f"(tensor-parallel {self.tensor_parallel} x pipeline-parallel "
            f"{self.pipeline_parallel}), {self.dtype}"
            + (f", {self.quantization}" if self.quantization else ""),
            f"per GPU: {self.gpu_memory_utilization:.2f} x {self.gpu_memory_gib:g} GiB = weights "
            f"{self.weights_gib_per_gpu:.2f} GiB + reserve {self.reserve_gib:g} GiB "
            f"+ KV cache {self.kv_gib_per_gpu:.2f} GiB",
            f"KV cache: {self.kv_tokens} tokens ({self.kv_bytes_per_token // 1024} KiB per token) "
            f"= {self.max_full_sequences} concurrent sequences of {self.max_model_len} tokens",
        ]
        return lines + [f"warning: {w}" for w in self.warnings]


def load_model_shape(model_dir: Path, manifest: ModelManifest) -> ModelShape:
    """Read layers, heads and context from the model's config.json."""
    path = model_dir / "config.json"
    try:
        config: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ServingConfigError(
            f"model {manifest.id!r} has no readable config.json at {path} ({exc})",
            remedy="vLLM needs the Hugging Face config.json; re-import the full model folder",
        ) from None
    try:
        heads = int(config["num_attention_heads"])
        context = manifest.context_length or int(config["max_position_embeddings"])
        return ModelShape(
            layers=int(config["num_hidden_layers"]),
            attention_heads=heads,
            kv_heads=int(config.get("num_key_value_heads") or heads),
            head_dim=int(config.get("head_dim") or int(config["hidden_size"]) // heads),
            context_length=context,
            dtype=get_served_dtype(manifest.dtype or config.get("torch_dtype")),
        )
    except (KeyError, TypeError, ValueError, ZeroDivisionError) as exc:
        raise ServingConfigError(
            f"config.json of model {manifest.id!r} lacks a usable {exc} field",
            remedy="only decoder models with a Hugging Face config.json can be sized",
        ) from None


def get_served_dtype(checkpoint_dtype: str | None) -> str:
    """The dtype vLLM's dtype="auto" picks: bfloat16 stays, float32 and float16 run as float16."""
    name = (checkpoint_dtype or "bfloat16").removeprefix("torch.")
    return "bfloat16" if name == "bfloat16" else "float16"


def estimate_weight_bytes(manifest: ModelManifest, dtype: str) -> int:
    """Parameters x bytes per parameter; the weight files' size when the count is unknown."""
    quantization = (manifest.quantization or "").lower()
    if manifest.parameters:
        per_param = QUANTIZATION_BYTES.get(quantization, DTYPE_BYTES[dtype])
        return math.ceil(manifest.parameters * per_param)
    files = sum(f.size for f in manifest.files if f.path.endswith(WEIGHT_SUFFIXES))
    stored = DTYPE_BYTES.get((manifest.dtype or dtype).removeprefix("torch."), 2.0)
    if not quantization and stored > DTYPE_BYTES[dtype]:
        return math.ceil(files * DTYPE_BYTES[dtype] / stored)  # float32 files served as float16
    return files


def get_kv_bytes_per_token(shape: ModelShape, tensor_parallel: int, pipeline_parallel: int) -> int:
    """KV-cache bytes one token takes on one GPU: K and V of its layers and its KV heads."""
    layers = math.ceil(shape.layers / pipeline_parallel)
    kv_heads = max(1, shape.kv_heads // tensor_parallel)  # TP > kv heads replicates them
    return 2 * layers * kv_heads * shape.head_dim * int(DTYPE_BYTES[shape.dtype])


def is_valid_tensor_parallel(shape: ModelShape, tensor_parallel: int) -> bool:
    """vLLM's rule: TP divides the attention heads, and TP and the KV heads divide one another."""
    return shape.attention_heads % tensor_parallel == 0 and (
        shape.kv_heads % tensor_parallel == 0 or tensor_parallel % shape.kv_heads == 0
    )


def plan_deployment(manifest: ModelManifest, shape: ModelShape, ask: DeploymentAsk) -> ServingPlan:
    """Check the ask against the model and cluster; the per-GPU numbers, or ServingConfigError."""
    tp = ask.tensor_parallel or manifest.tensor_parallel or 1
    pp = ask.pipeline_parallel
    max_len = ask.max_model_len or shape.context_length
    _check_ask(ask, tp, pp, max_len)
    _check_model(shape, tp, pp, max_len)
    warnings = _check_cluster(ask, tp, pp)
    weights_gib, kv_gib, kv_tokens = _size_memory(
        manifest, shape, ask, tp=tp, pp=pp, max_len=max_len
    )
    sequences = kv_tokens // max_len
    if sequences == 1:
        warnings.append(
            f"the KV cache holds only one {max_len}-token sequence at a time; lower "
            "--max-model-len or add GPUs for concurrency"
        )
    return ServingPlan(
        model_id=manifest.id,
        tensor_parallel=tp,
        pipeline_parallel=pp,
        max_model_len=max_len,
        dtype=shape.dtype,
        quantization=manifest.quantization,
        gpu_memory_gib=ask.cluster.gpu_memory_gib,
        gpu_memory_utilization=ask.gpu_memory_utilization,
        reserve_gib=RESERVE_GIB,
        weights_gib_per_gpu=round(weights_gib, 3),
        kv_gib_per_gpu=round(kv_gib, 3),
        kv_bytes_per_token=get_kv_bytes_per_token(shape, 1, 1),
        kv_tokens=kv_tokens,
        max_full_sequences=sequences,
        warnings=tuple(warnings),
    )


def _size_memory(
    manifest: ModelManifest,
    shape: ModelShape,
    ask: DeploymentAsk,
    *,
    tp: int,
    pp: int,
    max_len: int,
) -> tuple[float, float, int]:
    """Weights GiB per GPU, KV GiB per GPU and KV tokens per replica; refuse what cannot fit."""
    weights_gib = estimate_weight_bytes(manifest, shape.dtype) / GIB / (tp * pp)
    usable_gib = ask.gpu_memory_utilization * ask.cluster.gpu_memory_gib - RESERVE_GIB
    if weights_gib > usable_gib:
        raise _weights_error(
            manifest, shape, ask, tp=tp, pp=pp, weights=weights_gib, usable=usable_gib
        )
    kv_gib = usable_gib - weights_gib
    # Every GPU of the replica holds its slice of every token, so the tightest GPU decides.
    per_token = get_kv_bytes_per_token(shape, tp, pp)
    kv_tokens = int(kv_gib * GIB // per_token)
    if kv_tokens < max_len:
        raise _kv_error(max_len, per_token, kv_gib, kv_tokens)
    return weights_gib, kv_gib, kv_tokens


def _check_ask(ask: DeploymentAsk, tp: int, pp: int, max_len: int) -> None:
    problems = [
        (not 0 < ask.gpu_memory_utilization <= 1, "--gpu-memory-utilization must be in (0, 1]"),
        (tp < 1 or pp < 1, "--tensor-parallel and --pipeline-parallel must be at least 1"),
        (max_len < 1, "--max-model-len must be at least 1"),
        (ask.cluster.gpu_memory_gib <= 0, "--gpu-memory-gib must be positive"),
        (ask.cluster.gpus_per_node < 1 or ask.cluster.nodes < 1, "--gpus-per-node/--nodes < 1"),
        (
            not 0 <= ask.min_replicas <= ask.max_replicas or ask.max_replicas < 1,
            f"replicas {ask.min_replicas}:{ask.max_replicas} need 0 <= MIN <= MAX and MAX >= 1",
        ),
    ]
    for bad, message in problems:
        if bad:
            raise ServingConfigError(message, remedy="fix the option")


def _check_model(shape: ModelShape, tp: int, pp: int, max_len: int) -> None:
    if max_len > shape.context_length:
        raise ServingConfigError(
            f"--max-model-len {max_len} exceeds the model's context length {shape.context_length}",
            remedy=f"use --max-model-len {shape.context_length} or less",
        )
    if not is_valid_tensor_parallel(shape, tp):
        valid = [
            n for n in range(1, shape.attention_heads + 1) if is_valid_tensor_parallel(shape, n)
        ]
        raise ServingConfigError(
            f"tensor-parallel {tp} does not split the model's {shape.attention_heads} attention "
            f"heads and {shape.kv_heads} KV heads evenly",
            remedy=f"use --tensor-parallel {' or '.join(str(n) for n in valid[:6])}",
        )
    if pp > shape.layers:
        raise ServingConfigError(
            f"pipeline-parallel {pp} exceeds the model's {shape.layers} layers",
            remedy=f"use --pipeline-parallel {shape.layers} or less",
        )


def _check_cluster(ask: DeploymentAsk, tp: int, pp: int) -> list[str]:
    cluster, gpus = ask.cluster, tp * pp
    total = cluster.gpus_per_node * cluster.nodes
    if tp > cluster.gpus_per_node:
        raise ServingConfigError(
            f"tensor-parallel {tp} exceeds the {cluster.gpus_per_node} GPUs of one node "
            "(tensor parallelism stays inside a node)",
            remedy="lower --tensor-parallel and span nodes with --pipeline-parallel",
        )
    if gpus > total or ask.min_replicas * gpus > total:
        replicas = max(ask.min_replicas, 1)
        raise ServingConfigError(
            f"{replicas} replica(s) of {gpus} GPUs need {replicas * gpus} GPUs but the cluster "
            f"has {total} ({cluster.nodes} node(s) x {cluster.gpus_per_node})",
            remedy="lower the parallelism or --replicas MIN, or pass --nodes/--gpus-per-node",
        )
    if ask.max_replicas * gpus > total:
        return [
            f"{ask.max_replicas} replicas need {ask.max_replicas * gpus} GPUs; the cluster has "
            f"{total}, so the autoscaler stops at {total // gpus}"
        ]
    return []


def _weights_error(
    manifest: ModelManifest,
    shape: ModelShape,
    ask: DeploymentAsk,
    *,
    tp: int,
    pp: int,
    weights: float,
    usable: float,
) -> ServingConfigError:
    total = weights * tp * pp
    fits = [
        n
        for n in range(tp + 1, ask.cluster.gpus_per_node + 1)
        if is_valid_tensor_parallel(shape, n) and total / (n * pp) <= usable
    ]
    remedy = f"use --tensor-parallel {fits[0]}" if fits else "add --pipeline-parallel stages"
    return ServingConfigError(
        f"weights of {manifest.id} need {weights:.2f} GiB per GPU but "
        f"{ask.gpu_memory_utilization:.2f} x {ask.cluster.gpu_memory_gib:g} GiB - "
        f"{RESERVE_GIB:g} GiB reserve leaves {usable:.2f} GiB",
        remedy=f"{remedy}, a quantized model, or a GPU with more memory",
    )


def _kv_error(max_len: int, per_token: int, kv_gib: float, kv_tokens: int) -> ServingConfigError:
    shorter = f"use --max-model-len {kv_tokens} or less, " if kv_tokens >= 256 else "use "
    return ServingConfigError(
        f"the KV cache of one {max_len}-token sequence needs {max_len * per_token / GIB:.2f} GiB "
        f"per GPU but {kv_gib:.2f} GiB is left after weights and reserve ({kv_tokens} tokens)",
        remedy=f"{shorter}more --tensor-parallel GPUs, or a GPU with more memory",
    )
