"""Intake keys: idempotency keys of API clients and webhook delivery ids (migration 0006).

A key is remembered with a hash of the request it came with, so a retry returns the first
answer and a different request under a used key is refused instead of silently ignored.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

intake_keys = sa.Table(
    "helpdesk_intake_keys",
    metadata,
    # idempotency (an API client's Idempotency-Key) | webhook (a sender's delivery id)
    sa.Column("kind", sa.String(16), primary_key=True),
    # idempotency: the client id; webhook: "<system>:<tenant>"
    sa.Column("sender", sa.String(255), primary_key=True),
    sa.Column("key", sa.String(255), primary_key=True),
    sa.Column("tenant", sa.String(255), nullable=False),
    sa.Column("request_sha256", sa.String(64), nullable=False),
    sa.Column("job_id", sa.String(32), nullable=False),
    sa.Column("ticket_id", sa.String(255), nullable=False),
    sa.Column("version", sa.String(64), nullable=False),
    sa.Column("created_at", sa.String(32), nullable=False),
    sa.Index("ix_helpdesk_intake_keys_created", "created_at"),
)
