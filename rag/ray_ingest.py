"""Large corpora on Ray Data: workers parse, chunk and embed; the driver writes and swaps."""

# Only the writing stays on the driver, through KnowledgeBase.write_prepared, so the atomic swap,
# dedupe, audit and reports are those of the single-process path. Workers read the files by path:
# on a cluster the paths must be on a filesystem every node mounts at the same place, and every
# node needs this package and the embedding model (the same data_dir or model store).

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from airlock.settings import AirlockSettings, RagSettings
from audit.events import Actor
from models.embedder import Embedder, load_embedder
from rag.catalog import DocumentRecord, utc_stamp
from rag.chunking import chunk_document
from rag.errors import DocumentError, RagError
from rag.ingest import (
    EMBED_GROUP_CHUNKS,
    DocumentReport,
    IngestTarget,
    KnowledgeBase,
    PreparedDocument,
    content_hash,
)
from rag.loaders import SourceFile, iter_sources, load_source
from rag.types import Chunk, SourceDocument

log = logging.getLogger(__name__)

NEW, UNCHANGED, FAILED = "new", "unchanged", "failed"  # what the parse stage says of a row
_COLUMNS = ("content_hash", "document", "chunks", "texts", "reason")  # besides kind, id, source
Progress = Callable[[DocumentReport], None]


@dataclass(frozen=True)
class _ModelName:
    model_id: str


@dataclass(frozen=True)
class _Job:
    """What workers need to hash and chunk documents as the single-process path does."""

    settings: RagSettings
    embedder: _ModelName
    target: IngestTarget
    live: dict[str, str]  # doc_id -> content hash of the tenant's live documents


def ingest_with_ray(
    kb: KnowledgeBase,
    settings: AirlockSettings,
    paths: Sequence[Path],
    target: IngestTarget,
    actor: Actor,
    *,
    address: str | None = None,
    embed_batch: int = 64,
    progress: Progress | None = None,
) -> tuple[list[DocumentReport], list[DocumentError]]:
    """Ingest files as Ray Data does it: reports of written documents, and files that failed."""
    import ray

    sources = list(iter_sources(paths))
    if not sources:
        return [], []
    with connect_ray(address):
        try:
            live = {r.doc_id: r.content_hash for r in kb.catalog.list_documents(target.tenant)}
            job = _Job(kb.settings, _ModelName(kb.embedder.model_id), target, live)
            with _ordered_quiet_data_context():
                rows = _pipeline(kb, settings, sources, job, embed_batch).iter_rows()
                return _GroupWriter(kb, job, actor, progress).write_all(rows)
        except ray.exceptions.RayError as exc:
            raise _pipeline_error(exc) from None


@contextmanager
def connect_ray(address: str | None) -> Iterator[None]:
    """Join the Ray cluster at `address` (or start a local one) unless already connected.

    Entry points connect before opening Milvus: starting Ray's processes from a process whose
    gRPC client threads are busy can leave the GCS server unstarted.
    """
    import ray

    started = not ray.is_initialized()
    if started:
        _start_ray(address)
    try:
        yield
    finally:
        if started:
            ray.shutdown()


def _start_ray(address: str | None) -> None:
    """ray.init, once more when a local node misses Ray's fixed 30 s startup wait (busy CPU)."""
    import ray

    for attempt in (1, 2):
        try:
            # No dashboard port; worker logs stay in Ray's files; our logging setup stays ours.
            ray.init(
                address=address or None,
                include_dashboard=False,
                log_to_driver=False,
                configure_logging=False,
            )
            return
        except Exception as exc:  # Ray raises a bare Exception when its node does not start
            if attempt == 2 or "timed out during startup" not in str(exc):
                raise
            log.warning("the local Ray node did not start in time; starting it once more")
            ray.shutdown()


def _pipeline_error(exc: BaseException) -> RagError:
    """The last line of Ray's report names the worker's own error (after a long traceback)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return RagError(
        f"the Ray ingestion pipeline failed: {lines[-1] if lines else type(exc).__name__}",
        remedy="check the Ray worker logs; every node needs airlock and the embedding model",
    )


def _pipeline(
    kb: KnowledgeBase,
    settings: AirlockSettings,
    sources: Sequence[SourceFile],
    job: _Job,
    embed_batch: int,
) -> Any:
    """files → parse and chunk (tasks) → embed (one model per actor), in input order."""
    import ray

    threads = settings.models.cpu_threads or 1
    worker_settings = settings.model_copy(
        update={"models": settings.models.model_copy(update={"cpu_threads": threads})}
    )
    cpus = float(ray.cluster_resources().get("CPU", 1))  # type: ignore[no-untyped-call]
    # Actors holding every CPU would starve the parse tasks forever: leave them one (or half).
    spare = max(cpus - 1, cpus / 2)
    reserve = min(threads, spare)
    items = [{"path": str(s.path.resolve()), "relative": s.relative} for s in sources]
    return (
        ray.data.from_items(items)
        # `job` reaches _parse_file's keyword through fn_kwargs, which mypy cannot follow.
        .flat_map(_parse_file, fn_kwargs={"job": job})  # type: ignore[arg-type]
        .map_batches(
            _EmbedStage,
            fn_constructor_kwargs={
                "settings": worker_settings,
                "model_id": kb.embedder.model_id,
                "dimension": kb.embedder.dimension,
            },
            batch_size=embed_batch,
            batch_format="numpy",
            num_cpus=reserve,
            compute=ray.data.ActorPoolStrategy(min_size=1, max_size=max(1, int(spare // reserve))),
        )
    )


def _parse_file(item: dict[str, Any], *, job: _Job) -> list[dict[str, Any]]:
    """One file's rows: a problem, or per document 'unchanged' or its chunks to embed."""
    loaded = load_source(SourceFile(Path(item["path"]), item["relative"]))
    rows = [_row(FAILED, p.path, p.path, reason=p.reason) for p in loaded.problems]
    return rows + [_document_row(document, job) for document in loaded.documents]


def _document_row(document: SourceDocument, job: _Job) -> dict[str, Any]:
    """Hash a document as the single-process path does; chunk it unless it is unchanged."""
    digest = content_hash(document, job.target, job.settings, job.embedder.model_id)
    if job.live.get(document.doc_id) == digest:
        return _row(UNCHANGED, document.doc_id, document.source)
    try:
        chunks = chunk_document(
            document,
            chunk_size=job.settings.chunk_size,
            chunk_overlap=job.settings.chunk_overlap,
        )
    except DocumentError as problem:
        return _row(FAILED, problem.path, document.source, reason=problem.reason)
    # The same entries as KnowledgeBase._entries: every chunk, then the title on its own.
    texts = [chunk.embed_text for chunk in chunks]
    title = document.title.strip()
    if job.settings.title_vectors and title and chunks:
        texts.append(title)
    return _row(
        NEW,
        document.doc_id,
        document.source,
        content_hash=digest,
        document=document.model_dump_json(),
        chunks=json.dumps([chunk.model_dump() for chunk in chunks], ensure_ascii=False),
        texts=json.dumps(texts, ensure_ascii=False),
    )


def _row(kind: str, doc_id: str, source: str, **values: str) -> dict[str, Any]:
    """A row of the parse stage; every row has every column (Arrow needs one schema)."""
    return {"kind": kind, "doc_id": doc_id, "source": source} | {
        name: values.get(name, "") for name in _COLUMNS
    }


class _EmbedStage:
    """Embeds the entries of the batch's new documents; each Ray actor loads the model once."""

    def __init__(self, settings: AirlockSettings, model_id: str, dimension: int) -> None:
        self.settings = settings
        self.expected = (model_id, dimension)
        self.embedder: Embedder | None = None  # loaded on first use: reruns often embed nothing

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """The batch without its texts, with each row's float32 vectors as bytes."""
        per_row = [json.loads(texts) if texts else [] for texts in batch["texts"]]
        flat = [text for texts in per_row for text in texts]
        vectors = self._load().embed(flat) if flat else np.zeros((0, self.expected[1]), np.float32)
        bounds = np.cumsum([len(texts) for texts in per_row])[:-1]
        out = np.array([part.tobytes() for part in np.split(vectors, bounds)], dtype=object)
        kept = {name: column for name, column in batch.items() if name != "texts"}
        return kept | {"vectors": out}

    def _load(self) -> Embedder:
        """The worker's embedding model, refused if it is not the knowledge base's."""
        if self.embedder is None:
            embedder = load_embedder(self.settings)
            if (embedder.model_id, embedder.dimension) != self.expected:
                raise RagError(
                    f"the Ray workers load embedding model {embedder.model_id!r} "
                    f"({embedder.dimension} dims), the knowledge base uses {self.expected[0]!r}",
                    remedy="give the workers the same models.embedding_model and model store",
                )
            self.embedder = embedder
        return self.embedder


class _GroupWriter:
    """Gathers embedded documents into groups of about EMBED_GROUP_CHUNKS chunks and writes them."""

    def __init__(
        self, kb: KnowledgeBase, job: _Job, actor: Actor, progress: Progress | None
    ) -> None:
        self.kb = kb
        self.job = job
        self.actor = actor
        self.progress = progress
        self.reports: list[DocumentReport] = []
        self.group: list[PreparedDocument] = []
        self.vectors: list[np.ndarray] = []

    def write_all(
        self, rows: Iterable[dict[str, Any]]
    ) -> tuple[list[DocumentReport], list[DocumentError]]:
        """Report unchanged documents, collect problems, write new ones in groups."""
        problems: list[DocumentError] = []
        for row in rows:
            if row["kind"] == FAILED:
                problems.append(DocumentError(row["doc_id"], row["reason"]))
                log.warning("source not loaded", extra={"path": row["doc_id"]})
            elif row["kind"] == UNCHANGED:
                self.report(DocumentReport(row["doc_id"], row["source"], "unchanged"))
            else:
                self.add(row)
        self.flush()
        self.kb.seal(self.reports)
        return self.reports, problems

    def report(self, report: DocumentReport) -> None:
        """Record a document that needs no write."""
        self.reports.append(report)
        if self.progress:
            self.progress(report)

    def add(self, row: dict[str, Any]) -> None:
        """Queue one embedded document; write the group once it is big enough."""
        document = SourceDocument.model_validate_json(row["document"])
        chunks = [Chunk.model_validate(chunk) for chunk in json.loads(row["chunks"])]
        record = self._record(document, chunks, row["content_hash"])
        self.group.append(
            PreparedDocument(document, record, chunks, document.doc_id in self.job.live)
        )
        dimension = self.kb.embedder.dimension
        self.vectors.append(np.frombuffer(row["vectors"], dtype=np.float32).reshape(-1, dimension))
        if sum(len(item.chunks) for item in self.group) >= EMBED_GROUP_CHUNKS:
            self.flush()

    def flush(self) -> None:
        """Write the queued documents through the knowledge base's atomic swap."""
        if self.group:
            vectors = np.concatenate(self.vectors)
            self.reports += self.kb.write_prepared(self.group, vectors, self.actor, self.progress)
        self.group, self.vectors = [], []

    def _record(self, document: SourceDocument, chunks: list[Chunk], digest: str) -> DocumentRecord:
        """The new version's catalog record, as KnowledgeBase._prepare builds it."""
        return DocumentRecord(
            kb=self.kb.catalog.kb,
            tenant=self.job.target.tenant,
            doc_id=document.doc_id,
            version=uuid.uuid4().hex[:16],
            content_hash=digest,
            chunk_count=len(chunks),
            title=document.title,
            source=document.source,
            acl=tuple(sorted(self.job.target.acl)),
            subject_ids=document.subject_ids,
            language=document.language,
            updated_at=utc_stamp(),
        )


@contextmanager
def _ordered_quiet_data_context() -> Iterator[None]:
    """Keep input order (reports and duplicate ids as the single path); no bars or plan lines."""
    from ray.data import DataContext

    context = DataContext.get_current()
    options = context.execution_options
    saved = (options.preserve_order, context.enable_progress_bars, context.print_on_execution_start)
    options.preserve_order = True
    context.enable_progress_bars = context.print_on_execution_start = False
    try:
        yield
    finally:
        options.preserve_order = saved[0]
        context.enable_progress_bars, context.print_on_execution_start = saved[1:]
