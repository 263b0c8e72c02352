"""Audit log: events, chain head, signed checkpoints, signing keys.

Revision ID: 0001_audit_log
Revises:
Create Date: 2026-11-21
"""

import sqlalchemy as sa
from alembic import op

revision = "0001_audit_log"
down_revision = None
branch_labels = None
depends_on = None

GENESIS_HASH = "0" * 64


def upgrade() -> None:
    op.create_table(
        "audit_events",
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("ts", sa.String(32), nullable=False),
        sa.Column("actor_subject", sa.String(255)),
        sa.Column("actor_client_id", sa.String(255)),
        sa.Column("roles", sa.Text, nullable=False),
        sa.Column("tenant", sa.String(255)),
        sa.Column("action", sa.String(128), nullable=False),
        sa.Column("resource_type", sa.String(128)),
        sa.Column("resource_id", sa.String(255)),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.Column("request_id", sa.String(64)),
        sa.Column("details", sa.Text, nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.create_index("ix_audit_events_ts", "audit_events", ["ts"])
    op.create_index("ix_audit_events_action", "audit_events", ["action"])
    op.create_index("ix_audit_events_hash", "audit_events", ["hash"])
    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("last_seq", sa.BigInteger, nullable=False),
        sa.Column("last_hash", sa.String(64), nullable=False),
        sa.Column("last_ts", sa.String(32), nullable=False),
        sa.Column("checkpoint_seq", sa.BigInteger, nullable=False),
        sa.Column("checkpoint_ts", sa.String(32), nullable=False),
    )
    op.create_table(
        "audit_checkpoints",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("ts", sa.String(32), nullable=False),
        sa.Column("key_id", sa.String(64), nullable=False),
        sa.Column("signature", sa.String(128), nullable=False),
    )
    op.create_index("ix_audit_checkpoints_seq", "audit_checkpoints", ["seq"])
    op.create_table(
        "audit_keys",
        sa.Column("key_id", sa.String(64), primary_key=True),
        sa.Column("public_key_pem", sa.Text, nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
    )
    head = sa.table(
        "audit_head",
        sa.column("id", sa.Integer),
        sa.column("last_seq", sa.BigInteger),
        sa.column("last_hash", sa.String),
        sa.column("last_ts", sa.String),
        sa.column("checkpoint_seq", sa.BigInteger),
        sa.column("checkpoint_ts", sa.String),
    )
    op.bulk_insert(
        head,
        [
            {
                "id": 1,
                "last_seq": 0,
                "last_hash": GENESIS_HASH,
                "last_ts": "",
                "checkpoint_seq": 0,
                "checkpoint_ts": "",
            }
        ],
    )


def downgrade() -> None:
    for table in ("audit_keys", "audit_checkpoints", "audit_head", "audit_events"):
        op.drop_table(table)
