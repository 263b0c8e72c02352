"""The decision record: everything Airlock decided about one ticket version, and why."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from guardrails.pipeline import PipelineVerdict
from helpdesk.tickets import ExternalRef

RECORD_FORMAT = "airlock-decision/1"
# Fields holding the customer's words (or words derived from them): erasure blanks these.
TEXT_FIELDS = ("ticket_text", "draft", "summary")


class _Value(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class IntentResult(_Value):
    """The classifier's label and confidence (`oos`: out of scope)."""

    label: str
    confidence: float


class PriorityResult(_Value):
    """P1 (most urgent) to P4, with every rule that raised it."""

    level: str
    reasons: tuple[str, ...] = ()


class RouteResult(_Value):
    """The team and queue a person would take the ticket from."""

    team: str
    queue: str
    reasons: tuple[str, ...] = ()


class DecisionResult(_Value):
    """auto_reply, escalate or needs_info, with severity, transfer and every reason."""

    action: str
    severity: str
    transfer: bool
    priority_routing: bool
    reasons: tuple[str, ...]


class Citation(_Value):
    """A passage the draft cites as [ref]."""

    ref: int
    doc_id: str
    chunk_id: str
    title: str = ""
    source: str = ""
    score: float


class GuardSummary(_Value):
    """One guard's result: allowed, flags and scores (no text)."""

    guard: str
    allowed: bool
    flags: tuple[str, ...] = ()
    scores: dict[str, float] = Field(default_factory=dict)
    elapsed_ms: float = 0.0


class EngineResult(_Value):
    """Which engine wrote the draft, its model id and content hash, and engines failed over."""

    name: str
    model: str
    model_sha256: str | None = None
    failovers: tuple[str, ...] = ()
    prompt_tokens: int = 0
    completion_tokens: int = 0


class DecisionRecord(_Value):
    """The persisted outcome of one ticket version (text fields are blanked on erasure)."""

    format: str = RECORD_FORMAT
    ticket_id: str
    tenant: str
    version: str
    subject_id: str
    channel: str
    external: ExternalRef | None = Field(None, description="The ticket in its ticketing system.")
    received_at: str
    decided_at: str
    language: str
    intent: IntentResult | None
    sentiment: float | None
    priority: PriorityResult
    route: RouteResult
    decision: DecisionResult
    ticket_text: str = Field("", description="The ticket as the model saw it (PII redacted).")
    draft: str | None = None
    summary: str = Field("", description="What an agent needs to pick the ticket up.")
    citations: tuple[Citation, ...] = ()
    input_guards: tuple[GuardSummary, ...] = ()
    output_guards: tuple[GuardSummary, ...] = ()
    engine: EngineResult | None = None
    latency_ms: dict[str, float] = Field(default_factory=dict)
    notes: tuple[str, ...] = Field((), description="What was skipped or adjusted, and why.")
    erased: bool = False


def summarize_guards(verdict: PipelineVerdict | None) -> tuple[GuardSummary, ...]:
    """Each guard's flags and scores, without the texts a verdict may carry."""
    if verdict is None:
        return ()
    return tuple(
        GuardSummary(
            guard=v.guard,
            allowed=v.allowed,
            flags=v.flags,
            scores={k: round(s, 4) for k, s in v.scores.items()},
            elapsed_ms=round(v.elapsed_ms, 2),
        )
        for v in verdict.verdicts
    )


def scrub_record(record: dict[str, Any]) -> dict[str, Any]:
    """A stored record with the customer's words removed (for data-subject erasure)."""
    scrubbed = {**record, "erased": True}
    for name in TEXT_FIELDS:
        if scrubbed.get(name) is not None:
            scrubbed[name] = ""
    return scrubbed
