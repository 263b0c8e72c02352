"""System-neutral write-back values and the webhook field readers the parsers share."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from pydantic import ValidationError

from helpdesk.errors import ConnectorError, TicketError
from helpdesk.tickets import Customer, ExternalRef, Ticket

PRIORITIES = ("P1", "P2", "P3", "P4")
_TAG_UNSAFE = re.compile(r"[^a-z0-9_:.-]+")


@dataclass(frozen=True)
class WriteBack:
    """What Airlock writes back for one ticket version, whatever the system."""

    ticket_id: str
    version: str
    external_id: str
    body: str = ""
    public: bool = False
    tags: tuple[str, ...] = ()
    priority: str | None = None
    queue: str | None = None
    escalated: bool = False

    def __post_init__(self) -> None:
        """Refuse a priority outside P1..P4 and an empty external id."""
        if self.priority is not None and self.priority not in PRIORITIES:
            raise ConnectorError(
                f"write-back priority {self.priority!r} is not one of {', '.join(PRIORITIES)}"
            )
        if not self.external_id.strip():
            raise ConnectorError("write-back has no external id", remedy="pass the system's key")

    def get_marker(self) -> str:
        """The line that identifies this ticket version's comment in the system."""
        return f"[airlock ticket {self.ticket_id} version {self.version}]"

    def get_comment(self) -> str:
        """The comment text: the body, then the marker on its own line."""
        return f"{self.body.rstrip()}\n\n{self.get_marker()}"

    def get_idempotency_key(self, purpose: str) -> str:
        """A stable key for one kind of write of this ticket version (ASCII, bounded)."""
        seed = f"{self.ticket_id}\x00{self.version}".encode()
        return f"airlock-{hashlib.sha256(seed).hexdigest()[:32]}-{purpose}"

    def get_tags(self) -> tuple[str, ...]:
        """Tags as every system accepts them: lower case, no spaces, unique, in order."""
        cleaned = (_TAG_UNSAFE.sub("_", tag.strip().lower()).strip("_") for tag in self.tags)
        return tuple(dict.fromkeys(tag for tag in cleaned if tag))


@dataclass(frozen=True)
class WriteBackResult:
    """What one write-back did: requests sent, retries, and a duplicate comment skipped."""

    system: str
    external_id: str
    requests: int
    retries: int
    skipped_duplicate: bool


class TicketingConnector(Protocol):
    """Writes Airlock's decision back to one ticketing system."""

    system: str

    def write_back(self, item: WriteBack) -> WriteBackResult:
        """Post the comment (once per ticket version) and set priority, tags, group."""
        ...

    def close(self) -> None:
        """Release the HTTP client if the connector created it."""
        ...


def require(payload: Mapping[str, Any], path: str, *, system: str) -> Any:
    """The value at a dotted path; TicketError naming the path when missing or empty."""
    value: Any = payload
    for part in path.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
        if value is None or value == "":
            raise TicketError(f"{system} webhook payload has no {path!r}")
    return value


def optional(payload: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted path, or None."""
    value: Any = payload
    for part in path.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    return None if value == "" else value


def parse_timestamp(value: Any, *, field: str, system: str) -> datetime | None:
    """An ISO 8601 (or ServiceNow 'YYYY-MM-DD HH:MM:SS', UTC) timestamp; naive means UTC."""
    if value is None or value == "":
        return None
    text = str(value).strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    # Jira writes offsets without a colon (+0000); Python 3.11 reads them in ISO form only.
    text = re.sub(r"([+-]\d{2})(\d{2})$", r"\1:\2", text)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise TicketError(f"{system} webhook field {field!r} is not a timestamp") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def build_ticket(
    *,
    system: str,
    tenant: str,
    key: str,
    customer_id: str,
    fields: Mapping[str, Any],
    external_id: str | None = None,
    url: str = "",
) -> Ticket:
    """Our Ticket from a parsed webhook; validation errors name fields, never values."""
    try:
        return Ticket(
            id=f"{system}:{key}",
            tenant=tenant,
            customer=Customer(id=customer_id),
            external=ExternalRef(system=system, id=external_id or key, url=url[:2048]),
            **fields,
        )
    except ValidationError as exc:
        names = sorted({".".join(str(p) for p in err["loc"]) or "ticket" for err in exc.errors()})
        raise TicketError(
            f"{system} webhook payload has invalid field(s): {', '.join(names)}",
            remedy="check the webhook template (docs/connectors.md) and the tenant",
        ) from None
