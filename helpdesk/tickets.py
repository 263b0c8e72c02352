"""The ticket as Airlock receives it, whatever sent it (API, webhook, batch file)."""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

# Tenants and ids name rows and filters: printable, no whitespace, bounded.
TENANT_PATTERN = r"^[A-Za-z0-9._:@/+=-]{1,255}$"
Identifier = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]
# Larger texts are accepted and kept, but escalated without automatic analysis (see pipeline).
MAX_SUBJECT_CHARS = 1_000


class _Value(BaseModel):
    # Ticketing exports carry many more fields than we use: they are ignored, not refused.
    model_config = ConfigDict(frozen=True, extra="ignore")


class Customer(_Value):
    """Who wrote the ticket: the data subject, their tier and preferred language."""

    id: Identifier = Field(description="The customer's id in the ticketing system.")
    tier: str | None = Field(None, max_length=64, description="e.g. standard, vip.")
    language: str | None = Field(
        None, max_length=16, description="Preferred language (ISO 639-1); detected when empty."
    )


class Attachment(_Value):
    """An attachment's metadata; Airlock never reads attachment content."""

    name: str = Field("", max_length=255)
    content_type: str = Field("application/octet-stream", max_length=255)
    size: int = Field(0, ge=0, description="Bytes.")


class ExternalRef(_Value):
    """Where the ticket lives in the ticketing system (for write-back)."""

    system: str = Field(description="zendesk, jira or servicenow.")
    id: Identifier = Field(description="The system's ticket, issue or incident key.")
    url: str = Field("", max_length=2048)


class Ticket(_Value):
    """One version of a support ticket."""

    id: Identifier = Field(description="Ticket id, unique within the tenant.")
    tenant: str = Field(pattern=TENANT_PATTERN, description="Tenant the ticket belongs to.")
    subject: str = Field("", max_length=MAX_SUBJECT_CHARS)
    body: str = ""
    customer: Customer
    channel: str = Field("api", max_length=64, description="email, web, chat, phone, api...")
    created_at: AwareDatetime | None = None
    sla_due_at: AwareDatetime | None = None
    attachments: tuple[Attachment, ...] = ()
    external: ExternalRef | None = None
    version: str | None = Field(
        None,
        max_length=64,
        description="Version label from the sender; empty: a hash of the ticket's content.",
    )

    def get_version(self) -> str:
        """The sender's version, else a content hash: an edited ticket is a new version."""
        return self.version or content_version(self)

    def get_text(self) -> str:
        """Subject and body as one text (what classification and guards read)."""
        parts = [self.subject.strip(), self.body.strip()]
        return "\n\n".join(part for part in parts if part)


def content_version(ticket: Ticket) -> str:
    """SHA-256 (first 32 hex digits) over what makes the ticket's content."""
    content = ticket.model_dump(
        mode="json", include={"subject", "body", "customer", "attachments", "sla_due_at"}
    )
    canonical = json.dumps(content, sort_keys=True, ensure_ascii=False).encode()
    return hashlib.sha256(canonical).hexdigest()[:32]


def ticket_payload(ticket: Ticket) -> dict[str, Any]:
    """The ticket as JSON values, for the work queue."""
    return ticket.model_dump(mode="json", exclude_none=True)
