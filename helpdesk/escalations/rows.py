"""Escalation values and the checks and conversions the queue applies to its rows."""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass, fields
from typing import Any, Literal

import sqlalchemy as sa

from helpdesk.errors import EscalationConflictError, EscalationError
from helpdesk.escalations.schema import escalations
from helpdesk.queue.rows import format_ts, utc_now
from helpdesk.record import Citation, DecisionRecord

Feedback = Literal["used", "edited", "rejected"]
FEEDBACK: tuple[str, ...] = ("used", "edited", "rejected")
ESCALATED_ACTIONS: tuple[str, ...] = ("escalate", "needs_info")
MAX_PAGE = 200
MAX_REPLY_CHARS = 20_000
INTENT_LABEL = re.compile(r"^[a-z0-9_]{1,64}$")


@dataclass(frozen=True)
class Escalation:
    """One escalated decision: open, claimed by an agent, or resolved with the agent's reply."""

    escalation_id: str  # the decision's job id
    tenant: str
    ticket_id: str
    version: str
    subject_id: str | None
    action: str
    severity: str
    priority: str
    team: str
    queue: str
    intent: str | None
    reasons: tuple[str, ...]
    state: str  # open | claimed | resolved
    received_at: str | None
    created_at: str
    claimed_by: str | None = None
    claimed_at: str | None = None
    resolved_by: str | None = None
    resolved_at: str | None = None
    feedback: str | None = None
    corrected_intent: str | None = None
    final_reply: str | None = None
    erased_at: str | None = None
    # From the stored decision record; blank once the data subject was erased.
    summary: str = ""
    draft: str | None = None
    citations: tuple[Citation, ...] = ()


@dataclass(frozen=True)
class EscalationPage:
    """One page of a tenant's escalations, oldest first, and the cursor of the next page."""

    items: tuple[Escalation, ...]
    next_cursor: str | None


# Escalation fields that are columns (the rest come from the decision record).
ROW_FIELDS = tuple(f.name for f in fields(Escalation) if f.name in escalations.c)


def encode_cursor(last: Escalation) -> str:
    """The opaque cursor of the page after `last`."""
    raw = json.dumps([last.created_at, last.escalation_id], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode("ascii")


def decode_cursor(cursor: str) -> tuple[str, str]:
    """The (created_at, escalation_id) a cursor continues after; EscalationError when forged."""
    try:
        value = json.loads(base64.urlsafe_b64decode(cursor.encode("ascii")))
    except (ValueError, binascii.Error, UnicodeError):
        value = None
    if not (isinstance(value, list) and len(value) == 2 and all(isinstance(v, str) for v in value)):
        raise EscalationError(
            "the cursor is not one this API issued",
            remedy="pass next_cursor from the previous page unchanged, or omit it",
        )
    return value[0], value[1]


def row_values(record: DecisionRecord, job_id: str) -> dict[str, Any]:
    """The new open row of an escalated decision."""
    return {
        "escalation_id": job_id,
        "tenant": record.tenant,
        "ticket_id": record.ticket_id,
        "version": record.version,
        "subject_id": record.subject_id,
        "action": record.decision.action,
        "severity": record.decision.severity,
        "priority": record.priority.level,
        "team": record.route.team,
        "queue": record.route.queue,
        "intent": record.intent.label if record.intent else None,
        "reasons": json.dumps(list(record.decision.reasons), ensure_ascii=False),
        "state": "open",
        "received_at": record.received_at,
        "created_at": format_ts(utc_now()),
    }


def to_escalation(row: sa.RowMapping) -> Escalation:
    """A row joined with its decision record (summary, draft, citations) as a value."""
    values = {name: row[name] for name in ROW_FIELDS}
    values["reasons"] = tuple(json.loads(row["reasons"]))
    stored = json.loads(row["decision"]) if row["decision"] else {}
    return Escalation(
        **values,
        summary=str(stored.get("summary") or ""),
        draft=stored.get("draft"),
        citations=tuple(Citation.model_validate(c) for c in stored.get("citations", ())),
    )


def check_claimable(found: Escalation, agent: str) -> None:
    """Conflict when the escalation is resolved or held by another agent."""
    if found.state == "resolved":
        raise EscalationConflictError(
            f"escalation {found.escalation_id} was resolved by {found.resolved_by}",
            remedy="nothing to do; pick another escalation from GET /v1/escalations",
        )
    if found.state == "claimed" and found.claimed_by != agent:
        raise EscalationConflictError(
            f"escalation {found.escalation_id} is claimed by {found.claimed_by}",
            remedy="pick another escalation, or ask that agent to hand it over",
        )


def check_resolution(final_reply: str, feedback: str, corrected_intent: str | None) -> None:
    """EscalationError naming every problem of a resolution (label, length, intent)."""
    problems = []
    if feedback not in FEEDBACK:
        problems.append(f"feedback must be one of {', '.join(FEEDBACK)}, not {feedback!r}")
    if len(final_reply) > MAX_REPLY_CHARS:
        problems.append(f"final_reply has more than {MAX_REPLY_CHARS} characters")
    if corrected_intent is not None and not INTENT_LABEL.match(corrected_intent):
        problems.append("corrected_intent must match ^[a-z0-9_]{1,64}$")
    if problems:
        raise EscalationError("; ".join(problems), remedy="fix the resolution and send it again")
