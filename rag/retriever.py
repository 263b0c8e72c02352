"""Hybrid retrieval (dense + Milvus BM25, fused), always filtered by the caller's scope."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any, Protocol

from airlock.settings import RagSettings
from models.embedder import Embedder
from rag.catalog import DocumentCatalog
from rag.fusion import fuse_rrf, fuse_weighted
from rag.ingest import TITLE_SUFFIX
from rag.store import MilvusStore, quote
from rag.types import AccessScope, Passage

log = logging.getLogger(__name__)

MAX_CONSISTENCY_TRIES = 3


class Retriever(Protocol):
    """Passages for a query, restricted to what the scope may see."""

    async def retrieve(
        self,
        query: str,
        *,
        top_k: int,
        scope: AccessScope,
        vector: Sequence[float] | None = None,
    ) -> list[Passage]:
        """The best `top_k` passages; `vector`: the query's embedding when already computed."""
        ...


def build_scope_filter(scope: AccessScope, hidden_versions: list[str]) -> str:
    """The Milvus filter from the caller's scope (never from query text): tenant and ACL."""
    expr = f"tenant == {quote(scope.tenant)}"
    if scope.groups:
        groups = ", ".join(quote(g) for g in scope.groups)
        expr += f' and (visibility == "public" or array_contains_any(acl, [{groups}]))'
    else:
        expr += ' and visibility == "public"'
    if hidden_versions:
        expr += f" and version not in [{', '.join(quote(v) for v in hidden_versions)}]"
    return expr


class MilvusRetriever:
    """Dense and BM25 candidates from Milvus, fused by RRF (or weights), scope-filtered."""

    def __init__(
        self,
        store: MilvusStore,
        catalog: DocumentCatalog,
        embedder: Embedder,
        settings: RagSettings,
    ) -> None:
        self.store = store
        self.catalog = catalog
        self.embedder = embedder
        self.settings = settings
        self.collection = f"{settings.collection_prefix}{catalog.kb}"

    async def retrieve(
        self,
        query: str,
        *,
        top_k: int,
        scope: AccessScope,
        vector: Sequence[float] | None = None,
    ) -> list[Passage]:
        """The best `top_k` chunks for the query within the scope."""
        return await asyncio.to_thread(self.search, query, top_k=top_k, scope=scope, vector=vector)

    def search(
        self,
        query: str,
        *,
        top_k: int,
        scope: AccessScope,
        vector: Sequence[float] | None = None,
    ) -> list[Passage]:
        """Blocking form of `retrieve` (for the CLI and evaluation).

        `vector` is the query's embedding by this retriever's model when the caller has it
        already (the ticket pipeline embeds a ticket once for intent and retrieval); the
        BM25 side always searches `query`.
        """
        text = self._limit(query)
        if not text.strip():
            return []
        dense = list(vector) if vector is not None else self.embedder.embed([text])[0].tolist()
        hits = self._consistent(dense, text, scope, max(self.settings.candidates, top_k * 2))
        return rank_chunks(hits)[:top_k]

    def _consistent(
        self, vector: list[float], text: str, scope: AccessScope, limit: int
    ) -> list[Any]:
        """Hits whose versions are all live at one moment (retry if a swap crossed the search).

        The hidden-version list is read before the search, so a replacement that starts and
        publishes during it could show both versions; checking the live versions afterwards
        and searching again closes that window.
        """
        for _ in range(MAX_CONSISTENCY_TRIES):
            expr = build_scope_filter(scope, self.catalog.get_hidden_versions())
            hits = self._fused(vector, text, expr, limit)
            live = self.catalog.get_live_versions(scope.tenant, [h["doc_id"] for h in hits])
            if all(live.get(h["doc_id"]) == h["version"] for h in hits):
                return hits
        return [h for h in hits if live.get(h["doc_id"]) == h["version"]]

    def _fused(self, vector: list[float], text: str, expr: str, limit: int) -> list[Any]:
        dense = self.store.search(self.collection, "dense", vector, expr, limit)
        sparse = self.store.search(self.collection, "sparse", text, expr, limit)
        if self.settings.fusion == "rrf":
            return fuse_rrf([dense, sparse], self.settings.rrf_k)
        return fuse_weighted(dense, sparse, self.settings.dense_weight, self.settings.title_weight)

    def _limit(self, query: str) -> str:
        limit = self.settings.max_query_chars
        if len(query) > limit:
            log.warning(
                "query truncated", extra={"length": len(query), "limit": limit}
            )  # the text itself is never logged
            return query[:limit]
        return query


def rank_chunks(hits: list[dict[str, Any]]) -> list[Passage]:
    """One passage per chunk, best first.

    A chunk can be found twice, by its text and by its document's title entry: it keeps the
    better score, and the other breaks ties, so two documents with the same title (a question
    asked twice in an FAQ) rank by their text. Remaining ties go by document and position.
    """
    found: dict[str, tuple[float, float, Passage]] = {}
    for hit in hits:
        passage = _passage(hit)
        seen = found.get(passage.chunk_id)
        if seen is None:
            found[passage.chunk_id] = (passage.score, float("-inf"), passage)
        else:
            best, other = max(seen[0], passage.score), min(seen[0], passage.score)
            found[passage.chunk_id] = (best, other, seen[2].model_copy(update={"score": best}))
    ranked = sorted(found.values(), key=lambda e: (-e[0], -e[1], e[2].doc_id, e[2].start))
    return [passage for _, _, passage in ranked]


def _passage(hit: dict[str, Any]) -> Passage:
    return Passage(
        chunk_id=str(hit["id"]).removesuffix(TITLE_SUFFIX),
        doc_id=hit["doc_id"],
        score=float(hit["score"]),
        text=hit["text"],
        title=hit["title"],
        source=hit["source"],
        start=int(hit["start"]),
        end=int(hit["end"]),
        language=hit["language"],
    )
