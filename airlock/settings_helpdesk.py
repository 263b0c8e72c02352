"""Settings of the ticket domain: model and policy files, tenants, workers and write-back."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr

from airlock.section import Section


class WritebackSettings(Section):
    """Write-back of one tenant's decisions to its ticketing system."""

    system: Literal["zendesk", "jira", "servicenow"] = Field(description="The ticketing system.")
    base_url: str = Field(
        description="The instance root, e.g. https://acme.zendesk.com, https://jira.acme.internal "
        "or https://acme.service-now.com (a configured endpoint: the only host contacted)."
    )
    username: str = Field(
        "",
        description="zendesk: agent e-mail (API-token auth); jira: user e-mail or name; "
        "servicenow: integration user.",
    )
    token: SecretStr | None = Field(
        None, description="zendesk/jira: API token; servicenow: the integration user's password."
    )
    public_replies: bool = Field(
        False,
        description="Post automatic answers as public replies; false: every draft is an "
        "internal note for an agent to send.",
    )
    set_priority: bool = Field(True, description="Set the ticket's priority from ours (P1 to P4).")
    set_tags: bool = Field(True, description="Add tags: airlock, the intent and the action.")
    groups: dict[str, str] = Field(
        default_factory=dict,
        description="Our routing queue -> the system's group (zendesk group id, jira/servicenow "
        "assignment group); queues not listed are not assigned.",
    )
    jira_escalate_transition: str = Field(
        "", description="jira: transition id applied when a ticket is escalated; empty: none."
    )
    timeout_s: float = Field(10.0, gt=0, le=300, description="Timeout of one HTTP request.")
    max_retries: int = Field(
        4,
        ge=0,
        le=10,
        description="Retries on connection errors, 429 and 5xx (Retry-After honoured).",
    )
    backoff_s: float = Field(0.5, ge=0, le=60, description="First retry delay; doubles.")
    max_backoff_s: float = Field(30.0, gt=0, le=600, description="Longest wait between retries.")


class HelpdeskSettings(Section):
    """Where the helpdesk's trained model and policy files are (empty: the shipped ones)."""

    intent_model: Path | None = Field(
        None, description="Intent model folder (`airlock intents train`); empty: the shipped one."
    )
    priority_policy: Path | None = Field(
        None, description="Priority rules YAML (keywords, tiers, intents, SLA); empty: shipped."
    )
    routing_table: Path | None = Field(
        None, description="Intent and language to team YAML; empty: the shipped table."
    )
    escalation_policy: Path | None = Field(
        None, description="Escalation rules YAML, per tenant; empty: the shipped policy."
    )
    tenants: tuple[str, ...] = Field(
        (),
        description="Tenants this deployment serves; a ticket of another is refused. "
        "Empty: any well-formed tenant id.",
    )
    max_auto_chars: int = Field(
        20_000,
        ge=100,
        le=1_000_000,
        description="Tickets longer than this (subject + body) are kept and escalated without "
        "automatic analysis.",
    )
    top_k: int = Field(5, ge=1, le=50, description="Passages retrieved for a draft.")
    max_draft_tokens: int = Field(400, ge=16, le=8192, description="Longest draft, tokens.")
    lease_s: float = Field(
        60.0,
        ge=3,
        le=3600,
        description="A worker's hold on a ticket, extended every third of it while the worker "
        "lives; a dead worker's ticket is taken over this long after its last extension.",
    )
    max_attempts: int = Field(
        5, ge=1, le=100, description="Attempts before a ticket goes to the dead-letter state."
    )
    writeback: dict[str, WritebackSettings] = Field(
        default_factory=dict, description="Tenant -> write-back to its ticketing system."
    )
