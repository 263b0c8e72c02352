"""Incremental ingestion: hash-deduplicated, swapped in atomically for readers, audited."""

from __future__ import annotations

import hashlib
import json
import logging
import re
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import numpy as np

from airlock.settings import RagSettings
from audit.events import Actor, AuditEvent
from audit.log import AuditLog
from models.embedder import Embedder
from rag.catalog import PENDING, RETIRED, DocumentCatalog, DocumentRecord, utc_stamp
from rag.chunking import chunk_document
from rag.store import MilvusStore
from rag.types import NAME_PATTERN, Chunk, SourceDocument

log = logging.getLogger(__name__)

EMBED_GROUP_CHUNKS = 256  # chunks embedded and written together
TITLE_SUFFIX = "-title"  # the id of a title entry: its chunk's id plus this
STALE_PENDING = timedelta(hours=1)  # a pending version older than this belongs to a dead run
RETIRED_GRACE = timedelta(minutes=2)  # far longer than a search takes
Status = Literal["added", "updated", "unchanged", "failed"]


@dataclass(frozen=True)
class IngestTarget:
    """Where documents go: the tenant, and the groups allowed to see them (none = public)."""

    tenant: str
    acl: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in (self.tenant, *self.acl):
            if not re.match(NAME_PATTERN, name):
                raise ValueError(
                    f"{name!r} is not a valid tenant or group name (letters, digits, ._:@/+=-)"
                )


@dataclass(frozen=True)
class DocumentReport:
    """What happened to one document."""

    doc_id: str
    source: str
    status: Status
    chunks: int = 0
    reason: str = ""


@dataclass(frozen=True)
class PreparedDocument:
    """A changed document, chunked, with the catalog record it will be published as."""

    document: SourceDocument
    record: DocumentRecord
    chunks: list[Chunk]
    replaces: bool


class KnowledgeBase:
    """One knowledge base: a Milvus collection plus its catalog in the relational store."""

    def __init__(
        self,
        store: MilvusStore,
        catalog: DocumentCatalog,
        embedder: Embedder,
        settings: RagSettings,
        audit: AuditLog | None = None,
    ) -> None:
        self.store = store
        self.catalog = catalog
        self.embedder = embedder
        self.settings = settings
        self.audit = audit
        self.collection = f"{settings.collection_prefix}{catalog.kb}"

    def open(self) -> KnowledgeBase:
        """Create the collection if missing (never replace one) and finish interrupted swaps."""
        self.store.ensure(self.collection, self.embedder.dimension, self.embedder.model_id)
        self.cleanup()
        return self

    def ingest(
        self,
        documents: Iterable[SourceDocument],
        target: IngestTarget,
        actor: Actor,
        progress: Callable[[DocumentReport], None] | None = None,
    ) -> list[DocumentReport]:
        """Add new and changed documents; leave unchanged ones alone."""
        reports: list[DocumentReport] = []
        group: list[PreparedDocument] = []
        for document in documents:
            prepared = self._prepare(document, target)
            if prepared is None:
                report = DocumentReport(document.doc_id, document.source, "unchanged")
                reports.append(report)
                if progress:
                    progress(report)
                continue
            group.append(prepared)
            if sum(len(p.chunks) for p in group) >= EMBED_GROUP_CHUNKS:
                reports += self._write(group, actor, progress)
                group = []
        if group:
            reports += self._write(group, actor, progress)
        self.seal(reports)
        return reports

    def seal(self, reports: Sequence[DocumentReport]) -> None:
        """Seal what a run wrote, so searches use the indexes (nothing when all unchanged)."""
        if any(report.status != "unchanged" for report in reports):
            self.store.flush(self.collection)

    def get_content_hash(self, document: SourceDocument, target: IngestTarget) -> str:
        """What decides 'unchanged' for this knowledge base."""
        return content_hash(document, target, self.settings, self.embedder.model_id)

    def _prepare(self, document: SourceDocument, target: IngestTarget) -> PreparedDocument | None:
        content_hash = self.get_content_hash(document, target)
        live = self.catalog.get(target.tenant, document.doc_id)
        if live is not None and live.content_hash == content_hash:
            return None
        chunks = chunk_document(
            document,
            chunk_size=self.settings.chunk_size,
            chunk_overlap=self.settings.chunk_overlap,
        )
        record = DocumentRecord(
            kb=self.catalog.kb,
            tenant=target.tenant,
            doc_id=document.doc_id,
            version=uuid.uuid4().hex[:16],
            content_hash=content_hash,
            chunk_count=len(chunks),
            title=document.title,
            source=document.source,
            acl=tuple(sorted(target.acl)),
            subject_ids=document.subject_ids,
            language=document.language,
            updated_at=utc_stamp(),
        )
        return PreparedDocument(document, record, chunks, replaces=live is not None)

    def _write(
        self,
        group: Sequence[PreparedDocument],
        actor: Actor,
        progress: Callable[[DocumentReport], None] | None,
    ) -> list[DocumentReport]:
        """Embed a group's entries, then write them."""
        texts = [text for item in group for _, _, text, _ in self._entries(item)]
        return self.write_prepared(group, self.embedder.embed(texts), actor, progress)

    def write_prepared(
        self,
        group: Sequence[PreparedDocument],
        vectors: np.ndarray,
        actor: Actor,
        progress: Callable[[DocumentReport], None] | None = None,
    ) -> list[DocumentReport]:
        """Hidden insert of vectors (in `_entries` order), one publish per document, retire old."""
        self.catalog.begin([item.record for item in group])
        entries = [entry for item in group for entry in self._entries(item)]
        rows = [
            _row(item.record, chunk, item.document, vector.tolist(), title_entry=is_title)
            for (item, chunk, _, is_title), vector in zip(entries, vectors, strict=True)
        ]
        self.store.insert(self.collection, rows)
        self.catalog.publish([item.record for item in group])
        self.cleanup()  # replaced versions stay hidden a grace period before their rows go
        reports = [
            DocumentReport(
                item.document.doc_id,
                item.document.source,
                "updated" if item.replaces else "added",
                len(item.chunks),
            )
            for item in group
        ]
        self._audit(group, reports, actor)
        for report in reports:
            if progress:
                progress(report)
        return reports

    def _entries(self, item: PreparedDocument) -> list[tuple[PreparedDocument, Chunk, str, bool]]:
        """What gets a vector: every chunk, and the title on its own (standing for chunk 0).

        A title alone matches question-like queries far better than title plus body (FAQ
        questions, article titles such as "Reset your password").
        """
        entries = [(item, chunk, chunk.embed_text, False) for chunk in item.chunks]
        title = item.document.title.strip()
        if self.settings.title_vectors and title and item.chunks:
            entries.append((item, item.chunks[0], title, True))
        return entries

    def delete(self, tenant: str, doc_id: str, actor: Actor) -> bool:
        """Remove a document from search at once, then its chunks; False if unknown."""
        old = self.catalog.retire(tenant, doc_id)
        if old is None:
            return False
        self._remove_versions([old])
        self._append(
            AuditEvent(
                "kb.document.deleted",
                actor=actor,
                tenant=tenant,
                resource_type="kb_document",
                resource_id=doc_id[:255],
                details={"kb": self.catalog.kb, "version": old},
            )
        )
        return True

    def erase_subject(
        self, subject_id: str, actor: Actor, tenant: str | None = None
    ) -> list[DocumentRecord]:
        """Delete every document that names a data subject (of `tenant`, or of any tenant)."""
        found = [
            record
            for record in self.catalog.find_by_subject(subject_id)
            if tenant is None or record.tenant == tenant
        ]
        for record in found:
            self.delete(record.tenant, record.doc_id, actor)
        return found

    def cleanup(self, grace: timedelta = RETIRED_GRACE) -> None:
        """Remove rows of versions retired longer than `grace` and of dead runs' pending ones.

        A reader that read the hidden list just before a swap still excludes the new version;
        the old rows must outlive its search (it then sees the swap and searches again), so
        they are only removed after a grace period. Deletions (`delete`, erasure) are at once.
        """
        now = datetime.now(UTC)
        retired_before = _stamp(now - grace)
        pending_before = _stamp(now - STALE_PENDING)
        doomed = [
            v
            for _, _, v, since in self.catalog.list_hidden_since(RETIRED)
            if since < retired_before
        ]
        doomed += [
            v
            for _, _, v, since in self.catalog.list_hidden_since(PENDING)
            if since < pending_before
        ]
        self._remove_versions(doomed)

    def _remove_versions(self, versions: Sequence[str]) -> None:
        self.store.delete_versions(self.collection, versions)
        self.catalog.forget(versions)

    def _audit(
        self, group: Sequence[PreparedDocument], reports: Sequence[DocumentReport], actor: Actor
    ) -> None:
        events = [
            AuditEvent(
                f"kb.document.{report.status}",
                actor=actor,
                tenant=item.record.tenant,
                resource_type="kb_document",
                resource_id=item.record.doc_id[:255],
                details={
                    "kb": self.catalog.kb,
                    "chunks": report.chunks,
                    "version": item.record.version,
                    "content_hash": item.record.content_hash,
                },
            )
            for item, report in zip(group, reports, strict=True)
        ]
        if self.audit is not None and events:
            self.audit.append_many(events)

    def _append(self, event: AuditEvent) -> None:
        if self.audit is not None:
            self.audit.append(event)


def content_hash(
    document: SourceDocument, target: IngestTarget, settings: RagSettings, embedder_id: str
) -> str:
    """What decides 'unchanged': content, access, and how it is chunked and embedded."""
    material = {
        "doc": document.model_dump(),
        "acl": sorted(target.acl),
        "chunking": [settings.chunk_size, settings.chunk_overlap],
        "embedder": embedder_id,
    }
    canonical = json.dumps(material, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _row(
    record: DocumentRecord,
    chunk: Chunk,
    document: SourceDocument,
    vector: list[float],
    *,
    title_entry: bool,
) -> dict[str, Any]:
    chunk_id = f"{record.version}-{chunk.index}"
    return {
        "id": f"{chunk_id}{TITLE_SUFFIX}" if title_entry else chunk_id,
        "doc_id": record.doc_id,
        "chunk_index": chunk.index,
        "version": record.version,
        "text": chunk.text,
        "bm25_text": record.title if title_entry else chunk.embed_text,
        "title": record.title[:1000],
        "source": record.source[:2000],
        "tenant": record.tenant,
        "acl": list(record.acl),
        "visibility": "internal" if record.acl else "public",
        "language": document.language,
        "subject_ids": list(record.subject_ids),
        "content_hash": record.content_hash,
        "updated_at": record.updated_at,
        "start": chunk.start,
        "end": chunk.end,
        "dense": vector,
    }
