"""Analytics over HTTP: one tenant's decisions, automation, escalations and response times."""

from __future__ import annotations

from pydantic import BaseModel, Field


class ResponseTimesOut(BaseModel):
    """First-response times in seconds (nearest-rank percentiles; null: no responses)."""

    count: int
    p50: float | None = None
    p90: float | None = None
    p99: float | None = None


class FeedbackOut(BaseModel):
    """Agents' verdicts on the drafts of resolved escalations."""

    used: int = 0
    edited: int = 0
    rejected: int = 0
    corrected_intents: int = Field(0, description="Resolutions that corrected the intent.")


class AnalyticsSummaryOut(BaseModel):
    """The tenant's help desk over decisions made in [since, until)."""

    tenant: str
    since: str | None = None
    until: str | None = None
    decisions: int = Field(description="Ticket versions decided in the window.")
    actions: dict[str, int] = Field(description="Decisions per action.")
    auto_resolution_rate: float | None = Field(description="auto_reply / decided (null: none).")
    escalation_rate: float | None = Field(description="(escalate + needs_info) / decided.")
    escalation_reasons: dict[str, int] = Field(
        description="Escalations with a reason of each kind (one ticket may have several)."
    )
    escalation_reason_rates: dict[str, float] = Field(
        description="Each kind's share of the escalate and needs_info decisions."
    )
    first_response: dict[str, ResponseTimesOut] = Field(
        description="auto_reply: decided - received; escalation: resolved - received; all."
    )
    intents: dict[str, int] = Field(description="Decisions per intent label.")
    feedback: FeedbackOut
    truncated: bool = Field(
        description="The window held more rows than are read for percentiles; narrow it."
    )
