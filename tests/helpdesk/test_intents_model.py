"""Model folders: round trips, refusal of damaged or foreign folders, the shipped model."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from helpdesk.errors import IntentModelError
from helpdesk.intents import (
    DEFAULT_MODEL_DIR,
    IntentModel,
    load_intent_model,
    train_intent_model,
)
from helpdesk.intents.model import MANIFEST_FILE, WEIGHTS_FILE
from models.embedder import Embedder

TICKETS = [
    "I forgot my password",
    "my app crashes on start",
    "please delete all my personal data",
    "What is the capital of Peru?",
]


class RenamedEmbedder:
    """The same vectors under another model id, as if another embedder were configured."""

    def __init__(self, inner: Embedder, model_id: str) -> None:
        self.inner, self.model_id, self.dimension = inner, model_id, inner.dimension

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        return self.inner.embed(texts)


@pytest.fixture(scope="module")
def saved(support_model: IntentModel, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("intent-model")
    support_model.save(folder, provenance={"command": "test"})
    return folder


def test_load_gives_identical_predictions_after_save(
    support_model: IntentModel, saved: Path, embedder: Embedder
) -> None:
    loaded = load_intent_model(saved, embedder)
    assert loaded.labels == support_model.labels
    assert loaded.predict(TICKETS) == support_model.predict(TICKETS)


def test_save_writes_manifest_with_hashes_and_training_record(saved: Path) -> None:
    manifest = json.loads((saved / MANIFEST_FILE).read_text(encoding="utf-8"))
    assert manifest["embedder"] == {"model_id": "all-minilm-l6-v2", "dimension": 384}
    assert len(manifest["files"][WEIGHTS_FILE]["sha256"]) == 64
    assert manifest["training_data"]["rows"] > 500
    assert manifest["provenance"] == {"command": "test"}
    assert "oos" in manifest["labels"]
    assert manifest["calibration"]["source"] == "3-fold cross-validation"


def test_load_refuses_damaged_weight_file(saved: Path, tmp_path: Path, embedder: Embedder) -> None:
    folder = tmp_path / "damaged"
    folder.mkdir()
    (folder / MANIFEST_FILE).write_bytes((saved / MANIFEST_FILE).read_bytes())
    weights = bytearray((saved / WEIGHTS_FILE).read_bytes())
    weights[len(weights) // 2] ^= 0xFF
    (folder / WEIGHTS_FILE).write_bytes(bytes(weights))
    with pytest.raises(IntentModelError, match="damaged or replaced"):
        load_intent_model(folder, embedder)


def test_load_refuses_model_trained_with_another_embedder(saved: Path, embedder: Embedder) -> None:
    with pytest.raises(IntentModelError, match="trained with embedder 'all-minilm-l6-v2'"):
        load_intent_model(saved, RenamedEmbedder(embedder, "other-embedder"))


def test_load_refuses_folder_without_manifest(tmp_path: Path, embedder: Embedder) -> None:
    with pytest.raises(IntentModelError, match=r"manifest .* is missing"):
        load_intent_model(tmp_path, embedder)


def test_load_refuses_manifest_of_another_format(
    saved: Path, tmp_path: Path, embedder: Embedder
) -> None:
    manifest = json.loads((saved / MANIFEST_FILE).read_text(encoding="utf-8"))
    (tmp_path / MANIFEST_FILE).write_text(json.dumps({**manifest, "format": "other/9"}))
    with pytest.raises(IntentModelError, match="format 'other/9'"):
        load_intent_model(tmp_path, embedder)


def test_training_twice_writes_the_same_bytes(
    support_rows: list[dict[str, str]], raw_embedder: Embedder, tmp_path: Path
) -> None:
    rows = support_rows[::6]
    for name in ("first", "second"):
        train_intent_model(rows, None, raw_embedder, seed=3).save(tmp_path / name)
    for file in (WEIGHTS_FILE, MANIFEST_FILE):
        assert (tmp_path / "first" / file).read_bytes() == (tmp_path / "second" / file).read_bytes()


def test_shipped_model_classifies_obvious_tickets(embedder: Embedder) -> None:
    model = load_intent_model(DEFAULT_MODEL_DIR, embedder)
    parcel, money, sue, person = model.predict(
        ["where is my parcel", "I want my money back", "I will sue you", "let me speak to a person"]
    )
    assert parcel.label in {"order_status", "shipping"}
    assert money.label == "returns_refunds"
    assert sue.label == "legal_threat"
    assert person.label == "talk_to_human"


def test_shipped_model_records_its_training_command() -> None:
    manifest = json.loads((DEFAULT_MODEL_DIR / MANIFEST_FILE).read_text(encoding="utf-8"))
    assert manifest["provenance"]["command"].startswith("python -m helpdesk.intents.train")
    assert {f["role"] for f in manifest["provenance"]["files"]} == {"train", "validation"}
