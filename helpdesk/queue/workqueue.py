"""The durable work queue: tickets stored as jobs, leased by workers, decided exactly once.

A lease is fenced by the job's attempt number: every lease increments `attempts`, and
`complete`/`fail` only change a row that is still leased to the same owner at the same attempt.
A worker whose lease expired and was taken over therefore cannot complete or fail the job.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from airlock.db import describe_storage_failure, write_transaction
from helpdesk.queue.errors import WorkQueueError
from helpdesk.queue.rows import (
    LEASE_EXPIRED,
    PAYLOAD_ERASED,
    dumps_json,
    find_job,
    format_ts,
    held_by,
    parse_ts,
    ready_query,
    requeue_values,
    set_dead,
    short_error,
    take_job,
    utc_now,
)
from helpdesk.queue.schema import decisions, jobs
from helpdesk.queue.types import (
    DecisionKeys,
    Job,
    JobRef,
    JobState,
    JobStatus,
    QueuedTicket,
    QueueStats,
)

log = logging.getLogger(__name__)
_C = jobs.c


class WorkQueue:
    """Jobs in the relational store; any number of worker threads or processes may share it."""

    def __init__(
        self,
        engine: Engine,
        *,
        max_attempts: int = 5,
        backoff_base_s: float = 1.0,
        backoff_max_s: float = 300.0,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        if max_attempts < 1 or backoff_base_s < 0 or backoff_max_s < backoff_base_s:
            raise WorkQueueError(
                f"bad queue settings (max_attempts={max_attempts}, "
                f"backoff_base_s={backoff_base_s}, backoff_max_s={backoff_max_s})",
                remedy="use max_attempts >= 1 and 0 <= backoff_base_s <= backoff_max_s",
            )
        self.engine = engine
        self.max_attempts = max_attempts
        self.backoff_base_s = backoff_base_s
        self.backoff_max_s = backoff_max_s
        self._clock = clock

    def enqueue(
        self,
        ticket: QueuedTicket,
        *,
        on_created: Callable[[Connection, JobRef], None] | None = None,
    ) -> JobRef:
        """Store the ticket as a job; the same tenant/ticket/version returns the existing job.

        `on_created` runs in the job's transaction when the job is new (its receipt's audit
        event commits with it, or neither does).
        """
        payload = dumps_json(ticket.payload, what="ticket payload")
        with self._storage():
            try:
                with write_transaction(self.engine) as conn:
                    found = find_job(conn, ticket)
                    if found is not None:
                        return found
                    ref = self._insert(conn, ticket, payload)
                    if on_created is not None:
                        on_created(conn, ref)
            except IntegrityError:
                # PostgreSQL: another writer inserted the same version between our look and ours.
                with self.engine.connect() as conn:
                    found = find_job(conn, ticket)
                if found is None:
                    raise
                return found
        log.info("job enqueued", extra={"job_id": ref.job_id})
        return ref

    def lease(self, owner: str, lease_s: float, only: Collection[str] | None = None) -> Job | None:
        """Take the next available job (queued and due, or with an expired lease) for `lease_s`.

        `only` limits the choice to those job ids (a batch working off its own tickets).
        """
        if lease_s <= 0:
            raise WorkQueueError(f"lease_s must be positive, not {lease_s}", remedy="pass > 0")
        with self._storage(), write_transaction(self.engine) as conn:
            now = self._clock()  # read under the lock: waiting for it must not age the lease
            while True:
                row = conn.execute(ready_query(format_ts(now), only)).mappings().first()
                if row is None:
                    return None
                if row["state"] == "leased" and row["attempts"] >= row["max_attempts"]:
                    # The last allowed attempt died with its worker: dead-letter, look again.
                    set_dead(conn, row["job_id"], LEASE_EXPIRED, now)
                    log.warning("job dead-lettered", extra={"job_id": row["job_id"]})
                    continue
                job = take_job(conn, row, owner, now, lease_s)
                break
        log.info("job leased", extra={"job_id": job.job_id, "attempt": job.attempt})
        return job

    def complete(
        self, job: Job, decision: Mapping[str, Any], keys: DecisionKeys | None = None
    ) -> bool:
        """Mark the job done and store its decision once; False when the lease is no longer ours."""
        text = dumps_json(decision, what="decision")
        keys = keys or DecisionKeys()
        with self._storage(), write_transaction(self.engine) as conn:
            now = format_ts(self._clock())
            result = conn.execute(
                jobs.update()
                .where(*held_by(job))
                .values(state="done", lease_expires_at=None, updated_at=now)
            )
            if result.rowcount != 1:
                log.warning("late completion rejected", extra={"job_id": job.job_id})
                return False
            conn.execute(
                decisions.insert().values(
                    tenant=job.tenant,
                    ticket_id=job.ticket_id,
                    version=job.version,
                    job_id=job.job_id,
                    decision=text,
                    decided_by=job.owner,
                    decided_at=now,
                    subject_id=job.subject_id,
                    intent=keys.intent,
                    received_at=keys.received_at or now,
                    action=keys.action,
                )
            )
        log.info("job done", extra={"job_id": job.job_id, "attempt": job.attempt})
        return True

    def extend(self, job: Job, lease_s: float) -> bool:
        """Move a held lease's expiry to `lease_s` from now; False when the lease is not ours."""
        with self._storage(), write_transaction(self.engine) as conn:
            now = self._clock()
            expires = format_ts(now + timedelta(seconds=lease_s))
            result = conn.execute(
                jobs.update()
                .where(*held_by(job))
                .values(lease_expires_at=expires, updated_at=format_ts(now))
            )
        return bool(result.rowcount == 1)

    def fail(self, job: Job, error: str) -> JobState | None:
        """Retry later (exponential backoff) or dead-letter; None when the lease is not ours."""
        reason = short_error(error)
        with self._storage(), write_transaction(self.engine) as conn:
            now = self._clock()
            query = sa.select(_C.max_attempts).where(*held_by(job)).with_for_update()
            max_attempts = conn.execute(query).scalar()
            if max_attempts is None:
                log.warning("late failure ignored", extra={"job_id": job.job_id})
                return None
            if job.attempt >= max_attempts:
                set_dead(conn, job.job_id, reason, now)
                state: JobState = "dead"
            else:
                retry_at = now + timedelta(seconds=self.backoff_s(job.attempt))
                conn.execute(
                    jobs.update()
                    .where(_C.job_id == job.job_id)
                    .values(
                        state="queued",
                        available_at=format_ts(retry_at),
                        lease_owner=None,
                        lease_expires_at=None,
                        last_error=reason,
                        updated_at=format_ts(now),
                    )
                )
                state = "queued"
        log.warning("job failed", extra={"job_id": job.job_id, "state": state})
        return state

    def backoff_s(self, attempt: int) -> float:
        """Seconds before a job that failed its `attempt`-th lease may be leased again."""
        return float(min(self.backoff_max_s, self.backoff_base_s * 2 ** max(attempt - 1, 0)))

    def recover(self) -> int:
        """Return expired leases to the queue (dead when their attempts are spent); count them."""
        now = self._clock()
        stamp = format_ts(now)
        query = (
            sa.select(_C.job_id, _C.attempts, _C.max_attempts)
            .where(_C.state == "leased", _C.lease_expires_at <= stamp)
            .with_for_update(skip_locked=True)
        )
        with self._storage(), write_transaction(self.engine) as conn:
            expired = conn.execute(query).all()
            for job_id, attempts, max_attempts in expired:
                if attempts >= max_attempts:
                    set_dead(conn, job_id, LEASE_EXPIRED, now)
                else:
                    conn.execute(
                        jobs.update().where(_C.job_id == job_id).values(**requeue_values(stamp))
                    )
        for job_id, *_ in expired:
            log.warning("expired lease recovered", extra={"job_id": job_id})
        return len(expired)

    def erase_ticket(self, tenant: str, ticket_id: str) -> int:
        """Blank the stored ticket text of every version; jobs not yet leased become dead."""
        mine = (_C.tenant == tenant, _C.ticket_id == ticket_id)
        now = format_ts(self._clock())
        with self._storage(), write_transaction(self.engine) as conn:
            conn.execute(
                jobs.update()
                .where(*mine, _C.state == "queued")
                .values(state="dead", last_error=PAYLOAD_ERASED, updated_at=now)
            )
            result = conn.execute(
                jobs.update()
                .where(*mine, _C.payload.is_not(None))
                .values(payload=None, updated_at=now)
            )
        return int(result.rowcount)

    def get_status(self, job_id: str) -> JobStatus | None:
        """Where one job stands, or None when there is no such job."""
        with self._storage(), self.engine.connect() as conn:
            row = conn.execute(sa.select(jobs).where(_C.job_id == job_id)).mappings().first()
        if row is None:
            return None
        fields = {name: row[name] for name in JobStatus.__dataclass_fields__ if name in row}
        return JobStatus(**fields, erased=row["payload"] is None)

    def find_latest(self, tenant: str, ticket_id: str) -> tuple[str, JobStatus] | None:
        """The newest version of a tenant's ticket and where its job stands (None: unknown)."""
        query = (
            sa.select(_C.version, _C.job_id)
            .where(_C.tenant == tenant, _C.ticket_id == ticket_id)
            .order_by(_C.created_at.desc(), _C.job_id.desc())
            .limit(1)
        )
        with self._storage(), self.engine.connect() as conn:
            row = conn.execute(query).first()
        if row is None:
            return None
        status = self.get_status(row.job_id)
        return (row.version, status) if status is not None else None

    def get_oldest_due_age_s(self) -> float:
        """How long the oldest due queued job has waited, in seconds (0 when none waits)."""
        now = self._clock()
        query = sa.select(sa.func.min(_C.available_at)).where(
            _C.state == "queued", _C.available_at <= format_ts(now)
        )
        with self._storage(), self.engine.connect() as conn:
            oldest = conn.execute(query).scalar()
        if oldest is None:
            return 0.0
        return max(0.0, (now - parse_ts(str(oldest))).total_seconds())

    def get_decision(self, tenant: str, ticket_id: str, version: str) -> dict[str, Any] | None:
        """The stored decision of one ticket version, or None before it is decided."""
        d = decisions.c
        query = sa.select(d.decision).where(
            d.tenant == tenant, d.ticket_id == ticket_id, d.version == version
        )
        with self._storage(), self.engine.connect() as conn:
            text = conn.execute(query).scalar()
        return None if text is None else cast(dict[str, Any], json.loads(text))

    def stats(self) -> QueueStats:
        """Jobs per state, and how many leases have expired."""
        stamp = format_ts(self._clock())
        expired = sa.func.sum(
            sa.case((sa.and_(_C.state == "leased", _C.lease_expires_at <= stamp), 1), else_=0)
        )
        query = sa.select(_C.state, sa.func.count(), expired).group_by(_C.state)
        with self._storage(), self.engine.connect() as conn:
            rows = conn.execute(query).all()
        counts = {str(state): int(count) for state, count, _ in rows}
        return QueueStats(**counts, expired=sum(int(n or 0) for *_, n in rows))

    def _insert(self, conn: Connection, ticket: QueuedTicket, payload: str) -> JobRef:
        now = format_ts(self._clock())
        job_id = uuid.uuid4().hex
        conn.execute(
            jobs.insert().values(
                job_id=job_id,
                tenant=ticket.tenant,
                ticket_id=ticket.ticket_id,
                version=ticket.version,
                state="queued",
                attempts=0,
                max_attempts=self.max_attempts,
                available_at=now,
                payload=payload,
                subject_id=ticket.subject_id,
                created_at=now,
                updated_at=now,
            )
        )
        return JobRef(job_id, ticket.tenant, ticket.ticket_id, ticket.version, "queued", True)

    @contextmanager
    def _storage(self) -> Iterator[None]:
        try:
            yield
        except SQLAlchemyError as exc:
            raise describe_storage_failure(self.engine, exc) from None
