"""`airlock serving config`: a Ray Serve LLM config sized against the GPUs, or a clear refusal."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from ray.serve.schema import ServeDeploySchema

from models.store import hash_file
from serving.rayconfig import load_llm_config_model
from tests.conftest import CliResult

MODEL_ID = "llama-3.1-8b-shaped"
# The real Llama-3.1-8B config.json values; only the weights are a placeholder.
LLAMA_31_8B = {
    "architectures": ["LlamaForCausalLM"],
    "model_type": "llama",
    "num_hidden_layers": 32,
    "num_attention_heads": 32,
    "num_key_value_heads": 8,
    "hidden_size": 4096,
    "intermediate_size": 14336,
    "vocab_size": 128256,
    "max_position_embeddings": 131072,
    "rope_theta": 500000.0,
    "torch_dtype": "bfloat16",
}
SERVE = Path(sys.executable).parent / "serve"  # ray[serve]'s CLI, beside this interpreter
H100 = "--accelerator H100 --gpu-memory-gib 80 --gpus-per-node 8"


def write_model(folder: Path, model_id: str, config: dict[str, Any], **manifest: Any) -> Path:
    """A model folder with config.json, placeholder weights and a publisher manifest."""
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps(config))
    (folder / "model.safetensors").write_bytes(b"\0" * 4096)
    files = [
        {"path": p.name, "size": p.stat().st_size, "sha256": hash_file(p)}
        for p in sorted(folder.iterdir())
    ]
    values = {"id": model_id, "family": "llama", "task": "chat", "format": "safetensors"}
    (folder / "manifest.yaml").write_text(yaml.safe_dump({**values, "files": files, **manifest}))
    return folder


@pytest.fixture
def cli(run_cli: Callable[..., CliResult], tmp_path: Path) -> Callable[..., CliResult]:
    """The CLI on a fresh data directory holding the Llama-3.1-8B-shaped model."""
    env = {"AIRLOCK__DATA_DIR": str(tmp_path / "data")}
    src = write_model(
        tmp_path / "src",
        MODEL_ID,
        LLAMA_31_8B,
        parameters=8030261248,
        dtype="bfloat16",
        context_length=131072,
        licence="llama3.1",
    )
    imported = run_cli(*f"models import {src} --id {MODEL_ID} --manifest".split(),
                       str(src / "manifest.yaml"), env=env)  # fmt: skip
    assert imported.code == 0, imported.err
    return lambda *args: run_cli(*args, env=env)


def serving_config(cli: Callable[..., CliResult], options: str, *more: str) -> CliResult:
    """`airlock serving config --model llama-3.1-8b-shaped OPTIONS...`."""
    return cli("serving", "config", "--model", MODEL_ID, *options.split(), *more)


def validate_again(path: Path) -> dict[str, Any]:
    """Parse the written YAML and check it with Ray's schemas; return the one llm_config."""
    config = yaml.safe_load(path.read_text())
    ServeDeploySchema.model_validate(config)
    (app,) = config["applications"]
    assert app["import_path"] == "ray.serve.llm:build_openai_app"
    (llm_config,) = app["args"]["llm_configs"]
    load_llm_config_model().model_validate(llm_config)
    return dict(llm_config)


def test_config_is_valid_on_one_h100_with_8k_context(cli: Callable[..., CliResult], tmp_path: Path):
    out = tmp_path / "serve.yaml"
    result = serving_config(cli, f"{H100} --max-model-len 8192 --out", str(out))
    assert result.code == 0, result.err
    llm = validate_again(out)
    assert llm["engine_kwargs"]["tensor_parallel_size"] == 1
    assert llm["engine_kwargs"]["max_model_len"] == 8192
    assert llm["engine_kwargs"]["dtype"] == "bfloat16"
    assert llm["model_loading_config"] == {
        "model_id": MODEL_ID,
        "model_source": f"{(tmp_path / 'data' / 'models').resolve()}/{MODEL_ID}",
    }
    assert llm["accelerator_type"] == "H100"
    assert llm["deployment_config"]["autoscaling_config"]["min_replicas"] == 1
    assert llm["deployment_config"]["autoscaling_config"]["max_replicas"] == 1
    assert llm["runtime_env"]["env_vars"]["HF_HUB_OFFLINE"] == "1"
    # 8030261248 bf16 parameters = 14.96 GiB; KV cache 128 KiB per token.
    assert "weights 14.96 GiB" in result.err and "128 KiB per token" in result.err
    header = out.read_text().splitlines()[:3]
    manifest_hash = hash_file(tmp_path / "data" / "models" / MODEL_ID / "manifest.yaml")
    assert MODEL_ID in header[0] and manifest_hash in header[1]


def test_config_is_valid_on_two_gpus_with_tensor_parallel_2(
    cli: Callable[..., CliResult], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    out = tmp_path / "serve.yaml"
    monkeypatch.setenv("AIRLOCK__SERVING__CLUSTER__MODEL_ROOT", "/mnt/airlock-models/")
    options = f"{H100} --tensor-parallel 2 --max-model-len 131072 --replicas 1:3"
    result = serving_config(cli, f"{options} --gpus-per-node 2 --nodes 3 --json --out", str(out))
    assert result.code == 0, result.err
    llm = validate_again(out)
    assert llm["engine_kwargs"]["tensor_parallel_size"] == 2
    assert llm["engine_kwargs"]["pipeline_parallel_size"] == 1
    assert llm["model_loading_config"]["model_source"] == f"/mnt/airlock-models/{MODEL_ID}"
    scaling = llm["deployment_config"]["autoscaling_config"]
    assert (scaling["min_replicas"], scaling["max_replicas"]) == (1, 3)
    assert llm["placement_group_config"]["strategy"] == "STRICT_PACK"
    plan = json.loads(result.out)["plan"]
    assert plan["gpus_per_replica"] == 2
    assert plan["weights_gib_per_gpu"] == pytest.approx(7.48, abs=0.01)
    assert plan["max_full_sequences"] >= 3  # 131072 tokens take 8 GiB per GPU at TP 2


def test_config_is_refused_when_weights_exceed_one_16_gib_gpu(cli: Callable[..., CliResult]):
    result = serving_config(cli, "--gpu-memory-gib 16 --max-model-len 4096")
    assert result.code == 2
    assert "14.96 GiB per GPU" in result.err and "0.90 x 16 GiB - 1.5 GiB reserve" in result.err
    assert "12.90 GiB" in result.err and "--tensor-parallel 2" in result.err
    assert result.out == ""


def test_config_is_refused_when_the_kv_cache_cannot_hold_the_context(
    cli: Callable[..., CliResult],
):
    result = serving_config(cli, "--gpu-memory-gib 24")
    assert result.code == 2
    assert "KV cache of one 131072-token sequence needs 16.00 GiB" in result.err
    assert "--max-model-len" in result.err


def test_config_is_refused_when_tensor_parallel_does_not_divide_the_heads(
    cli: Callable[..., CliResult],
):
    result = serving_config(cli, "--tensor-parallel 3")
    assert result.code == 2
    assert "tensor-parallel 3" in result.err and "32 attention heads" in result.err
    assert "--tensor-parallel 1 or 2 or 4 or 8" in result.err


def test_config_is_refused_when_tensor_parallel_exceeds_one_node(cli: Callable[..., CliResult]):
    result = serving_config(cli, "--tensor-parallel 8 --gpus-per-node 4 --nodes 2")
    assert result.code == 2
    assert "tensor-parallel 8 exceeds the 4 GPUs of one node" in result.err


def test_config_is_refused_when_max_model_len_exceeds_the_context(cli: Callable[..., CliResult]):
    result = serving_config(cli, "--max-model-len 200000")
    assert result.code == 2
    assert "200000 exceeds the model's context length 131072" in result.err


def test_config_is_refused_when_replicas_are_reversed(cli: Callable[..., CliResult]):
    result = serving_config(cli, "--replicas 3:1")
    assert result.code == 2
    assert "--replicas" in result.err and "'3:1'" in result.err


def test_config_is_refused_for_an_unknown_model_naming_the_known(cli: Callable[..., CliResult]):
    result = cli("serving", "config", "--model", "nope")
    assert result.code == 2
    assert "'nope'" in result.err and MODEL_ID in result.err


def test_config_is_refused_for_a_test_model_unless_allowed(
    cli: Callable[..., CliResult], tmp_path: Path
):
    tiny = {**LLAMA_31_8B, "num_hidden_layers": 2, "hidden_size": 256, "vocab_size": 512}
    src = write_model(tmp_path / "tiny", "tiny", tiny, for_answers=False, context_length=2048)
    assert (
        cli(
            "models", "import", str(src), "--id", "tiny", "--manifest", str(src / "manifest.yaml")
        ).code
        == 0
    )
    refused = cli("serving", "config", "--model", "tiny")
    assert refused.code == 2 and "--allow-test-model" in refused.err
    allowed = cli("serving", "config", "--model", "tiny", "--allow-test-model")
    assert allowed.code == 0, allowed.err
    assert "warning: a test model" in allowed.err
    assert yaml.safe_load(allowed.out)["applications"][0]["name"] == "airlock-llm"


def missing_for_launch() -> list[str]:
    """What a real `serve run` of the config needs and this machine lacks."""
    missing = [] if importlib.util.find_spec("vllm") else ["vLLM is not installed"]
    if (
        not shutil.which("nvidia-smi")
        or subprocess.run(["nvidia-smi", "-L"], check=False, capture_output=True).returncode
    ):
        missing.append("no NVIDIA GPU (nvidia-smi -L fails or is absent)")
    if not SERVE.is_file():
        missing.append(f"the `serve` command of ray[serve] is not at {SERVE}")
    return missing


@pytest.mark.gpu
@pytest.mark.slow
def test_config_launches_with_serve_run_when_vllm_and_a_gpu_are_present(
    cli: Callable[..., CliResult], tmp_path: Path
):
    missing = missing_for_launch()
    if missing:
        pytest.skip(reason=f"needs vLLM and an NVIDIA GPU: {'; '.join(missing)}")
    src = build_tiny_llama(tmp_path / "tiny-real")
    assert cli("models", "import", str(src), "--id", "tiny-real").code == 0
    out = tmp_path / "serve.yaml"
    accelerator, memory_gib = describe_local_gpu()
    made = cli(
        "serving", "config", "--model", "tiny-real", "--accelerator", accelerator,
        "--gpu-memory-gib", str(memory_gib), "--gpus-per-node", "1",
        "--gpu-memory-utilization", "0.3", "--out", str(out),
    )  # fmt: skip
    assert made.code == 0, made.err
    server = subprocess.Popen([str(SERVE), "run", str(out)], start_new_session=True)
    try:
        answer = wait_for_completion("tiny-real", deadline=time.monotonic() + 540)
        assert answer["choices"] and answer["model"] == "tiny-real"
    finally:
        os.killpg(server.pid, signal.SIGINT)
        server.wait(timeout=60)


def describe_local_gpu() -> tuple[str, float]:
    """Ray's accelerator type and the memory (GiB) of this machine's first GPU."""
    from ray._private.accelerators import NvidiaGPUAcceleratorManager

    accelerator = NvidiaGPUAcceleratorManager.get_current_node_accelerator_type()
    query = ["nvidia-smi", "--query-gpu=memory.total", "--format=csv,noheader,nounits"]
    mib = float(subprocess.run(query, capture_output=True, text=True, check=True).stdout.split()[0])
    return str(accelerator), mib / 1024


def wait_for_completion(model: str, deadline: float) -> dict[str, Any]:
    """Poll the OpenAI endpoint of `serve run` until the model answers a completion."""
    body = {"model": model, "prompt": "hello", "max_tokens": 4}
    while time.monotonic() < deadline:
        try:
            response = httpx.post("http://127.0.0.1:8000/v1/completions", json=body, timeout=30)
            if response.status_code == 200:
                return dict(response.json())
        except httpx.HTTPError:
            pass
        time.sleep(5)
    pytest.fail("serve run did not answer a completion within 9 minutes")


def build_tiny_llama(folder: Path) -> Path:
    """A real (random-weight) tiny Llama with a locally trained tokenizer, loadable by vLLM."""
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE(unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    trainer = trainers.BpeTrainer(vocab_size=256, special_tokens=["<unk>", "<s>", "</s>"])
    tokenizer.train_from_iterator(["hello world, how can I help you today?"] * 50, trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tokenizer, bos_token="<s>", eos_token="</s>")
    fast.save_pretrained(folder)
    config = LlamaConfig(
        vocab_size=256,
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=512,
        torch_dtype="bfloat16",
    )
    model = LlamaForCausalLM(config).to(torch.bfloat16)
    model.save_pretrained(folder, safe_serialization=True)
    return folder
