"""Tables of the PII vault (created by migration 0003_pii_vault; this is their declaration)."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

# One row per data subject; deleting it crypto-shreds every original sealed under it.
VAULT_KEYS = sa.Table(
    "pii_vault_keys",
    metadata,
    sa.Column("tenant", sa.String(255), primary_key=True),
    sa.Column("subject_id", sa.String(255), primary_key=True),
    sa.Column("key_id", sa.String(32), nullable=False, unique=True),
    sa.Column("master_key_id", sa.String(32), nullable=False),
    sa.Column("wrapped_key", sa.Text, nullable=False),
    sa.Column("created_at", sa.String(32), nullable=False),
)
# Sealed originals, by the subject key's id, the scope (a ticket) and the placeholder.
VAULT_ENTRIES = sa.Table(
    "pii_vault_entries",
    metadata,
    sa.Column("key_id", sa.String(32), primary_key=True),
    sa.Column("scope", sa.String(255), primary_key=True),
    sa.Column("placeholder", sa.String(128), primary_key=True),
    sa.Column("entity_type", sa.String(64), nullable=False),
    sa.Column("value_mac", sa.String(64), nullable=False),
    sa.Column("sealed", sa.Text, nullable=False),
    sa.Column("created_at", sa.String(32), nullable=False),
)
