"""Merging the dense and BM25 candidate lists into one ranking."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rag.ingest import TITLE_SUFFIX

Hit = dict[str, Any]


def fuse_rrf(lists: Sequence[Sequence[Hit]], k: int) -> list[Hit]:
    """Reciprocal rank fusion: sum of 1 / (k + rank) over the lists a hit appears in."""
    scores: dict[str, float] = {}
    rows: dict[str, Hit] = {}
    for hits in lists:
        for rank, hit in enumerate(hits, 1):
            scores[hit["id"]] = scores.get(hit["id"], 0.0) + 1.0 / (k + rank)
            rows.setdefault(hit["id"], hit)
    return _ordered(rows, scores)


def fuse_weighted(
    dense: Sequence[Hit], sparse: Sequence[Hit], dense_weight: float, title_weight: float
) -> list[Hit]:
    """One score per chunk: w * dense + (1 - w) * BM25 scaled by the query's best BM25 score.

    A document's title entry stands for its first chunk and also speaks for its other chunks:
    a chunk's dense score is the better of its own cosine and the blend
    `title_weight * title cosine + (1 - title_weight) * own cosine`, and its BM25 share the
    better of its own and its title's. So among documents with similar titles the one whose
    text also fits wins, and a chunk deep in a long article keeps its own score. Cosine is on
    a fixed scale; a hit missing from a list scores 0 there (dense: its own score only).
    """
    top = max((h["score"] for h in sparse), default=0.0)
    title_dense = {h["version"]: h["score"] for h in dense if is_title(h)}
    own_dense = {h["id"]: h["score"] for h in dense if not is_title(h)}
    title_bm25 = {h["version"]: _scaled(h, top) for h in sparse if is_title(h)}
    own_bm25 = {h["id"]: _scaled(h, top) for h in sparse if not is_title(h)}
    rows: dict[str, Hit] = {}
    for hit in [*dense, *sparse]:
        chunk = hit["id"].removesuffix(TITLE_SUFFIX)
        rows.setdefault(chunk, {**hit, "id": chunk})
    scores: dict[str, float] = {}
    for chunk, hit in rows.items():
        own = own_dense.get(chunk, 0.0)
        title = title_dense.get(hit["version"])
        cosine = own if title is None else max(own, title_weight * title + (1 - title_weight) * own)
        bm25 = max(own_bm25.get(chunk, 0.0), title_bm25.get(hit["version"], 0.0))
        scores[chunk] = dense_weight * cosine + (1 - dense_weight) * bm25
    return _ordered(rows, scores)


def is_title(hit: Hit) -> bool:
    """Whether a hit is a document's title entry rather than a chunk's text."""
    return str(hit["id"]).endswith(TITLE_SUFFIX)


def _scaled(hit: Hit, top: float) -> float:
    return float(hit["score"]) / top if top > 0 else 0.0


def _ordered(rows: dict[str, Hit], scores: dict[str, float]) -> list[Hit]:
    """Best first; equal scores by document and position (row ids hold a random version)."""
    ranked = sorted(
        scores, key=lambda key: (-scores[key], rows[key]["doc_id"], rows[key]["chunk_index"], key)
    )
    return [{**rows[key], "score": scores[key]} for key in ranked]
