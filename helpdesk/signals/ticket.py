"""All signals of one ticket at once: language, sentiment, priority and route, with reasons."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

from helpdesk.signals.priority import (
    Priority,
    PriorityPolicy,
    assign_priority,
    load_priority_policy,
)
from helpdesk.signals.routing import Route, RoutingTable, load_routing_table, route_ticket
from helpdesk.signals.sentiment import SentimentScorer
from models.language import detect_language


@dataclass(frozen=True)
class SignalsPolicy:
    """The priority policy and routing table that `ticket_signals` applies."""

    priority: PriorityPolicy = field(default_factory=PriorityPolicy)
    routing: RoutingTable = field(default_factory=RoutingTable)


@dataclass(frozen=True)
class Signals:
    """A ticket's signals: the language scored, sentiment in [-1, 1], priority and route."""

    language: str
    sentiment: float
    priority: Priority
    route: Route


def load_signals_policy(
    priority_file: Path | None = None, routing_file: Path | None = None
) -> SignalsPolicy:
    """Both files (the shipped ones when None), checked; problems name the file and key."""
    return SignalsPolicy(load_priority_policy(priority_file), load_routing_table(routing_file))


@cache
def default_scorer() -> SentimentScorer:
    """One sentiment scorer per process, built on first use."""
    return SentimentScorer()


def ticket_signals(
    text: str,
    *,
    language: str | None = None,
    intent: str | None = None,
    confidence: float = 1.0,
    tier: str | None = None,
    sla_due_at: datetime | None = None,
    now: datetime | None = None,
    policy: SignalsPolicy,
    scorer: SentimentScorer | None = None,
) -> Signals:
    """Sentiment, priority and route of a ticket; `language` is detected when None."""
    # The ticket's own language decides priority and routing: "" when unknown, even where
    # the scorer falls back to the lexicon that knows most of the words.
    routed_in = (detect_language(text) if language is None else language).strip().lower()
    sentiment = (scorer or default_scorer()).score(text, routed_in)
    priority = assign_priority(
        policy.priority,
        text,
        language=routed_in,
        sentiment=sentiment,
        intent=intent,
        confidence=confidence,
        tier=tier,
        sla_due_at=sla_due_at,
        now=now or datetime.now(UTC),
    )
    route = route_ticket(policy.routing, intent=intent, language=routed_in, confidence=confidence)
    return Signals(language=routed_in, sentiment=sentiment, priority=priority, route=route)
