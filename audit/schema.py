"""Audit tables as SQLAlchemy Core objects (created by airlock/migrations, revision 0001)."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

events = sa.Table(
    "audit_events",
    metadata,
    sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("ts", sa.String(32), nullable=False, index=True),
    sa.Column("actor_subject", sa.String(255)),
    sa.Column("actor_client_id", sa.String(255)),
    sa.Column("roles", sa.Text, nullable=False),
    sa.Column("tenant", sa.String(255)),
    sa.Column("action", sa.String(128), nullable=False, index=True),
    sa.Column("resource_type", sa.String(128)),
    sa.Column("resource_id", sa.String(255)),
    sa.Column("outcome", sa.String(32), nullable=False),
    sa.Column("request_id", sa.String(64)),
    sa.Column("details", sa.Text, nullable=False),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False, index=True),
)

head = sa.Table(
    "audit_head",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("last_seq", sa.BigInteger, nullable=False),
    sa.Column("last_hash", sa.String(64), nullable=False),
    sa.Column("last_ts", sa.String(32), nullable=False),
    sa.Column("checkpoint_seq", sa.BigInteger, nullable=False),
    sa.Column("checkpoint_ts", sa.String(32), nullable=False),
)

checkpoints = sa.Table(
    "audit_checkpoints",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("seq", sa.BigInteger, nullable=False, index=True),
    sa.Column("hash", sa.String(64), nullable=False),
    sa.Column("ts", sa.String(32), nullable=False),
    sa.Column("key_id", sa.String(64), nullable=False),
    sa.Column("signature", sa.String(128), nullable=False),
)

keys = sa.Table(
    "audit_keys",
    metadata,
    sa.Column("key_id", sa.String(64), primary_key=True),
    sa.Column("public_key_pem", sa.Text, nullable=False),
    sa.Column("created_at", sa.String(32), nullable=False),
)

# Column order of a stored event; the chain hash covers all of them but `hash`.
EVENT_COLUMNS = tuple(c.name for c in events.columns)
