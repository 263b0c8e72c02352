"""Which version of each document is live, and which versions search must not see."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from airlock.db import write_transaction
from rag.schema import documents, hidden_versions

PENDING = "pending"
RETIRED = "retired"


def utc_stamp() -> str:
    """Now, as a fixed-width UTC timestamp."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class DocumentRecord:
    """The live version of one document."""

    kb: str
    tenant: str
    doc_id: str
    version: str
    content_hash: str
    chunk_count: int
    title: str
    source: str
    acl: tuple[str, ...]
    subject_ids: tuple[str, ...]
    language: str
    updated_at: str


class DocumentCatalog:
    """The kb_documents / kb_hidden_versions tables of one knowledge base."""

    def __init__(self, engine: Engine, kb: str) -> None:
        self.engine = engine
        self.kb = kb

    def get(self, tenant: str, doc_id: str) -> DocumentRecord | None:
        """The live record of a document, if any."""
        query = sa.select(documents).where(
            documents.c.kb == self.kb, documents.c.tenant == tenant, documents.c.doc_id == doc_id
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        return _record(row) if row else None

    def list_documents(self, tenant: str | None = None) -> list[DocumentRecord]:
        """Every live document (of one tenant, when given)."""
        query = sa.select(documents).where(documents.c.kb == self.kb)
        if tenant is not None:
            query = query.where(documents.c.tenant == tenant)
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(documents.c.tenant, documents.c.doc_id)).mappings()
            return [_record(row) for row in rows]

    def get_live_versions(self, tenant: str, doc_ids: Sequence[str]) -> dict[str, str]:
        """doc_id → live version, for the given documents of one tenant."""
        if not doc_ids:
            return {}
        query = sa.select(documents.c.doc_id, documents.c.version).where(
            documents.c.kb == self.kb,
            documents.c.tenant == tenant,
            documents.c.doc_id.in_(sorted(set(doc_ids))),
        )
        with self.engine.connect() as conn:
            return {str(d): str(v) for d, v in conn.execute(query)}

    def find_by_subject(self, subject_id: str) -> list[DocumentRecord]:
        """Live documents that name a data subject."""
        return [r for r in self.list_documents() if subject_id in r.subject_ids]

    def get_hidden_versions(self) -> list[str]:
        """Versions search must exclude (pending writes and retired versions)."""
        query = sa.select(hidden_versions.c.version).where(hidden_versions.c.kb == self.kb)
        with self.engine.connect() as conn:
            return [str(v) for v in conn.execute(query).scalars()]

    def list_hidden(self, state: str) -> list[tuple[str, str, str]]:
        """(tenant, doc_id, version) of hidden versions in one state."""
        query = sa.select(
            hidden_versions.c.tenant, hidden_versions.c.doc_id, hidden_versions.c.version
        ).where(hidden_versions.c.kb == self.kb, hidden_versions.c.state == state)
        with self.engine.connect() as conn:
            return [(str(t), str(d), str(v)) for t, d, v in conn.execute(query)]

    def list_hidden_since(self, state: str) -> list[tuple[str, str, str, str]]:
        """(tenant, doc_id, version, since) of hidden versions in one state."""
        query = sa.select(
            hidden_versions.c.tenant,
            hidden_versions.c.doc_id,
            hidden_versions.c.version,
            hidden_versions.c.since,
        ).where(hidden_versions.c.kb == self.kb, hidden_versions.c.state == state)
        with self.engine.connect() as conn:
            return [(str(t), str(d), str(v), str(s)) for t, d, v, s in conn.execute(query)]

    def begin(self, records: Sequence[DocumentRecord]) -> None:
        """Mark versions as being written: search ignores their chunks until `publish`."""
        with write_transaction(self.engine) as conn:
            for r in records:
                _hide(conn, self.kb, r.tenant, r.doc_id, r.version, state=PENDING)

    def publish(self, records: Sequence[DocumentRecord]) -> list[str]:
        """Make `records` live in one transaction; return the versions they replaced."""
        retired = []
        with write_transaction(self.engine) as conn:
            for record in records:
                old = self._live_version(conn, record.tenant, record.doc_id)
                conn.execute(
                    hidden_versions.delete().where(
                        hidden_versions.c.kb == self.kb,
                        hidden_versions.c.version == record.version,
                    )
                )
                self._delete_row(conn, record.tenant, record.doc_id)
                conn.execute(documents.insert().values(**_row(record)))
                if old is not None and old != record.version:
                    _hide(conn, self.kb, record.tenant, record.doc_id, old, state=RETIRED)
                    retired.append(old)
        return retired

    def retire(self, tenant: str, doc_id: str) -> str | None:
        """Take a document out of search in one transaction; return its retired version."""
        with write_transaction(self.engine) as conn:
            old = self._live_version(conn, tenant, doc_id)
            if old is None:
                return None
            self._delete_row(conn, tenant, doc_id)
            _hide(conn, self.kb, tenant, doc_id, old, state=RETIRED)
        return old

    def forget(self, versions: Sequence[str]) -> None:
        """Drop hidden versions whose chunks are gone from the vector store."""
        if not versions:
            return
        with write_transaction(self.engine) as conn:
            conn.execute(
                hidden_versions.delete().where(
                    hidden_versions.c.kb == self.kb, hidden_versions.c.version.in_(versions)
                )
            )

    def _live_version(self, conn: Connection, tenant: str, doc_id: str) -> str | None:
        query = sa.select(documents.c.version).where(
            documents.c.kb == self.kb, documents.c.tenant == tenant, documents.c.doc_id == doc_id
        )
        value = conn.execute(query).scalar()
        return str(value) if value is not None else None

    def _delete_row(self, conn: Connection, tenant: str, doc_id: str) -> None:
        conn.execute(
            documents.delete().where(
                documents.c.kb == self.kb,
                documents.c.tenant == tenant,
                documents.c.doc_id == doc_id,
            )
        )


def _hide(conn: Connection, kb: str, tenant: str, doc_id: str, version: str, *, state: str) -> None:
    conn.execute(
        hidden_versions.insert().values(
            kb=kb, version=version, state=state, tenant=tenant, doc_id=doc_id, since=utc_stamp()
        )
    )


def _row(record: DocumentRecord) -> dict[str, object]:
    values = dict(record.__dict__)
    values["acl"] = json.dumps(list(record.acl))
    values["subject_ids"] = json.dumps(list(record.subject_ids))
    return values


def _record(row: sa.RowMapping) -> DocumentRecord:
    values = dict(row)
    values["acl"] = tuple(json.loads(values["acl"]))
    values["subject_ids"] = tuple(json.loads(values["subject_ids"]))
    return DocumentRecord(**values)
