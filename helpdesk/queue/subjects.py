"""A data subject's rows in the queue tables: counting their repeats, erasing their text."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from airlock.db import describe_storage_failure, write_transaction
from helpdesk.queue.rows import PAYLOAD_ERASED, format_ts, utc_now
from helpdesk.queue.schema import decisions, jobs

Scrub = Callable[[dict[str, Any]], dict[str, Any]]
_D = decisions.c
_J = jobs.c


@dataclass(frozen=True)
class ErasedRows:
    """What erasing one subject changed in the queue tables."""

    tenants: tuple[str, ...]
    ticket_ids: tuple[str, ...]
    payloads_erased: int
    decisions_scrubbed: int
    jobs_cancelled: int


class SubjectRecords:
    """Per-subject reads and erasure over the jobs and decisions tables."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def count_repeats(
        self,
        *,
        tenant: str,
        subject_id: str,
        intent: str,
        since: str,
        until: str,
        exclude_ticket: str,
    ) -> int:
        """Other tickets of the subject with this intent received in [since, until]."""
        query = sa.select(sa.func.count(sa.distinct(_D.ticket_id))).where(
            _D.tenant == tenant,
            _D.subject_id == subject_id,
            _D.intent == intent,
            _D.received_at >= since,
            _D.received_at <= until,
            _D.ticket_id != exclude_ticket,
        )
        with self._storage(), self.engine.connect() as conn:
            return int(conn.execute(query).scalar() or 0)

    def find_tenants(self, subject_id: str) -> tuple[str, ...]:
        """Tenants holding jobs or decisions of the subject."""
        query = sa.union(
            sa.select(_J.tenant).where(_J.subject_id == subject_id),
            sa.select(_D.tenant).where(_D.subject_id == subject_id),
        )
        with self._storage(), self.engine.connect() as conn:
            return tuple(sorted(str(row[0]) for row in conn.execute(query)))

    def erase(self, subject_id: str, tenants: tuple[str, ...], scrub: Scrub) -> ErasedRows:
        """Blank ticket payloads, cancel queued jobs, scrub decision text, in one transaction."""
        now = format_ts(utc_now())
        mine_j = (_J.subject_id == subject_id, _J.tenant.in_(tenants))
        mine_d = (_D.subject_id == subject_id, _D.tenant.in_(tenants))
        with self._storage(), write_transaction(self.engine) as conn:
            ids = {str(r[0]) for r in conn.execute(sa.select(_J.ticket_id).where(*mine_j))}
            cancelled = conn.execute(
                jobs.update()
                .where(*mine_j, _J.state == "queued")
                .values(state="dead", last_error=PAYLOAD_ERASED, updated_at=now)
            ).rowcount
            erased = conn.execute(
                jobs.update().where(*mine_j, _J.payload.is_not(None)).values(payload=None)
            ).rowcount
            rows = conn.execute(
                sa.select(_D.tenant, _D.ticket_id, _D.version, _D.decision).where(
                    *mine_d, _D.erased_at.is_(None)
                )
            ).all()
            for row in rows:
                ids.add(str(row.ticket_id))
                text = json.dumps(scrub(json.loads(row.decision)), ensure_ascii=False)
                conn.execute(
                    decisions.update()
                    .where(
                        _D.tenant == row.tenant,
                        _D.ticket_id == row.ticket_id,
                        _D.version == row.version,
                    )
                    .values(decision=text, erased_at=now)
                )
        return ErasedRows(tenants, tuple(sorted(ids)), int(erased), len(rows), int(cancelled))

    @contextmanager
    def _storage(self) -> Iterator[None]:
        try:
            yield
        except SQLAlchemyError as exc:
            raise describe_storage_failure(self.engine, exc) from None
