"""Tickets over HTTP: the submission, the acknowledgement, the status with its decision."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from helpdesk.record import DecisionRecord
from helpdesk.tickets import MAX_SUBJECT_CHARS, Attachment, Customer, ExternalRef, Identifier

TICKET_EXAMPLE: dict[str, Any] = {
    "id": "T-1001",
    "subject": "Cannot reset my password",
    "body": "The reset link in the e-mail says it expired. How do I get a new one?",
    "customer": {"id": "C-42", "tier": "standard", "language": "en"},
    "channel": "email",
}


class TicketIn(BaseModel):
    """A ticket version as a ticketing system sends it; the tenant comes from the token."""

    model_config = ConfigDict(
        frozen=True, extra="ignore", json_schema_extra={"examples": [TICKET_EXAMPLE]}
    )

    id: Identifier = Field(description="Ticket id, unique within the tenant.")
    subject: str = Field("", max_length=MAX_SUBJECT_CHARS)
    body: str = Field("", description="The customer's message (plain text).")
    customer: Customer
    channel: str = Field("api", max_length=64, description="email, web, chat, phone, api...")
    created_at: AwareDatetime | None = None
    sla_due_at: AwareDatetime | None = None
    attachments: tuple[Attachment, ...] = ()
    external: ExternalRef | None = None
    version: str | None = Field(
        None, max_length=64, description="Sender's version label; empty: a content hash."
    )
    tenant: str | None = Field(
        None, description="Optional; when given it must be the token's tenant."
    )


JobStateName = Literal["queued", "leased", "done", "dead"]


class TicketAccepted(BaseModel):
    """The ticket version is stored and will be decided (202), or was decided (200)."""

    ticket_id: str
    version: str
    job_id: str
    state: JobStateName = Field(description="queued, leased (being decided), done or dead.")
    created: bool = Field(description="False when this version was already received.")
    location: str = Field(description="Where to read the decision.")
    decision: DecisionRecord | None = Field(
        None, description="The decision, when ?wait was given and it was made in time."
    )


class TicketStatus(BaseModel):
    """The newest version of a ticket: where its job stands and its decision once made."""

    ticket_id: str
    version: str
    job_id: str
    state: JobStateName
    attempts: int
    last_error: str | None = None
    erased: bool = Field(description="The ticket's text was erased for its data subject.")
    decision: DecisionRecord | None = None
