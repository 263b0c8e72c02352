"""Helpdesk work queue: one job per ticket version, and its decision written once.

Revision ID: 0004_helpdesk_queue
Revises: 0003_pii_vault
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_helpdesk_queue"
down_revision = "0003_pii_vault"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "helpdesk_jobs",
        sa.Column("job_id", sa.String(32), primary_key=True),
        sa.Column("tenant", sa.String(255), nullable=False),
        sa.Column("ticket_id", sa.String(255), nullable=False),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("max_attempts", sa.Integer, nullable=False),
        sa.Column("available_at", sa.String(32), nullable=False),
        sa.Column("lease_owner", sa.String(255)),
        sa.Column("lease_expires_at", sa.String(32)),
        sa.Column("last_error", sa.String(255)),
        sa.Column("payload", sa.Text),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("updated_at", sa.String(32), nullable=False),
        sa.UniqueConstraint("tenant", "ticket_id", "version", name="uq_helpdesk_jobs_ticket"),
    )
    op.create_index("ix_helpdesk_jobs_ready", "helpdesk_jobs", ["state", "available_at"])
    op.create_index("ix_helpdesk_jobs_lease", "helpdesk_jobs", ["state", "lease_expires_at"])
    # The decision of a ticket version: its primary key makes a second decision impossible.
    op.create_table(
        "helpdesk_decisions",
        sa.Column("tenant", sa.String(255), primary_key=True),
        sa.Column("ticket_id", sa.String(255), primary_key=True),
        sa.Column("version", sa.String(64), primary_key=True),
        sa.Column("job_id", sa.String(32), nullable=False, unique=True),
        sa.Column("decision", sa.Text, nullable=False),
        sa.Column("decided_by", sa.String(255), nullable=False),
        sa.Column("decided_at", sa.String(32), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("helpdesk_decisions")
    op.drop_index("ix_helpdesk_jobs_lease", table_name="helpdesk_jobs")
    op.drop_index("ix_helpdesk_jobs_ready", table_name="helpdesk_jobs")
    op.drop_table("helpdesk_jobs")
