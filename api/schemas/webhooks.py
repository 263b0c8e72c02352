"""Webhook deliveries over HTTP: the acknowledgement a ticketing system gets back."""

from __future__ import annotations

from pydantic import BaseModel, Field

from api.schemas.tickets import JobStateName


class WebhookAccepted(BaseModel):
    """The delivery's ticket version is stored (202), or was stored before (200)."""

    ticket_id: str = Field(description="Our ticket id, `<system>:<key>` (e.g. jira:SUP-7).")
    version: str = Field(description="The ticket version (a content hash of its text).")
    job_id: str = Field(description="The job that decides this ticket version.")
    state: JobStateName = Field(description="queued, leased (being decided), done or dead.")
    duplicate: bool = Field(
        description="True when nothing new was stored: this delivery, or this ticket "
        "version under another delivery id, was received before."
    )
    delivery_id: str = Field(description="The delivery id the deduplication used.")
