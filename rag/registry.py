"""Building a knowledge base and its retriever from settings."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import Engine

from airlock.settings import AirlockSettings
from audit.log import AuditLog
from models.embedder import Embedder, load_embedder
from rag.catalog import DocumentCatalog
from rag.ingest import KnowledgeBase
from rag.retriever import MilvusRetriever
from rag.store import MilvusStore


@dataclass(frozen=True)
class KnowledgeParts:
    """An opened knowledge base and a retriever over it (sharing one store and embedder)."""

    kb: KnowledgeBase
    retriever: MilvusRetriever


def build_milvus_store(settings: AirlockSettings) -> MilvusStore:
    """Connect to Milvus (a Lite file by default)."""
    token = settings.rag.token.get_secret_value() if settings.rag.token else ""
    return MilvusStore(settings.get_milvus_uri(), token, settings.rag.timeout_s)


@contextmanager
def open_knowledge_base(
    settings: AirlockSettings,
    engine: Engine,
    audit: AuditLog | None,
    *,
    kb: str | None = None,
    embedder: Embedder | None = None,
) -> Iterator[KnowledgeParts]:
    """Open (creating if missing) one knowledge base; close the store on exit."""
    embedder = embedder or load_embedder(settings)
    store = build_milvus_store(settings)
    try:
        catalog = DocumentCatalog(engine, kb or settings.rag.default_kb)
        knowledge = KnowledgeBase(store, catalog, embedder, settings.rag, audit).open()
        yield KnowledgeParts(knowledge, MilvusRetriever(store, catalog, embedder, settings.rag))
    finally:
        store.close()
