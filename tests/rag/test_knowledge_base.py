"""Ingestion and retrieval over Milvus Lite: dedupe, atomic replace, delete, scope filtering."""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest

import rag.store
from airlock.config import load_settings
from airlock.db import build_engine, upgrade_database
from audit.events import Actor
from models.embedder import Embedder
from rag.errors import SchemaMismatchError
from rag.ingest import IngestTarget
from rag.loaders import load_paths
from rag.migrate import migrate_collection
from rag.registry import KnowledgeParts, build_milvus_store, open_knowledge_base
from rag.retriever import build_scope_filter
from rag.store import MilvusStore
from rag.types import AccessScope, SourceDocument
from tests.rag.conftest import EXAMPLES

OpenKb = Callable[..., AbstractContextManager[KnowledgeParts]]
ACTOR = Actor(subject="test:kb")
PUBLIC = AccessScope(tenant="acme")


def doc(doc_id: str, text: str, title: str = "", **extra: object) -> SourceDocument:
    return SourceDocument(doc_id=doc_id, title=title, text=text, format="text", **extra)


def test_sample_kb_answers_the_password_question_with_the_password_article(
    open_kb: OpenKb,
) -> None:
    documents = load_paths([EXAMPLES]).documents
    with open_kb() as parts:
        reports = parts.kb.ingest(documents, IngestTarget("acme"), ACTOR)
        passages = parts.retriever.search("how do I reset my password", top_k=5, scope=PUBLIC)
    assert {r.status for r in reports} == {"added"}
    assert passages[0].doc_id == "account-and-password/reset-your-password.md"
    first = passages[0]
    assert first.title == "Reset your password" and first.end > first.start


def test_reingesting_unchanged_documents_adds_nothing(open_kb: OpenKb) -> None:
    documents = [doc("a.txt", "Refunds are paid within ten business days of the return.")]
    with open_kb() as parts:
        parts.kb.ingest(documents, IngestTarget("acme"), ACTOR)
        rows = parts.kb.store.count(parts.kb.collection)
        again = parts.kb.ingest(documents, IngestTarget("acme"), ACTOR)
        assert [r.status for r in again] == ["unchanged"]
        assert parts.kb.store.count(parts.kb.collection) == rows


def test_changed_document_replaces_its_chunks(open_kb: OpenKb) -> None:
    old = doc("a.txt", "Parcels ship from the Rotterdam warehouse every weekday morning.")
    new = doc("a.txt", "Parcels ship from the Lisbon warehouse every weekday evening.")
    with open_kb() as parts:
        parts.kb.ingest([old], IngestTarget("acme"), ACTOR)
        report = parts.kb.ingest([new], IngestTarget("acme"), ACTOR)
        hits = parts.retriever.search("which warehouse ships parcels", top_k=5, scope=PUBLIC)
        retired = parts.kb.catalog.get_hidden_versions()
        parts.kb.cleanup(grace=timedelta(0))  # the old rows outlive searches in flight
        rows = parts.kb.store.count(parts.kb.collection)
        hidden = parts.kb.catalog.get_hidden_versions()
    assert report[0].status == "updated"
    assert [h.text for h in hits] == [new.text]
    assert len(retired) == 1 and hidden == []
    assert rows == report[0].chunks


def test_delete_removes_the_document_and_its_chunks(open_kb: OpenKb) -> None:
    with open_kb() as parts:
        parts.kb.ingest(
            [doc("a.txt", "Invoices are emailed monthly.")], IngestTarget("acme"), ACTOR
        )
        assert parts.kb.delete("acme", "a.txt", ACTOR) is True
        assert parts.kb.delete("acme", "a.txt", ACTOR) is False
        assert parts.kb.store.count(parts.kb.collection) == 0
        assert parts.retriever.search("invoices", top_k=5, scope=PUBLIC) == []


def test_erasing_a_data_subject_deletes_the_documents_that_name_them(open_kb: OpenKb) -> None:
    tickets = [
        doc("ticket-1", "Customer could not log in; reset sent.", subject_ids=("cust-7",)),
        doc("ticket-2", "Customer asked about invoices.", subject_ids=("cust-8",)),
    ]
    with open_kb() as parts:
        parts.kb.ingest(tickets, IngestTarget("acme"), ACTOR)
        erased = parts.kb.erase_subject("cust-7", ACTOR)
        left = [r.doc_id for r in parts.kb.catalog.list_documents()]
    assert [r.doc_id for r in erased] == ["ticket-1"] and left == ["ticket-2"]


def test_no_result_crosses_tenant_or_acl_over_100_random_queries(open_kb: OpenKb) -> None:
    documents = load_paths([EXAMPLES]).documents[:20]
    layout = {
        ("acme", ()): documents[0::4],
        ("acme", ("billing",)): documents[1::4],
        ("globex", ()): documents[2::4],
        ("globex", ("support", "billing")): documents[3::4],
    }
    rng = random.Random(7)
    words = " ".join(d.text for d in documents).split()
    with open_kb() as parts:
        for (tenant, acl), docs in layout.items():
            parts.kb.ingest(docs, IngestTarget(tenant, acl), ACTOR)
        allowed = {
            (tenant, groups): {
                d.doc_id
                for (t, acl), docs in layout.items()
                for d in docs
                if t == tenant and (not acl or set(acl) & set(groups))
            }
            for tenant in ("acme", "globex")
            for groups in ((), ("billing",), ("support",), ("hr",))
        }
        for _ in range(100):
            tenant, groups = rng.choice(sorted(allowed))
            query = " ".join(rng.sample(words, 6))
            scope = AccessScope(tenant=tenant, groups=groups)
            found = parts.retriever.search(query, top_k=10, scope=scope)
            assert found and {p.doc_id for p in found} <= allowed[(tenant, groups)]


def test_scope_filter_is_built_from_the_scope_and_refuses_odd_names() -> None:
    expr = build_scope_filter(AccessScope(tenant="acme", groups=("billing",)), ["abc123"])
    assert expr == (
        'tenant == "acme" and (visibility == "public" or array_contains_any(acl, ["billing"]))'
        ' and version not in ["abc123"]'
    )
    with pytest.raises(ValueError, match="tenant"):
        AccessScope(tenant='acme" or tenant != "x')


def test_readers_see_exactly_one_version_while_a_document_is_replaced(open_kb: OpenKb) -> None:
    versions = [
        doc("policy.txt", f"Returns policy revision {n}: devices may be returned within 30 days.")
        for n in range(6)
    ]
    seen: list[set[str]] = []
    stop = threading.Event()
    with open_kb() as parts:
        parts.kb.ingest(versions[:1], IngestTarget("acme"), ACTOR)

        def read() -> None:
            while not stop.is_set():
                hits = parts.retriever.search("returns policy", top_k=5, scope=PUBLIC)
                seen.append({h.chunk_id.rsplit("-", 1)[0] for h in hits})

        reader = threading.Thread(target=read)
        reader.start()
        try:
            for version in versions[1:]:
                parts.kb.ingest([version], IngestTarget("acme"), ACTOR)
        finally:
            stop.set()
            reader.join()
    assert seen and all(len(found) == 1 for found in seen)


def test_long_query_is_truncated_with_a_warning(
    open_kb: OpenKb, caplog: pytest.LogCaptureFixture
) -> None:
    with open_kb(max_query_chars=64) as parts:
        parts.kb.ingest([doc("a.txt", "Two-factor codes expire.")], IngestTarget("acme"), ACTOR)
        with caplog.at_level(logging.WARNING, logger="rag.retriever"):
            parts.retriever.search("two factor " * 100, top_k=3, scope=PUBLIC)
    assert any(r.message == "query truncated" for r in caplog.records)


def test_cli_ingest_search_stats_delete(tmp_path: Path, run_cli) -> None:  # type: ignore[no-untyped-def]
    env = {"AIRLOCK__DATA_DIR": str(tmp_path / "data")}
    ingested = run_cli("kb", "ingest", str(EXAMPLES / "security"), "--json", env=env)
    assert ingested.code == 0, ingested.err
    search = run_cli("kb", "search", "turn on two-factor authentication", "--json", env=env)
    assert search.code == 0 and '"doc_id": "enable-two-factor-authentication.md"' in search.out
    stats = run_cli("kb", "stats", "--json", env=env)
    assert '"documents": 4' in stats.out
    gone = run_cli("kb", "delete", "recognize-phishing.md", env=env)
    assert gone.code == 0 and "deleted recognize-phishing.md" in gone.out
    missing = run_cli("kb", "delete", "recognize-phishing.md", env=env)
    assert missing.code == 1


def test_cli_reports_a_corrupt_file_and_ingests_the_rest(tmp_path: Path, run_cli) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "good.md").write_text("# Shipping\n\nOrders ship within two business days.\n")
    (folder / "broken.pdf").write_bytes(b"%PDF-1.7 not really a pdf")
    result = run_cli("kb", "ingest", str(folder), env={"AIRLOCK__DATA_DIR": str(tmp_path / "d")})
    assert result.code == 1
    assert "failed    broken.pdf" in result.out and "added     good.md" in result.out


def test_unreachable_milvus_exits_3_with_a_clear_error(tmp_path: Path, run_cli) -> None:  # type: ignore[no-untyped-def]
    env = {
        "AIRLOCK__DATA_DIR": str(tmp_path / "data"),
        "AIRLOCK__RAG__URI": "http://127.0.0.1:9",
        "AIRLOCK__RAG__TIMEOUT_S": "1",
    }
    result = run_cli("kb", "search", "anything", env=env)
    assert result.code == 3
    assert "Milvus at http://127.0.0.1:9 failed to connect" in result.err


def test_cli_eval_prints_metrics_and_writes_rankings(tmp_path: Path, run_cli) -> None:  # type: ignore[no-untyped-def]
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text(
        '{"doc_id": "d1", "question": "How do I reset my password?", "answer": "Use the link."}\n'
        '{"doc_id": "d2", "question": "When are invoices sent?", "answer": "Monthly."}\n'
    )
    queries = tmp_path / "queries.jsonl"
    queries.write_text('{"query_id": "q1", "text": "forgot my password", "gold_doc_ids": ["d1"]}\n')
    rankings = tmp_path / "rankings.jsonl"
    result = run_cli(
        "kb", "eval", "--corpus", str(corpus), "--queries", str(queries),
        "--rankings", str(rankings), "--json",
        env={"AIRLOCK__DATA_DIR": str(tmp_path / "data")},
    )  # fmt: skip
    assert result.code == 0, result.err
    assert '"recall@1": 1.0' in result.out
    assert rankings.read_text() == '{"query_id": "q1", "ranked_doc_ids": ["d1", "d2"]}\n'


class _RenamedEmbedder:
    """The same vectors under another model id: what a changed embedding model looks like."""

    def __init__(self, inner: Embedder, model_id: str) -> None:
        self.inner = inner
        self.model_id = model_id
        self.dimension = inner.dimension

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        return self.inner.embed(texts)


def test_a_collection_of_another_embedder_is_refused_until_migrated(
    tmp_path: Path, embedder: Embedder
) -> None:
    settings = load_settings(overrides={"data_dir": str(tmp_path)})
    engine = build_engine(settings, create=True)
    upgrade_database(engine)
    old_model = _RenamedEmbedder(embedder, "old-model")
    documents = [doc("a.txt", "Gift cards never expire.", title="Gift cards")]
    with open_knowledge_base(settings, engine, None, embedder=old_model) as parts:
        parts.kb.ingest(documents, IngestTarget("acme"), ACTOR)
        alias, rows = parts.kb.collection, parts.kb.store.count(parts.kb.collection)
    refused = pytest.raises(SchemaMismatchError, match="airlock kb migrate")
    with refused, open_knowledge_base(settings, engine, None, embedder=embedder):
        pass
    store = build_milvus_store(settings)
    try:
        report = migrate_collection(store, alias, embedder)
        again = migrate_collection(store, alias, embedder)
        kept = store.has(report.old_collection)
    finally:
        store.close()
    assert report.changed and report.rows == rows and report.new_collection.endswith("_v2")
    assert not again.changed and kept
    with open_knowledge_base(settings, engine, None, embedder=embedder) as parts:
        hits = parts.retriever.search("do gift cards expire", top_k=3, scope=PUBLIC)
    assert hits[0].doc_id == "a.txt"


def test_a_schema_upgrade_migrates_by_copying_vectors(
    tmp_path: Path, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = load_settings(overrides={"data_dir": str(tmp_path)})
    engine = build_engine(settings, create=True)
    upgrade_database(engine)
    documents = [doc("a.txt", "Gift cards never expire.", title="Gift cards")]
    with monkeypatch.context() as old_build:
        old_build.setattr(rag.store, "SCHEMA_VERSION", rag.store.SCHEMA_VERSION - 1)
        with open_knowledge_base(settings, engine, None, embedder=embedder) as parts:
            parts.kb.ingest(documents, IngestTarget("acme"), ACTOR)
            alias = parts.kb.collection
    counting = _CountingEmbedder(embedder)
    store = build_milvus_store(settings)
    try:
        report = migrate_collection(store, alias, counting)
        old = _vectors(store, report.old_collection)
        new = _vectors(store, report.new_collection)
    finally:
        store.close()
    assert report.changed and not report.reembedded and counting.calls == 0
    assert new == old and len(new) == report.rows
    with open_knowledge_base(settings, engine, None, embedder=embedder) as parts:
        hits = parts.retriever.search("do gift cards expire", top_k=3, scope=PUBLIC)
    assert hits[0].doc_id == "a.txt"


def test_bm25_ignores_english_stop_words(open_kb: OpenKb) -> None:
    documents = [doc("a.txt", "How do I pay with a gift card?", title="Gift cards")]
    with open_kb() as parts:
        parts.kb.ingest(documents, IngestTarget("acme"), ACTOR)
        store, name = parts.kb.store, parts.kb.collection
        expr = build_scope_filter(PUBLIC, [])
        only_stop_words = store.search(name, "sparse", "how do I", expr, 5)
        content = store.search(name, "sparse", "how do I pay", expr, 5)
    assert only_stop_words == []
    assert {hit["doc_id"] for hit in content} == {"a.txt"}


class _CountingEmbedder(_RenamedEmbedder):
    """The same model under its own id, counting the texts it embeds."""

    def __init__(self, inner: Embedder) -> None:
        super().__init__(inner, inner.model_id)
        self.calls = 0

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.calls += 1
        return super().embed(texts)


def _vectors(store: MilvusStore, name: str) -> dict[str, list[float]]:
    rows = [r for batch in store.iter_rows(name, ["id", "dense"], 100) for r in batch]
    return {r["id"]: [round(float(x), 6) for x in r["dense"]] for r in rows}
