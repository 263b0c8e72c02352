"""Merging the dense and BM25 candidate lists into one ranking."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

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


def fuse_weighted(dense: Sequence[Hit], sparse: Sequence[Hit], dense_weight: float) -> list[Hit]:
    """w * cosine + (1 - w) * BM25 scaled by the best BM25 score of this query.

    Cosine is already on a fixed scale; BM25 is not, so it is divided by the query's top score
    (a hit missing from a list scores 0 there).
    """
    top = max((h["score"] for h in sparse), default=0.0)
    scores: dict[str, float] = {}
    rows: dict[str, Hit] = {}
    for hit in dense:
        scores[hit["id"]] = dense_weight * hit["score"]
        rows[hit["id"]] = hit
    for hit in sparse:
        share = (1 - dense_weight) * (hit["score"] / top if top > 0 else 0.0)
        scores[hit["id"]] = scores.get(hit["id"], 0.0) + share
        rows.setdefault(hit["id"], hit)
    return _ordered(rows, scores)


def _ordered(rows: dict[str, Hit], scores: dict[str, float]) -> list[Hit]:
    ranked = sorted(scores, key=lambda key: (-scores[key], key))
    return [{**rows[key], "score": scores[key]} for key in ranked]
