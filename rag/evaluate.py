"""Retrieval evaluation: recall@k, MRR@10 and nDCG@10 at document level, on the user's data."""

from __future__ import annotations

import math
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from airlock.db import build_engine, upgrade_database
from airlock.jsonl import JsonlError, read_objects
from airlock.settings import AirlockSettings, RagSettings, StorageSettings
from audit.events import Actor
from models.embedder import Embedder
from rag.errors import DocumentError, RagError
from rag.ingest import IngestTarget
from rag.registry import open_knowledge_base
from rag.retriever import MilvusRetriever
from rag.types import AccessScope, SourceDocument

EVAL_TENANT = "eval"
CHUNKS_PER_DOCUMENT = 3  # chunks fetched per wanted document, so that k distinct ones remain


@dataclass(frozen=True)
class EvalQuery:
    """One query and the documents that answer it."""

    query_id: str
    text: str
    gold_doc_ids: tuple[str, ...]


@dataclass(frozen=True)
class EvalReport:
    """Metrics over every query."""

    queries: int
    documents: int
    recall: dict[int, float]
    hits: dict[int, float]
    mrr_at_10: float
    ndcg_at_10: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form."""
        return {
            "queries": self.queries,
            "documents": self.documents,
            **{f"recall@{k}": round(v, 4) for k, v in self.recall.items()},
            **{f"hit@{k}": round(v, 4) for k, v in self.hits.items()},
            "mrr@10": round(self.mrr_at_10, 4),
            "ndcg@10": round(self.ndcg_at_10, 4),
        }


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Rows of a JSON Lines file; a bad line is an error naming it."""
    try:
        return [row for _, row in read_objects(path)]
    except JsonlError as exc:
        raise DocumentError(str(path), exc.where) from None


def corpus_document(row: dict[str, Any], where: str) -> SourceDocument:
    """A corpus row (doc_id plus any of title, text, question, answer/answers) as a document."""
    if "doc_id" not in row:
        raise DocumentError(where, "a corpus row has no doc_id")
    answers = row.get("answers") or ([row["answer"]] if row.get("answer") else [])
    title = str(row.get("title") or row.get("question") or "")
    parts = [str(row.get("question") or ""), str(row.get("text") or ""), *map(str, answers)]
    text = "\n\n".join(p for p in parts if p and p != title) or title
    return SourceDocument(
        doc_id=str(row["doc_id"]), title=title, text=text, source=where, format="faq"
    )


def load_queries(path: Path) -> list[EvalQuery]:
    """Query rows: query_id, text, gold_doc_ids."""
    queries = []
    for row in read_jsonl(path):
        if not {"query_id", "text", "gold_doc_ids"} <= row.keys():
            raise DocumentError(str(path), "query rows need query_id, text and gold_doc_ids")
        queries.append(
            EvalQuery(str(row["query_id"]), str(row["text"]), tuple(map(str, row["gold_doc_ids"])))
        )
    return queries


def rank_documents(retriever: MilvusRetriever, text: str, k: int) -> list[str]:
    """Distinct document ids in order of their best chunk."""
    passages = retriever.search(
        text, top_k=k * CHUNKS_PER_DOCUMENT, scope=AccessScope(tenant=EVAL_TENANT)
    )
    ranked: list[str] = []
    for passage in passages:
        if passage.doc_id not in ranked:
            ranked.append(passage.doc_id)
    return ranked[:k]


def score(rankings: Sequence[list[str]], queries: Sequence[EvalQuery]) -> dict[str, Any]:
    """recall@k (share of gold found), hit@k (any gold found), MRR@10, nDCG@10."""
    recall = {k: 0.0 for k in (1, 5, 10)}
    hits = {k: 0.0 for k in (1, 5, 10)}
    mrr = ndcg = 0.0
    for ranked, query in zip(rankings, queries, strict=True):
        gold = set(query.gold_doc_ids)
        for k in recall:
            found = len(gold & set(ranked[:k]))
            recall[k] += found / len(gold)
            hits[k] += 1.0 if found else 0.0
        first = next((i for i, d in enumerate(ranked[:10]) if d in gold), None)
        mrr += 1 / (first + 1) if first is not None else 0.0
        dcg = sum(1 / math.log2(i + 2) for i, d in enumerate(ranked[:10]) if d in gold)
        ideal = sum(1 / math.log2(i + 2) for i in range(min(len(gold), 10)))
        ndcg += dcg / ideal
    n = max(len(queries), 1)
    return {
        "recall": {k: v / n for k, v in recall.items()},
        "hits": {k: v / n for k, v in hits.items()},
        "mrr": mrr / n,
        "ndcg": ndcg / n,
    }


def run_evaluation(
    settings: AirlockSettings,
    corpus: Path,
    queries_path: Path,
    *,
    top_k: int = 10,
    embedder: Embedder | None = None,
    progress: Callable[[int], None] | None = None,
) -> tuple[EvalReport, list[dict[str, Any]]]:
    """Ingest the corpus into a throwaway knowledge base, run every query, score."""
    documents = [corpus_document(row, str(corpus)) for row in read_jsonl(corpus)]
    queries = load_queries(queries_path)
    if not documents or not queries:
        raise RagError("the corpus or the query file is empty", remedy="check the paths")
    with tempfile.TemporaryDirectory(prefix="airlock-kb-eval-") as scratch:
        private = _scratch_settings(settings, Path(scratch))
        engine = build_engine(private, create=True)
        upgrade_database(engine)
        try:
            with open_knowledge_base(private, engine, None, kb="eval", embedder=embedder) as kb:
                kb.kb.ingest(documents, IngestTarget(EVAL_TENANT), Actor("local:kb-eval"))
                rankings = []
                for query in queries:
                    rankings.append(rank_documents(kb.retriever, query.text, max(top_k, 10)))
                    if progress:
                        progress(1)
        finally:
            engine.dispose()
    metrics = score(rankings, queries)
    report = EvalReport(
        len(queries),
        len(documents),
        metrics["recall"],
        metrics["hits"],
        metrics["mrr"],
        metrics["ndcg"],
    )
    lines = [
        {"query_id": q.query_id, "ranked_doc_ids": r[:top_k]}
        for q, r in zip(queries, rankings, strict=True)
    ]
    return report, lines


def _scratch_settings(settings: AirlockSettings, folder: Path) -> AirlockSettings:
    """The same retrieval settings over a private SQLite file and Milvus Lite file."""
    rag: RagSettings = settings.rag.model_copy(update={"uri": str(folder / "milvus.db")})
    return settings.model_copy(
        update={"data_dir": folder, "storage": StorageSettings(), "rag": rag}
    )
