"""Helpdesk: the data subject of each job and decision, and what repeat counting reads.

Revision ID: 0005_helpdesk_subjects
Revises: 0004_helpdesk_queue
Create Date: 2026-11-21
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_helpdesk_subjects"
down_revision = "0004_helpdesk_queue"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Erasure finds a subject's tickets by these columns, never by reading payloads.
    with op.batch_alter_table("helpdesk_jobs") as batch:
        batch.add_column(sa.Column("subject_id", sa.String(255)))
    op.create_index("ix_helpdesk_jobs_subject", "helpdesk_jobs", ["tenant", "subject_id"])
    # Repeat counting: a customer's decided tickets of one intent within a time window.
    with op.batch_alter_table("helpdesk_decisions") as batch:
        batch.add_column(sa.Column("subject_id", sa.String(255)))
        batch.add_column(sa.Column("intent", sa.String(64)))
        batch.add_column(sa.Column("received_at", sa.String(32)))
        batch.add_column(sa.Column("erased_at", sa.String(32)))
    op.create_index(
        "ix_helpdesk_decisions_subject",
        "helpdesk_decisions",
        ["tenant", "subject_id", "received_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_helpdesk_decisions_subject", table_name="helpdesk_decisions")
    with op.batch_alter_table("helpdesk_decisions") as batch:
        for column in ("erased_at", "received_at", "intent", "subject_id"):
            batch.drop_column(column)
    op.drop_index("ix_helpdesk_jobs_subject", table_name="helpdesk_jobs")
    with op.batch_alter_table("helpdesk_jobs") as batch:
        batch.drop_column("subject_id")
