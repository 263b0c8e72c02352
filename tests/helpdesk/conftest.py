"""Fixtures of the helpdesk tests: the real embedder, trained models, the ticket desk."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from airlock.config import load_settings
from airlock.services import open_services, open_ticket_desk
from airlock.settings import AirlockSettings
from audit.events import Actor
from helpdesk.desk import TicketDesk
from helpdesk.intents import IntentModel, read_labelled, train_intent_model
from models.embedder import Embedder, load_embedder
from models.embedding_cache import CachingEmbedder
from rag.ingest import IngestTarget
from rag.loaders import load_paths
from rag.registry import open_knowledge_base

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "intents"


@pytest.fixture(scope="session")
def raw_embedder(tmp_path_factory: pytest.TempPathFactory) -> Embedder:
    """The built-in all-MiniLM-L6-v2, verified, on a throwaway data directory."""
    data_dir = tmp_path_factory.mktemp("helpdesk-data")
    return load_embedder(load_settings(overrides={"data_dir": str(data_dir)}, environ={}))


@pytest.fixture(scope="session")
def embedder(raw_embedder: Embedder) -> Embedder:
    """The real embedder, embedding each distinct text once for the whole session."""
    return CachingEmbedder(raw_embedder, max_entries=None, by_length=False)


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


REPO = Path(__file__).resolve().parents[2]
TICKETS = REPO / "examples" / "tickets.jsonl"


@pytest.fixture(scope="session")
def kb_settings(tmp_path_factory: pytest.TempPathFactory) -> AirlockSettings:
    """Settings on a data directory whose knowledge base holds examples/kb for tenant demo."""
    data_dir = tmp_path_factory.mktemp("desk-data")
    settings = load_settings(overrides={"data_dir": str(data_dir)}, environ={})
    with (
        open_services(settings) as services,
        open_knowledge_base(settings, services.engine, services.audit) as kb,
    ):
        loaded = load_paths([REPO / "examples" / "kb"])
        kb.kb.ingest(loaded.documents, IngestTarget("demo"), Actor(subject="test"))
    return settings


@pytest.fixture(scope="module")
def desk(kb_settings: AirlockSettings) -> Iterator[TicketDesk]:
    """The ticket desk over the sample knowledge base, built once per test module."""
    with open_services(kb_settings) as services, open_ticket_desk(services) as opened:
        yield opened
