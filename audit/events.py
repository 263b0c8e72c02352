"""Audit event values: what callers append and what the log stores."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

Outcome = Literal["success", "failure", "denied", "error"]
OUTCOMES: tuple[str, ...] = ("success", "failure", "denied", "error")


@dataclass(frozen=True, slots=True)
class Actor:
    """Who did it: the token subject and the OAuth client, or the local operator/process."""

    subject: str | None = None
    client_id: str | None = None


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """One thing that happened. `details` must hold redacted values or hashes, never raw PII."""

    action: str
    outcome: Outcome = "success"
    actor: Actor = field(default_factory=Actor)
    roles: Sequence[str] = ()
    tenant: str | None = None
    resource_type: str | None = None
    resource_id: str | None = None
    request_id: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """A stored event: the event plus its position in the chain."""

    seq: int
    ts: str
    actor_subject: str | None
    actor_client_id: str | None
    roles: tuple[str, ...]
    tenant: str | None
    action: str
    resource_type: str | None
    resource_id: str | None
    outcome: str
    request_id: str | None
    details: dict[str, Any]
    prev_hash: str
    hash: str

    @classmethod
    def from_row(cls, row: Sequence[Any]) -> AuditRecord:
        """Build from a row in schema.EVENT_COLUMNS order (roles/details as JSON text)."""
        values = list(row)
        values[4] = tuple(json.loads(values[4]))
        values[11] = json.loads(values[11])
        return cls(*values)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data, field order as stored."""
        return {name: getattr(self, name) for name in self.__slots__} | {"roles": list(self.roles)}
