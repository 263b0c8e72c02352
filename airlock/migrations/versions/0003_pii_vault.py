"""PII vault: per-data-subject keys (wrapped by the PII master key) and sealed originals.

Revision ID: 0003_pii_vault
Revises: 0002_kb_catalog
Create Date: 2026-11-21
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_pii_vault"
down_revision = "0002_kb_catalog"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # One row per data subject; deleting it crypto-shreds every original sealed under it.
    op.create_table(
        "pii_vault_keys",
        sa.Column("tenant", sa.String(255), primary_key=True),
        sa.Column("subject_id", sa.String(255), primary_key=True),
        sa.Column("key_id", sa.String(32), nullable=False, unique=True),
        sa.Column("master_key_id", sa.String(32), nullable=False),
        sa.Column("wrapped_key", sa.Text, nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
    )
    op.create_table(
        "pii_vault_entries",
        sa.Column("key_id", sa.String(32), primary_key=True),
        sa.Column("scope", sa.String(255), primary_key=True),
        sa.Column("placeholder", sa.String(128), primary_key=True),
        sa.Column("entity_type", sa.String(64), nullable=False),
        sa.Column("value_mac", sa.String(64), nullable=False),
        sa.Column("sealed", sa.Text, nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("pii_vault_entries")
    op.drop_table("pii_vault_keys")
