"""Escalations over HTTP: the agent's queue items, the resolution, the PII reveal."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from helpdesk.escalations import MAX_REPLY_CHARS
from helpdesk.record import Citation

EscalationState = Literal["open", "claimed", "resolved"]
FeedbackLabel = Literal["used", "edited", "rejected"]
MAX_REVEAL_CHARS = 200_000


class EscalationOut(BaseModel):
    """An escalated decision as an agent works it, with the agent summary and the draft."""

    model_config = ConfigDict(from_attributes=True)

    escalation_id: str = Field(description="The decision's job id.")
    ticket_id: str
    version: str
    action: str = Field(description="escalate or needs_info.")
    severity: str
    priority: str = Field(description="P1 (most urgent) to P4.")
    team: str
    queue: str
    intent: str | None = None
    reasons: tuple[str, ...] = Field(description="Why the ticket was not answered automatically.")
    state: EscalationState
    received_at: str | None = None
    created_at: str
    claimed_by: str | None = None
    claimed_at: str | None = None
    resolved_by: str | None = None
    resolved_at: str | None = None
    feedback: FeedbackLabel | None = None
    corrected_intent: str | None = None
    final_reply: str | None = Field(None, description="Blank once the data subject was erased.")
    erased_at: str | None = None
    summary: str = Field("", description="What the agent needs (blank after erasure).")
    draft: str | None = Field(None, description="The model's draft reply (blank after erasure).")
    citations: tuple[Citation, ...] = ()


class EscalationList(BaseModel):
    """A page of the tenant's escalations, oldest first."""

    items: list[EscalationOut]
    next_cursor: str | None = Field(None, description="Pass as ?cursor= for the next page.")


class ResolutionIn(BaseModel):
    """The agent's final reply and how useful the draft was."""

    model_config = ConfigDict(extra="forbid")

    final_reply: str = Field(max_length=MAX_REPLY_CHARS, description="What the customer got.")
    feedback: FeedbackLabel = Field(description="The draft was used as is, edited or rejected.")
    corrected_intent: str | None = Field(
        None,
        pattern=r"^[a-z0-9_]{1,64}$",
        description="The right intent label when the classifier was wrong.",
    )


class RevealIn(BaseModel):
    """Redacted text of one of the tenant's tickets whose placeholders should be revealed."""

    model_config = ConfigDict(extra="forbid")

    ticket_id: str = Field(min_length=1, max_length=255)
    text: str = Field(
        max_length=MAX_REVEAL_CHARS, description="Text with placeholders such as <PERSON_1>."
    )
    scope: str = Field("", max_length=255, description="The vault scope; empty for tickets.")


class RevealOut(BaseModel):
    """The text with the data subject's originals in place of the placeholders."""

    ticket_id: str
    text: str
    revealed: int = Field(description="Placeholders replaced by their originals.")
