"""Escalations: decided tickets that wait for a human agent (migration 0006).

One row per escalated or needs-info decision, keyed by the decision's job id. The agent's final
reply is the data subject's text: erasure clears it and stamps `erased_at`.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

escalations = sa.Table(
    "helpdesk_escalations",
    metadata,
    sa.Column("escalation_id", sa.String(32), primary_key=True),  # the decision's job id
    sa.Column("tenant", sa.String(255), nullable=False),
    sa.Column("ticket_id", sa.String(255), nullable=False),
    sa.Column("version", sa.String(64), nullable=False),
    sa.Column("subject_id", sa.String(255)),
    sa.Column("action", sa.String(16), nullable=False),  # escalate | needs_info
    sa.Column("severity", sa.String(16), nullable=False),
    sa.Column("priority", sa.String(8), nullable=False),
    sa.Column("team", sa.String(64), nullable=False),
    sa.Column("queue", sa.String(64), nullable=False),
    sa.Column("intent", sa.String(64)),
    sa.Column("reasons", sa.Text, nullable=False),  # JSON list of reason codes
    # open | claimed | resolved
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("received_at", sa.String(32)),
    sa.Column("created_at", sa.String(32), nullable=False),
    sa.Column("claimed_by", sa.String(255)),
    sa.Column("claimed_at", sa.String(32)),
    sa.Column("resolved_by", sa.String(255)),
    sa.Column("resolved_at", sa.String(32)),
    sa.Column("feedback", sa.String(16)),  # used | edited | rejected
    sa.Column("corrected_intent", sa.String(64)),
    sa.Column("final_reply", sa.Text),
    sa.Column("erased_at", sa.String(32)),
    sa.Index("ix_helpdesk_escalations_queue", "tenant", "state", "created_at"),
    sa.Index("ix_helpdesk_escalations_subject", "tenant", "subject_id"),
)
