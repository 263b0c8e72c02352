"""The audit log over HTTP: events, verification reports."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class AuditEventOut(BaseModel):
    """One stored event with its place in the hash chain (details are redacted or hashed)."""

    seq: int
    ts: str
    actor_subject: str | None
    actor_client_id: str | None
    roles: list[str]
    tenant: str | None
    action: str
    resource_type: str | None
    resource_id: str | None
    outcome: str
    request_id: str | None
    details: dict[str, Any]
    prev_hash: str
    hash: str


class AuditEventPage(BaseModel):
    """A page of the tenant's events in seq order."""

    events: list[AuditEventOut]
    next_cursor: int | None = Field(
        None, description="Pass as ?after= for the next page; null on the last page."
    )


class DamageOut(BaseModel):
    """The first problem found in the chain."""

    seq: int
    kind: str = Field(description="modified_event, deleted_event, reordered_events, ...")
    detail: str


class VerifyResult(BaseModel):
    """Outcome of verifying the whole chain against the signing key's public half."""

    ok: bool
    events_checked: int
    first_seq: int | None
    last_seq: int | None
    checkpoints_checked: int
    last_checkpoint_seq: int | None
    pruned_through_seq: int | None
    key_id: str = Field(description="SHA-256 of the public key the checkpoints were checked with.")
    damage: DamageOut | None = None
