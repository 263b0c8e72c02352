"""Work-queue tables (created by airlock/migrations, revisions 0004-0006; declared here).

One job per (tenant, ticket_id, version); the decision of a ticket version is a separate row
under the same key, so the database itself refuses a second decision.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

jobs = sa.Table(
    "helpdesk_jobs",
    metadata,
    sa.Column("job_id", sa.String(32), primary_key=True),
    sa.Column("tenant", sa.String(255), nullable=False),
    sa.Column("ticket_id", sa.String(255), nullable=False),
    sa.Column("version", sa.String(64), nullable=False),
    # queued | leased | done | dead
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("max_attempts", sa.Integer, nullable=False),
    sa.Column("available_at", sa.String(32), nullable=False),
    sa.Column("lease_owner", sa.String(255)),
    sa.Column("lease_expires_at", sa.String(32)),
    sa.Column("last_error", sa.String(255)),
    # The ticket as received (JSON); NULL once erased for its data subject.
    sa.Column("payload", sa.Text),
    # The data subject (customer id) the ticket concerns: erasure finds jobs by it (rev. 0005).
    sa.Column("subject_id", sa.String(255)),
    sa.Column("created_at", sa.String(32), nullable=False),
    sa.Column("updated_at", sa.String(32), nullable=False),
    sa.UniqueConstraint("tenant", "ticket_id", "version", name="uq_helpdesk_jobs_ticket"),
    sa.Index("ix_helpdesk_jobs_ready", "state", "available_at"),
    sa.Index("ix_helpdesk_jobs_lease", "state", "lease_expires_at"),
    sa.Index("ix_helpdesk_jobs_subject", "tenant", "subject_id"),
)

decisions = sa.Table(
    "helpdesk_decisions",
    metadata,
    sa.Column("tenant", sa.String(255), primary_key=True),
    sa.Column("ticket_id", sa.String(255), primary_key=True),
    sa.Column("version", sa.String(64), primary_key=True),
    sa.Column("job_id", sa.String(32), nullable=False, unique=True),
    sa.Column("decision", sa.Text, nullable=False),
    sa.Column("decided_by", sa.String(255), nullable=False),
    sa.Column("decided_at", sa.String(32), nullable=False),
    # Revision 0005: who and what (repeat counting), when received, and when its text was erased.
    sa.Column("subject_id", sa.String(255)),
    sa.Column("intent", sa.String(64)),
    sa.Column("received_at", sa.String(32)),
    sa.Column("erased_at", sa.String(32)),
    # Revision 0006: the decision's action (auto_reply | escalate | needs_info), for analytics.
    sa.Column("action", sa.String(16)),
    sa.Index("ix_helpdesk_decisions_subject", "tenant", "subject_id", "received_at"),
    sa.Index("ix_helpdesk_decisions_action", "tenant", "action", "decided_at"),
)
