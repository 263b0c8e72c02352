"""Helpdesk behind the API: intake keys, escalations, chat memory, the decision's action.

Revision ID: 0006_helpdesk_api
Revises: 0005_helpdesk_subjects
Create Date: 2026-11-21
"""

import json

import sqlalchemy as sa
from alembic import op

revision = "0006_helpdesk_api"
down_revision = "0005_helpdesk_subjects"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "helpdesk_intake_keys",
        sa.Column("kind", sa.String(16), primary_key=True),
        sa.Column("sender", sa.String(255), primary_key=True),
        sa.Column("key", sa.String(255), primary_key=True),
        sa.Column("tenant", sa.String(255), nullable=False),
        sa.Column("request_sha256", sa.String(64), nullable=False),
        sa.Column("job_id", sa.String(32), nullable=False),
        sa.Column("ticket_id", sa.String(255), nullable=False),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
    )
    op.create_index("ix_helpdesk_intake_keys_created", "helpdesk_intake_keys", ["created_at"])
    _create_escalations()
    _create_chat()
    # Analytics count decisions by action without parsing every stored record.
    with op.batch_alter_table("helpdesk_decisions") as batch:
        batch.add_column(sa.Column("action", sa.String(16)))
    op.create_index(
        "ix_helpdesk_decisions_action", "helpdesk_decisions", ["tenant", "action", "decided_at"]
    )
    _backfill_actions()


def _create_escalations() -> None:
    op.create_table(
        "helpdesk_escalations",
        sa.Column("escalation_id", sa.String(32), primary_key=True),
        sa.Column("tenant", sa.String(255), nullable=False),
        sa.Column("ticket_id", sa.String(255), nullable=False),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("subject_id", sa.String(255)),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("priority", sa.String(8), nullable=False),
        sa.Column("team", sa.String(64), nullable=False),
        sa.Column("queue", sa.String(64), nullable=False),
        sa.Column("intent", sa.String(64)),
        sa.Column("reasons", sa.Text, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("received_at", sa.String(32)),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("claimed_by", sa.String(255)),
        sa.Column("claimed_at", sa.String(32)),
        sa.Column("resolved_by", sa.String(255)),
        sa.Column("resolved_at", sa.String(32)),
        sa.Column("feedback", sa.String(16)),
        sa.Column("corrected_intent", sa.String(64)),
        sa.Column("final_reply", sa.Text),
        sa.Column("erased_at", sa.String(32)),
    )
    op.create_index(
        "ix_helpdesk_escalations_queue",
        "helpdesk_escalations",
        ["tenant", "state", "created_at"],
    )
    op.create_index(
        "ix_helpdesk_escalations_subject", "helpdesk_escalations", ["tenant", "subject_id"]
    )


def _create_chat() -> None:
    op.create_table(
        "helpdesk_conversations",
        sa.Column("conversation_id", sa.String(64), primary_key=True),
        sa.Column("tenant", sa.String(255), nullable=False),
        sa.Column("subject_id", sa.String(255)),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("updated_at", sa.String(32), nullable=False),
        sa.Column("erased_at", sa.String(32)),
    )
    op.create_index(
        "ix_helpdesk_conversations_subject",
        "helpdesk_conversations",
        ["tenant", "subject_id"],
    )
    op.create_table(
        "helpdesk_messages",
        sa.Column("conversation_id", sa.String(64), primary_key=True),
        sa.Column("seq", sa.Integer, primary_key=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("content", sa.Text, nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
    )


def _backfill_actions() -> None:
    bind = op.get_bind()
    table = sa.table(
        "helpdesk_decisions",
        sa.column("job_id", sa.String),
        sa.column("decision", sa.Text),
        sa.column("action", sa.String),
    )
    rows = bind.execute(sa.select(table.c.job_id, table.c.decision)).all()
    for job_id, text in rows:
        action = json.loads(text).get("decision", {}).get("action")
        bind.execute(sa.update(table).where(table.c.job_id == job_id).values(action=action))


def downgrade() -> None:
    op.drop_index("ix_helpdesk_decisions_action", table_name="helpdesk_decisions")
    with op.batch_alter_table("helpdesk_decisions") as batch:
        batch.drop_column("action")
    op.drop_table("helpdesk_messages")
    op.drop_index("ix_helpdesk_conversations_subject", table_name="helpdesk_conversations")
    op.drop_table("helpdesk_conversations")
    op.drop_index("ix_helpdesk_escalations_subject", table_name="helpdesk_escalations")
    op.drop_index("ix_helpdesk_escalations_queue", table_name="helpdesk_escalations")
    op.drop_table("helpdesk_escalations")
    op.drop_index("ix_helpdesk_intake_keys_created", table_name="helpdesk_intake_keys")
    op.drop_table("helpdesk_intake_keys")
