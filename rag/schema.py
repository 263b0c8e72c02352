"""Knowledge-base catalog tables (created by airlock/migrations, revision 0002).

Milvus holds the chunks; the relational store says which version of each document is live,
so that a changed document can be swapped without a moment where search sees both or neither.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

documents = sa.Table(
    "kb_documents",
    metadata,
    sa.Column("kb", sa.String(128), primary_key=True),
    sa.Column("tenant", sa.String(255), primary_key=True),
    sa.Column("doc_id", sa.String(1024), primary_key=True),
    sa.Column("version", sa.String(32), nullable=False),
    sa.Column("content_hash", sa.String(64), nullable=False),
    sa.Column("chunk_count", sa.Integer, nullable=False),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("acl", sa.Text, nullable=False),
    sa.Column("subject_ids", sa.Text, nullable=False),
    sa.Column("language", sa.String(16), nullable=False),
    sa.Column("updated_at", sa.String(32), nullable=False),
)

# Versions whose chunks are in Milvus but must not be seen: "pending" (being written) or
# "retired" (replaced or deleted, not yet removed from Milvus). Usually empty.
hidden_versions = sa.Table(
    "kb_hidden_versions",
    metadata,
    sa.Column("kb", sa.String(128), primary_key=True),
    sa.Column("version", sa.String(32), primary_key=True),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("tenant", sa.String(255), nullable=False),
    sa.Column("doc_id", sa.String(1024), nullable=False),
    sa.Column("since", sa.String(32), nullable=False),
)
