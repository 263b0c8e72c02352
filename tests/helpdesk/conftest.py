"""Fixtures of the helpdesk tests: the real embedder and a model trained on the shipped rows."""

from __future__ import annotations

from pathlib import Path

import pytest

from airlock.config import load_settings
from helpdesk.intents import IntentModel, read_labelled, train_intent_model
from helpdesk.intents.crossval import CachingEmbedder
from models.embedder import Embedder, load_embedder

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "intents"


@pytest.fixture(scope="session")
def raw_embedder(tmp_path_factory: pytest.TempPathFactory) -> Embedder:
    """The built-in all-MiniLM-L6-v2, verified, on a throwaway data directory."""
    data_dir = tmp_path_factory.mktemp("helpdesk-data")
    return load_embedder(load_settings(overrides={"data_dir": str(data_dir)}, environ={}))


@pytest.fixture(scope="session")
def embedder(raw_embedder: Embedder) -> Embedder:
    """The real embedder, embedding each distinct text once for the whole session."""
    return CachingEmbedder(raw_embedder)


@pytest.fixture(scope="session")
def support_rows() -> list[dict[str, str]]:
    """The shipped support-ticket training rows."""
    return read_labelled(EXAMPLES / "support_intents.jsonl")


@pytest.fixture(scope="session")
def support_val_rows() -> list[dict[str, str]]:
    """The shipped held-out support-ticket rows."""
    return read_labelled(EXAMPLES / "support_intents_val.jsonl")


@pytest.fixture(scope="session")
def support_model(support_rows: list[dict[str, str]], embedder: Embedder) -> IntentModel:
    """A model trained on the shipped rows, OOS cut by cross-validation (no validation file)."""
    return train_intent_model(support_rows, None, embedder)
