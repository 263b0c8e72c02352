"""The injection training entry point: it reproduces a model byte for byte, and the model works."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from airlock.config import load_settings
from guardrails.injection.guard import build_injection_guard
from guardrails.injection.model import MANIFEST_FILE, WEIGHTS_FILE, load_model
from guardrails.injection.train import main
from models.store import hash_file

AUTHORED = (
    Path(__file__).resolve().parents[2] / "guardrails" / "injection" / "data" / "authored.jsonl"
)

pytestmark = pytest.mark.slow


@pytest.fixture
def subset(tmp_path: Path, shared_data: Path) -> Path:
    """A small, balanced sample of the development file (kept in the test's temporary folder)."""
    dev_file = shared_data / "prompt_injection" / "dev.jsonl"
    rows = [json.loads(line) for line in dev_file.read_text(encoding="utf-8").splitlines()]
    sample = [row for row in rows if row["label"] == 1][::8] + [
        row for row in rows if row["label"] == 0
    ][::24]
    path = tmp_path / "subset.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in sample), encoding="utf-8")
    return path


def train(subset: Path, out: Path, tmp_path: Path, *extra: str) -> None:
    config = tmp_path / "airlock.yaml"
    config.write_text(f"data_dir: {tmp_path / 'data'}\n", encoding="utf-8")
    main(["--data", str(subset), "--out", str(out), "--config", str(config), *extra])


def test_training_twice_writes_the_same_model(subset: Path, tmp_path: Path) -> None:
    options = ("--folds", "2", "--train-only", str(AUTHORED))
    train(subset, tmp_path / "first", tmp_path, *options)
    train(subset, tmp_path / "second", tmp_path, *options)
    first, second = tmp_path / "first", tmp_path / "second"
    assert hash_file(first / WEIGHTS_FILE) == hash_file(second / WEIGHTS_FILE)
    assert (first / MANIFEST_FILE).read_text() == (second / MANIFEST_FILE).read_text()


def test_trained_model_records_its_data_and_loads_verified(subset: Path, tmp_path: Path) -> None:
    train(subset, tmp_path / "model", tmp_path, "--folds", "0")
    model, manifest = load_model(tmp_path / "model")
    assert manifest["training_data"][0]["sha256"] == hash_file(subset)
    assert manifest["embedder"]["model_id"] == model.embedder_id == "all-minilm-l6-v2"
    assert manifest["files"][WEIGHTS_FILE]["sha256"] == hash_file(tmp_path / "model" / WEIGHTS_FILE)
    settings = load_settings(overrides={"data_dir": str(tmp_path / "data")})
    guard = build_injection_guard(settings, model_dir=tmp_path / "model")
    assert 0.0 <= guard.score("Where is my parcel?") <= 1.0
