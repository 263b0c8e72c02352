"""Weighted fusion per chunk: title blending, BM25 scaling, deterministic order."""

from __future__ import annotations

from typing import Any

from rag.fusion import fuse_rrf, fuse_weighted
from rag.retriever import rank_chunks


def hit(version: str, index: int, score: float, *, title: bool = False) -> dict[str, Any]:
    chunk = f"{version}-{index}"
    return {
        "id": f"{chunk}-title" if title else chunk,
        "doc_id": f"doc-{version}",
        "version": version,
        "chunk_index": index,
        "score": score,
        "text": f"text of {chunk}",
        "title": f"title of {version}",
        "source": "",
        "start": 0,
        "end": 10,
        "language": "en",
    }


def test_equal_titles_rank_by_how_well_their_text_fits() -> None:
    dense = [
        hit("a", 0, 0.80, title=True),
        hit("b", 0, 0.80, title=True),
        hit("b", 0, 0.60),
        hit("a", 0, 0.40),
    ]
    fused = fuse_weighted(dense, [], dense_weight=1.0, title_weight=0.7)
    assert [h["id"] for h in fused] == ["b-0", "a-0"]
    assert fused[0]["score"] == 0.7 * 0.80 + 0.3 * 0.60


def test_a_chunk_whose_own_text_fits_best_keeps_its_own_score() -> None:
    dense = [hit("a", 3, 0.90), hit("a", 0, 0.30, title=True), hit("b", 0, 0.70, title=True)]
    fused = fuse_weighted(dense, [], dense_weight=1.0, title_weight=0.7)
    assert fused[0]["id"] == "a-3" and fused[0]["score"] == 0.90


def test_bm25_is_scaled_by_the_best_bm25_score_of_the_query() -> None:
    sparse = [hit("a", 0, 12.0), hit("b", 0, 6.0)]
    fused = fuse_weighted([], sparse, dense_weight=0.5, title_weight=0.7)
    assert [(h["id"], h["score"]) for h in fused] == [("a-0", 0.5), ("b-0", 0.25)]


def test_title_entries_become_their_first_chunk_and_ties_go_by_document() -> None:
    dense = [hit("z", 0, 0.5, title=True), hit("m", 0, 0.5, title=True)]
    fused = fuse_weighted(dense, [], dense_weight=1.0, title_weight=0.7)
    assert [h["id"] for h in fused] == ["m-0", "z-0"]
    assert [p.chunk_id for p in rank_chunks(fused)] == ["m-0", "z-0"]


def test_rrf_then_ranking_keeps_one_passage_per_chunk() -> None:
    dense = [hit("a", 0, 0.9, title=True), hit("a", 0, 0.8), hit("b", 1, 0.7)]
    sparse = [hit("b", 1, 5.0), hit("a", 0, 4.0)]
    passages = rank_chunks(fuse_rrf([dense, sparse], k=60))
    # b-1: 1/63 + 1/61 beats a-0: 1/62 + 1/62; the title entry of a-0 folds into a-0
    assert [p.chunk_id for p in passages] == ["b-1", "a-0"]
