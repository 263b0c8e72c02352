"""Chat conversations and their turns, for multi-turn memory (migration 0006).

Turns are stored redacted (the input guards' text), never raw. A conversation belongs to a
tenant and a data subject; erasure deletes the subject's turns and stamps the conversation.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

conversations = sa.Table(
    "helpdesk_conversations",
    metadata,
    sa.Column("conversation_id", sa.String(64), primary_key=True),
    sa.Column("tenant", sa.String(255), nullable=False),
    sa.Column("subject_id", sa.String(255)),
    sa.Column("created_at", sa.String(32), nullable=False),
    sa.Column("updated_at", sa.String(32), nullable=False),
    sa.Column("erased_at", sa.String(32)),
    sa.Index("ix_helpdesk_conversations_subject", "tenant", "subject_id"),
)

messages = sa.Table(
    "helpdesk_messages",
    metadata,
    sa.Column("conversation_id", sa.String(64), primary_key=True),
    sa.Column("seq", sa.Integer, primary_key=True),
    sa.Column("role", sa.String(16), nullable=False),  # user | assistant
    sa.Column("content", sa.Text, nullable=False),
    sa.Column("created_at", sa.String(32), nullable=False),
)
