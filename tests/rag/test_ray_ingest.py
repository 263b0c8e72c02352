"""The Ray Data ingestion path on local Ray: the same knowledge base as the single-process path."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import pytest

from airlock.config import load_settings
from airlock.datadir import ensure_data_dir
from airlock.db import build_engine, upgrade_database
from airlock.settings import AirlockSettings
from audit.events import Actor
from models.embedder import Embedder
from rag.errors import DocumentError
from rag.ingest import DocumentReport, IngestTarget, KnowledgeBase
from rag.loaders import load_paths
from rag.ray_ingest import connect_ray, ingest_with_ray
from rag.registry import open_knowledge_base

pytestmark = [pytest.mark.ray, pytest.mark.slow]

SAMPLE_KB = Path(__file__).resolve().parents[2] / "examples" / "kb"
TARGET = IngestTarget("acme")
ACTOR = Actor("local:test")


@dataclass
class Ingested:
    """Both knowledge bases after the first ingestion, and what each path reported."""

    single: KnowledgeBase
    ray: KnowledgeBase
    settings: AirlockSettings
    corpus: Path
    single_reports: list[DocumentReport]
    single_problems: list[DocumentError]
    ray_reports: list[DocumentReport]
    ray_problems: list[DocumentError]
    progress: list[DocumentReport]


def private_settings(folder: Path) -> AirlockSettings:
    """Defaults over a private SQLite file and Milvus Lite file, whatever the shell exports."""
    return load_settings(overrides={"data_dir": str(folder)})


def open_private_kb(
    stack: ExitStack, settings: AirlockSettings, embedder: Embedder
) -> KnowledgeBase:
    ensure_data_dir(settings.data_dir)
    engine = build_engine(settings, create=True)
    upgrade_database(engine)
    stack.callback(engine.dispose)
    parts = stack.enter_context(
        open_knowledge_base(settings, engine, None, kb="sample", embedder=embedder)
    )
    return parts.kb


@pytest.fixture(scope="module")
def ray_runtime() -> Iterator[None]:
    with connect_ray(None):
        yield


@pytest.fixture(scope="module")
def ingested(
    tmp_path_factory: pytest.TempPathFactory, ray_runtime: None, embedder: Embedder
) -> Iterator[Ingested]:
    """The sample KB plus one corrupt PDF, ingested by each path into its own store."""
    root = tmp_path_factory.mktemp("ray-ingest")
    corpus = root / "kb"
    shutil.copytree(SAMPLE_KB, corpus)
    (corpus / "broken.pdf").write_bytes(b"%PDF-1.7\n\x00\x01 not really a PDF")
    with pytest.MonkeyPatch.context() as env, ExitStack() as stack:
        for name in [name for name in os.environ if name.upper().startswith("AIRLOCK")]:
            env.delenv(name)
        single_settings = private_settings(root / "single")
        ray_settings = private_settings(root / "ray")
        # One embedder (the session's) for both drivers; the Ray workers load their own.
        single = open_private_kb(stack, single_settings, embedder)
        ray_kb = open_private_kb(stack, ray_settings, embedder)
        loaded = load_paths([corpus])
        progress: list[DocumentReport] = []
        # The single path embeds in this process while the Ray workers do the same: the two
        # share the two cores of a small machine instead of taking turns.
        with ThreadPoolExecutor(1) as pool:
            single_run = pool.submit(single.ingest, loaded.documents, TARGET, ACTOR)
            ray_reports, ray_problems = ingest_with_ray(
                ray_kb,
                ray_settings,
                [corpus],
                TARGET,
                ACTOR,
                embed_batch=16,  # several batches and group writes; embedding starts sooner
                progress=progress.append,
            )
        yield Ingested(
            single,
            ray_kb,
            ray_settings,
            corpus,
            single_run.result(),
            list(loaded.problems),
            ray_reports,
            ray_problems,
            progress,
        )


def chunk_counts(kb: KnowledgeBase) -> dict[str, int]:
    return {r.doc_id: r.chunk_count for r in kb.catalog.list_documents(TARGET.tenant)}


def test_ray_ingest_writes_the_same_documents_and_chunks_as_the_single_path(
    ingested: Ingested,
) -> None:
    single, ray_kb = ingested.single, ingested.ray
    counts = chunk_counts(ray_kb)
    assert counts == chunk_counts(single)
    assert len(counts) >= 35 and sum(counts.values()) > len(counts)
    assert ray_kb.store.count(ray_kb.collection) == single.store.count(single.collection)
    assert ray_kb.catalog.get_hidden_versions() == []
    assert sorted((r.doc_id, r.status, r.chunks) for r in ingested.ray_reports) == sorted(
        (r.doc_id, r.status, r.chunks) for r in ingested.single_reports
    )
    assert {r.status for r in ingested.ray_reports} == {"added"}
    assert ingested.progress == ingested.ray_reports


def test_ray_ingest_reports_a_corrupt_file_with_its_path_and_ingests_the_rest(
    ingested: Ingested,
) -> None:
    assert [(p.path, p.reason) for p in ingested.ray_problems] == [
        (p.path, p.reason) for p in ingested.single_problems
    ]
    [problem] = ingested.ray_problems
    assert problem.path == "broken.pdf" and "corrupt" in problem.reason
    assert "broken.pdf" not in chunk_counts(ingested.ray)
    assert "account-and-password/reset-your-password.md" in chunk_counts(ingested.ray)


def test_ray_ingest_rerun_of_an_unchanged_corpus_adds_nothing(ingested: Ingested) -> None:
    import ray

    ray_kb = ingested.ray
    before = (chunk_counts(ray_kb), ray_kb.store.count(ray_kb.collection))
    reports, problems = ingest_with_ray(
        ray_kb, ingested.settings, [ingested.corpus], TARGET, ACTOR, address=None
    )
    assert {r.status for r in reports} == {"unchanged"}
    assert len(reports) == len(before[0]) and [p.path for p in problems] == ["broken.pdf"]
    assert (chunk_counts(ray_kb), ray_kb.store.count(ray_kb.collection)) == before
    assert ray.is_initialized()  # a runtime it did not start is left running


def test_ray_ingest_over_the_single_path_result_adds_nothing(ingested: Ingested) -> None:
    single = ingested.single
    before = single.store.count(single.collection)
    reports, _ = ingest_with_ray(single, ingested.settings, [ingested.corpus], TARGET, ACTOR)
    assert {r.status for r in reports} == {"unchanged"}
    assert single.store.count(single.collection) == before
