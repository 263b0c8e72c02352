"""Idempotency keys and webhook delivery ids, remembered with the request they came with."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Literal

import sqlalchemy as sa
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from airlock.db import describe_storage_failure, write_transaction
from helpdesk.intake.schema import intake_keys
from helpdesk.queue.rows import format_ts, utc_now
from helpdesk.queue.types import JobRef

KeyKind = Literal["idempotency", "webhook"]
_C = intake_keys.c


def request_digest(body: bytes) -> str:
    """SHA-256 of a request body (a reused key must come with the same request)."""
    return hashlib.sha256(body).hexdigest()


@dataclass(frozen=True)
class IntakeKey:
    """A remembered key: the request it came with and the job it created."""

    kind: KeyKind
    sender: str
    key: str
    tenant: str
    request_sha256: str
    job_id: str
    ticket_id: str
    version: str
    created_at: str

    def matches(self, request_sha256: str) -> bool:
        """Whether a retry carries the same request as the first delivery."""
        return self.request_sha256 == request_sha256


class IntakeKeys:
    """Keys per (kind, sender); the first to be remembered wins a race."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def find(self, kind: KeyKind, sender: str, key: str) -> IntakeKey | None:
        """The remembered key, or None when it was never used."""
        query = sa.select(intake_keys).where(_C.kind == kind, _C.sender == sender, _C.key == key)
        try:
            with self.engine.connect() as conn:
                row = conn.execute(query).mappings().first()
        except SQLAlchemyError as exc:
            raise describe_storage_failure(self.engine, exc) from None
        return IntakeKey(**row) if row is not None else None

    def remember(
        self, kind: KeyKind, sender: str, key: str, request_sha256: str, ref: JobRef
    ) -> IntakeKey:
        """Store the key for `ref`'s job; when another request stored it first, return that."""
        entry = IntakeKey(
            kind=kind,
            sender=sender,
            key=key,
            tenant=ref.tenant,
            request_sha256=request_sha256,
            job_id=ref.job_id,
            ticket_id=ref.ticket_id,
            version=ref.version,
            created_at=format_ts(utc_now()),
        )
        try:
            with write_transaction(self.engine) as conn:
                conn.execute(intake_keys.insert().values(**entry.__dict__))
        except IntegrityError:
            stored = self.find(kind, sender, key)
            if stored is not None:
                return stored
            raise
        except SQLAlchemyError as exc:
            raise describe_storage_failure(self.engine, exc) from None
        return entry

    def prune(self, older_than: str) -> int:
        """Forget keys created before `older_than` (a `format_ts` stamp); how many went."""
        try:
            with write_transaction(self.engine) as conn:
                result = conn.execute(intake_keys.delete().where(_C.created_at < older_than))
        except SQLAlchemyError as exc:
            raise describe_storage_failure(self.engine, exc) from None
        return int(result.rowcount or 0)
