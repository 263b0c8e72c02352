"""Knowledge-base catalog: live document versions and hidden (pending or retired) versions.

Revision ID: 0002_kb_catalog
Revises: 0001_audit_log
Create Date: 2026-11-21
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_kb_catalog"
down_revision = "0001_audit_log"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "kb_documents",
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
    op.create_table(
        "kb_hidden_versions",
        sa.Column("kb", sa.String(128), primary_key=True),
        sa.Column("version", sa.String(32), primary_key=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("tenant", sa.String(255), nullable=False),
        sa.Column("doc_id", sa.String(1024), nullable=False),
        sa.Column("since", sa.String(32), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("kb_hidden_versions")
    op.drop_table("kb_documents")
