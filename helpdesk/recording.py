"""Assembling a decision record from the pipeline's results, and the agent's summary."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from guardrails.pipeline import PipelineVerdict
from helpdesk.drafting import find_identifiers, get_lead
from helpdesk.intents import IntentPrediction
from helpdesk.policy import Decision
from helpdesk.queue.rows import format_ts
from helpdesk.record import (
    Citation,
    DecisionRecord,
    DecisionResult,
    EngineResult,
    IntentResult,
    PriorityResult,
    RouteResult,
    summarize_guards,
)
from helpdesk.signals import RoutingTable, Signals, route_ticket
from helpdesk.tickets import Ticket
from rag.types import Passage

# A ticket that was not analysed keeps its place in the queue at normal priority.
UNANALYSED_PRIORITY = "P3"


@dataclass(frozen=True)
class RecordParts:
    """The results of one analysed ticket, as the pipeline gathered them."""

    ticket: Ticket
    now: datetime
    redacted: str
    intent: IntentPrediction
    signals: Signals
    decision: Decision
    input_verdict: PipelineVerdict
    output_verdict: PipelineVerdict | None
    draft: str | None
    citations: tuple[Citation, ...]
    passages: tuple[Passage, ...]
    engine: EngineResult | None
    notes: tuple[str, ...]


def build_record(parts: RecordParts, latency_ms: dict[str, float]) -> DecisionRecord:
    """The decision record of an analysed ticket."""
    ticket, signals, decision = parts.ticket, parts.signals, parts.decision
    return DecisionRecord(
        **_identity(ticket, parts.now),
        language=signals.language,
        intent=IntentResult(label=parts.intent.label, confidence=round(parts.intent.confidence, 4)),
        sentiment=round(signals.sentiment, 4),
        priority=PriorityResult(level=signals.priority.level, reasons=signals.priority.reasons),
        route=RouteResult(
            team=signals.route.team, queue=signals.route.queue, reasons=signals.route.reasons
        ),
        decision=_decision(decision),
        ticket_text=parts.redacted,
        draft=parts.draft,
        summary=compose_summary(parts),
        citations=parts.citations,
        input_guards=summarize_guards(parts.input_verdict),
        output_guards=summarize_guards(parts.output_verdict),
        engine=parts.engine,
        latency_ms=latency_ms,
        notes=parts.notes,
    )


def unanalysed_record(
    ticket: Ticket,
    routing: RoutingTable,
    *,
    action: str,
    reason: str,
    now: datetime,
    latency_ms: dict[str, float],
) -> DecisionRecord:
    """The record of a ticket kept but not analysed (empty, binary or too long)."""
    route = route_ticket(routing, intent=None, language="", confidence=0.0)
    return DecisionRecord(
        **_identity(ticket, now),
        language=ticket.customer.language or "",
        intent=None,
        sentiment=None,
        priority=PriorityResult(level=UNANALYSED_PRIORITY, reasons=("not analysed",)),
        route=RouteResult(team=route.team, queue=route.queue, reasons=route.reasons),
        decision=DecisionResult(
            action=action,
            severity="normal",
            transfer=False,
            priority_routing=False,
            reasons=(reason,),
        ),
        summary=f"Not analysed: {reason}.",
        latency_ms=latency_ms,
        notes=(reason,),
    )


def compose_summary(parts: RecordParts) -> str:
    """What an agent needs first: why it reached them, the signals, identifiers, the lead."""
    ticket, signals, decision = parts.ticket, parts.signals, parts.decision
    lines = [
        f"Decision: {decision.action} ({decision.severity})"
        + (f" because {'; '.join(decision.reasons)}." if decision.reasons else "."),
        f"Intent {parts.intent.label} ({parts.intent.confidence:.2f}), priority "
        f"{signals.priority.level} ({signals.priority.name}), sentiment {signals.sentiment:+.2f}, "
        f"language {signals.language or 'undetermined'}, route {signals.route.team} / "
        f"{signals.route.queue}.",
        f"Customer {ticket.customer.id}, tier {ticket.customer.tier or 'standard'}, "
        f"via {ticket.channel}"
        + (f", {len(ticket.attachments)} attachment(s) not read" if ticket.attachments else "")
        + ".",
    ]
    identifiers = find_identifiers(parts.redacted)
    if identifiers:
        lines.append(f"Identifiers mentioned: {', '.join(identifiers)}.")
    flags = [
        *parts.input_verdict.flags,
        *(parts.output_verdict.flags if parts.output_verdict else ()),
    ]
    if flags:
        lines.append(f"Guard flags: {', '.join(dict.fromkeys(flags))}.")
    if parts.passages:
        titles = "; ".join(f"[{i}] {p.title or p.doc_id}" for i, p in enumerate(parts.passages, 1))
        lines.append(f"Knowledge base: {titles}.")
    lines.append(f"Ticket opens: {get_lead(parts.redacted)}")
    return "\n".join(lines)


def _identity(ticket: Ticket, now: datetime) -> dict[str, Any]:
    """The fields that say which ticket version the record is about, and when."""
    return {
        "external": ticket.external,
        "ticket_id": ticket.id,
        "tenant": ticket.tenant,
        "version": ticket.get_version(),
        "subject_id": ticket.customer.id,
        "channel": ticket.channel,
        "received_at": format_ts(ticket.created_at or now),
        "decided_at": format_ts(now),
    }


def _decision(decision: Decision) -> DecisionResult:
    return DecisionResult(
        action=decision.action,
        severity=decision.severity,
        transfer=decision.transfer,
        priority_routing=decision.priority_routing,
        reasons=decision.reasons,
    )
