"""Statements on the job table that the queue's operations share, and the queue's time format."""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy import Connection

from helpdesk.queue.errors import WorkQueueError
from helpdesk.queue.schema import jobs
from helpdesk.queue.types import Job, JobRef, JobState, QueuedTicket

TS_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
MAX_ERROR_CHARS = 200
LEASE_EXPIRED = "lease expired"
PAYLOAD_ERASED = "payload erased"
_C = jobs.c


def format_ts(moment: datetime) -> str:
    """Fixed-width UTC timestamp whose string order is its time order (the audit convention)."""
    return moment.astimezone(UTC).strftime(TS_FORMAT)


def parse_ts(stamp: str) -> datetime:
    """A `format_ts` stamp back into an aware UTC datetime."""
    return datetime.strptime(stamp, TS_FORMAT).replace(tzinfo=UTC)


def utc_now() -> datetime:
    """The current UTC time."""
    return datetime.now(UTC)


def short_error(error: str) -> str:
    """The first line of an error, cut to MAX_ERROR_CHARS (a reason, not a transcript)."""
    lines = error.strip().splitlines()
    first = lines[0] if lines else "error"
    return first if len(first) <= MAX_ERROR_CHARS else first[: MAX_ERROR_CHARS - 1] + "…"


def dumps_json(value: Mapping[str, Any], *, what: str) -> str:
    """Canonical JSON of a mapping; WorkQueueError when it holds non-JSON values."""
    try:
        return json.dumps(dict(value), sort_keys=True, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise WorkQueueError(
            f"{what} is not JSON ({type(exc).__name__})", remedy="pass plain JSON values"
        ) from None


def find_job(conn: Connection, ticket: QueuedTicket) -> JobRef | None:
    """The job of a ticket version, or None when it was never queued."""
    query = sa.select(_C.job_id, _C.state).where(
        _C.tenant == ticket.tenant, _C.ticket_id == ticket.ticket_id, _C.version == ticket.version
    )
    row = conn.execute(query).first()
    if row is None:
        return None
    state = cast(JobState, row.state)
    return JobRef(row.job_id, ticket.tenant, ticket.ticket_id, ticket.version, state, False)


def ready_query(stamp: str, only: Collection[str] | None = None) -> sa.Select[Any]:
    """The next job that is due or whose lease has expired (of `only`), locked for taking."""
    due = sa.or_(
        sa.and_(_C.state == "queued", _C.available_at <= stamp),
        sa.and_(_C.state == "leased", _C.lease_expires_at <= stamp),
    )
    if only is not None:
        due = sa.and_(due, _C.job_id.in_(list(only)))
    # PostgreSQL: workers skip each other's candidate rows; SQLite: the write lock serializes.
    return (
        sa.select(jobs)
        .where(due)
        .order_by(_C.available_at, _C.created_at)
        .limit(1)
        .with_for_update(skip_locked=True)
    )


def take_job(
    conn: Connection, row: sa.RowMapping, owner: str, now: datetime, lease_s: float
) -> Job:
    """Lease the row to `owner` (one more attempt) and return the leased job."""
    attempt = int(row["attempts"]) + 1
    expires = format_ts(now + timedelta(seconds=lease_s))
    error = LEASE_EXPIRED if row["state"] == "leased" else row["last_error"]
    conn.execute(
        jobs.update()
        .where(_C.job_id == row["job_id"])
        .values(
            state="leased",
            attempts=attempt,
            lease_owner=owner,
            lease_expires_at=expires,
            last_error=error,
            updated_at=format_ts(now),
        )
    )
    payload = None if row["payload"] is None else json.loads(row["payload"])
    return Job(
        job_id=row["job_id"],
        tenant=row["tenant"],
        ticket_id=row["ticket_id"],
        version=row["version"],
        attempt=attempt,
        max_attempts=int(row["max_attempts"]),
        owner=owner,
        lease_expires_at=expires,
        payload=payload,
        subject_id=row["subject_id"],
    )


def held_by(job: Job) -> tuple[sa.ColumnElement[bool], ...]:
    """Conditions that hold while `job`'s lease is the current one (the fence)."""
    return (
        _C.job_id == job.job_id,
        _C.state == "leased",
        _C.lease_owner == job.owner,
        _C.attempts == job.attempt,
    )


def requeue_values(stamp: str) -> dict[str, Any]:
    """Column values that put an expired lease back in the queue now."""
    return {
        "state": "queued",
        "available_at": stamp,
        "lease_owner": None,
        "lease_expires_at": None,
        "last_error": LEASE_EXPIRED,
        "updated_at": stamp,
    }


def set_dead(conn: Connection, job_id: str, reason: str, now: datetime) -> None:
    """Dead-letter a job with a short reason."""
    conn.execute(
        jobs.update()
        .where(_C.job_id == job_id)
        .values(
            state="dead",
            lease_expires_at=None,
            last_error=short_error(reason),
            updated_at=format_ts(now),
        )
    )
