"""Reading the audit log: ordered streams, time windows, tail and follow."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection, Engine

from audit import schema
from audit.events import AuditRecord

STREAM_BATCH = 5000


def iter_rows(
    conn: Connection, *, first_seq: int | None = None, last_seq: int | None = None
) -> Iterator[sa.Row[Any]]:
    """Stored rows in seq order (schema.EVENT_COLUMNS), streamed in batches."""
    query = sa.select(*schema.events.columns).order_by(schema.events.c.seq)
    if first_seq is not None:
        query = query.where(schema.events.c.seq >= first_seq)
    if last_seq is not None:
        query = query.where(schema.events.c.seq <= last_seq)
    # Options on the statement, not the connection: Connection.execution_options mutates it.
    yield from conn.execute(query.execution_options(stream_results=True, yield_per=STREAM_BATCH))


def get_row(conn: Connection, seq: int) -> sa.Row[Any] | None:
    """One stored row by sequence number."""
    query = sa.select(*schema.events.columns).where(schema.events.c.seq == seq)
    return conn.execute(query).first()


def get_seq_window(
    conn: Connection, since: str | None = None, until: str | None = None
) -> tuple[int, int] | None:
    """First and last seq of the events with since <= ts < until (timestamps are monotonic)."""
    seq, ts = schema.events.c.seq, schema.events.c.ts
    query = sa.select(sa.func.min(seq), sa.func.max(seq))
    if since:
        query = query.where(ts >= since)
    if until:
        query = query.where(ts < until)
    first, last = conn.execute(query).one()
    return None if first is None else (int(first), int(last))


def fetch_tail(engine: Engine, count: int) -> list[AuditRecord]:
    """The last `count` events, oldest first."""
    query = sa.select(*schema.events.columns).order_by(schema.events.c.seq.desc()).limit(count)
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    return [AuditRecord.from_row(row) for row in reversed(rows)]


def follow(engine: Engine, after_seq: int, *, poll_s: float = 1.0) -> Iterator[AuditRecord]:
    """Yield events appended after `after_seq`, polling until the caller stops iterating."""
    while True:
        with engine.connect() as conn:
            rows = list(iter_rows(conn, first_seq=after_seq + 1))
        for row in rows:
            after_seq = row.seq
            yield AuditRecord.from_row(row)
        if not rows:
            time.sleep(poll_s)
