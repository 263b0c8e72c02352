"""make-tiny: a random Llama checkpoint that imports, verifies, loads and generates offline."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from models.errors import ModelError
from models.manifest import load_manifest
from models.tiny import build_tiny_model

MESSAGES = [
    {"role": "system", "content": "Answer support tickets briefly."},
    {"role": "user", "content": "My printer shows an error since the last update."},
]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("tiny") / "tiny-llama"
    build_tiny_model(out)
    return out


def test_manifest_describes_a_test_only_llama_with_real_hashes(tiny: Path) -> None:
    manifest = load_manifest(tiny / "manifest.yaml")
    assert (manifest.id, manifest.task, manifest.family, manifest.format) == (
        "tiny-llama",
        "chat",
        "llama",
        "safetensors",
    )
    assert manifest.for_answers is False and manifest.dtype == "float32"
    assert manifest.context_length == 2048 and "seed 0" in manifest.source
    assert "add_generation_prompt" in (manifest.chat_template or "")
    for item in manifest.files:
        assert sha256(tiny / item.path) == item.sha256
    model = AutoModelForCausalLM.from_pretrained(tiny)
    assert manifest.parameters == sum(p.numel() for p in model.parameters())
    assert next(model.parameters()).dtype == torch.float32


def test_tokenizer_is_trained_locally_with_llama3_chat_template(tiny: Path) -> None:
    tokenizer = AutoTokenizer.from_pretrained(tiny)
    assert 1000 <= len(tokenizer) <= 2000 and tokenizer.eos_token == "<|eot_id|>"
    prompt = tokenizer.apply_chat_template(MESSAGES, add_generation_prompt=True, tokenize=False)
    assert prompt.startswith("<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n")
    assert prompt.endswith("<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n")
    words = "Please reset your password"
    assert tokenizer.decode(tokenizer(words, add_special_tokens=False).input_ids) == words
    assert len(tokenizer(words, add_special_tokens=False).input_ids) < len(words) / 2


def test_greedy_generation_is_deterministic(tiny: Path) -> None:
    tokenizer = AutoTokenizer.from_pretrained(tiny)
    model = AutoModelForCausalLM.from_pretrained(tiny)
    inputs = tokenizer.apply_chat_template(
        MESSAGES, add_generation_prompt=True, return_dict=True, return_tensors="pt"
    )
    runs = [
        model.generate(**inputs, max_new_tokens=6, min_new_tokens=6, do_sample=False)
        for _ in range(2)
    ]
    assert runs[0].shape[1] == inputs["input_ids"].shape[1] + 6
    assert torch.equal(runs[0], runs[1])
    assert model.generation_config.eos_token_id == tokenizer.eos_token_id


def test_same_seed_gives_identical_files_and_another_seed_other_weights(
    tmp_path: Path, tiny: Path
) -> None:
    again = build_tiny_model(tmp_path / "again", seed=0)
    other = build_tiny_model(tmp_path / "other", seed=1)
    first = load_manifest(tiny / "manifest.yaml")
    assert again.files == first.files
    changed = {a.path for a, b in zip(first.files, other.files, strict=True) if a != b}
    assert changed == {"model.safetensors"}


def test_non_empty_out_is_refused_and_left_alone(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    with pytest.raises(ModelError, match="not an empty folder"):
        build_tiny_model(out)
    assert [p.name for p in out.iterdir()] == ["notes.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_empty_out_folder_is_accepted(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    assert build_tiny_model(tmp_path / "out", model_id="tiny-2").id == "tiny-2"
    assert (tmp_path / "out" / "model.safetensors").is_file()


def test_cli_make_tiny_import_list_verify_and_tamper(tmp_path: Path, run_cli) -> None:  # type: ignore[no-untyped-def]
    env = {"AIRLOCK__DATA_DIR": str(tmp_path / "data")}
    out = tmp_path / "tiny"
    made = run_cli("models", "make-tiny", "--out", str(out), "--seed", "3", env=env)
    assert made.code == 0, made.err
    assert f"airlock models import {out} --id tiny-llama --manifest {out}/manifest.yaml" in made.out
    manifest = str(out / "manifest.yaml")
    imported = run_cli(
        "models", "import", str(out), "--id", "tiny-llama", "--manifest", manifest, env=env
    )
    assert imported.code == 0, imported.err
    assert run_cli("models", "verify", "tiny-llama", env=env).code == 0
    listed = {m["id"]: m for m in json.loads(run_cli("models", "list", "--json", env=env).out)}
    assert listed["tiny-llama"]["for_answers"] is False and listed["tiny-llama"]["builtin"] is False
    assert "tests only" in run_cli("models", "list", env=env).out
    stored = tmp_path / "data" / "models" / "tiny-llama"
    (stored / "tokenizer.json").write_text("{}")
    damaged = run_cli("models", "verify", "tiny-llama", env=env)
    assert damaged.code == 1 and "tiny-llama: tokenizer.json: size changed" in damaged.out
    again = run_cli("models", "make-tiny", "--out", str(out), env=env)
    assert again.code == 2 and "not an empty folder" in again.err
