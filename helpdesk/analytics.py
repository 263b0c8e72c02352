"""Help-desk analytics of one tenant: decisions, automation, escalation reasons, response times.

The window selects decisions by `decided_at`; their escalations count however late they were
resolved. Counts are SQL aggregates. Reason kinds and first-response-time percentiles are
computed here in Python over the window's rows, at most `MAX_WINDOW_ROWS` of each (the newest
decisions); `truncated` says when that cap cut the window (narrow it with since/until).
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from airlock.db import describe_storage_failure
from helpdesk.escalations import ESCALATED_ACTIONS, FEEDBACK
from helpdesk.escalations.schema import escalations
from helpdesk.policy.reasons import reason_kinds
from helpdesk.queue.rows import TS_FORMAT, format_ts
from helpdesk.queue.schema import decisions

MAX_WINDOW_ROWS = 100_000
UNKNOWN = "unknown"
# Escalation reasons are sentences with numbers (helpdesk/policy/decision.py, pipeline.py);
# analytics counts them by kind. The first pattern that matches names the kind.
_D = decisions.c
_E = escalations.c
_JOINED = escalations.join(decisions, _D.job_id == _E.escalation_id)


@dataclass(frozen=True)
class ResponseTimes:
    """First-response times in seconds over `count` responses (None: no responses)."""

    count: int
    p50: float | None
    p90: float | None
    p99: float | None


@dataclass(frozen=True)
class FeedbackCounts:
    """How agents rated the drafts of resolved escalations, and how often they fixed intents."""

    used: int = 0
    edited: int = 0
    rejected: int = 0
    corrected_intents: int = 0


@dataclass(frozen=True)
class AnalyticsSummary:
    """One tenant's help desk over a window of decisions."""

    tenant: str
    since: str | None
    until: str | None
    decisions: int
    actions: Mapping[str, int]
    auto_resolution_rate: float | None  # auto_reply / decided (None: nothing decided)
    escalation_rate: float | None  # (escalate + needs_info) / decided
    escalation_reasons: Mapping[str, int]  # escalations with a reason of each kind
    escalation_reason_rates: Mapping[str, float]  # ... over escalate + needs_info decisions
    first_response: Mapping[str, ResponseTimes]  # auto_reply, escalation, all
    intents: Mapping[str, int]
    feedback: FeedbackCounts = field(default_factory=FeedbackCounts)
    truncated: bool = False


def percentile(ordered: Sequence[float], p: float) -> float | None:
    """The nearest-rank `p`th percentile of sorted values (None when there are none)."""
    if not ordered:
        return None
    return ordered[max(1, math.ceil(p / 100 * len(ordered))) - 1]


def summarize(
    engine: Engine, tenant: str, *, since: datetime | None = None, until: datetime | None = None
) -> AnalyticsSummary:
    """The tenant's analytics for decisions made in [since, until) (open ends: everything)."""
    start, end = (format_ts(_utc(t)) if t is not None else None for t in (since, until))
    window = [_D.tenant == tenant]
    window += [_D.decided_at >= start] if start is not None else []
    window += [_D.decided_at < end] if end is not None else []
    try:
        with engine.connect() as conn:
            actions = _count_by(conn, _D.action, window)
            intents = _count_by(conn, _D.intent, window)
            feedback = _feedback(conn, window)
            reasons, cut_reasons = _reason_kinds(conn, window)
            times, cut_times = _response_times(conn, window)
    except SQLAlchemyError as exc:
        raise describe_storage_failure(engine, exc) from None
    decided = sum(actions.values())
    escalated = sum(actions.get(action, 0) for action in ESCALATED_ACTIONS)
    return AnalyticsSummary(
        tenant=tenant,
        since=start,
        until=end,
        decisions=decided,
        actions=actions,
        auto_resolution_rate=_rate(actions.get("auto_reply", 0), decided),
        escalation_rate=_rate(escalated, decided),
        escalation_reasons=reasons,
        escalation_reason_rates={k: n / escalated for k, n in reasons.items() if escalated},
        first_response=times,
        intents=intents,
        feedback=feedback,
        truncated=cut_reasons or cut_times,
    )


def _count_by(conn: Connection, column: Any, window: list[Any]) -> dict[str, int]:
    query = sa.select(column, sa.func.count()).where(*window).group_by(column)
    counts = {str(key) if key is not None else UNKNOWN: int(n) for key, n in conn.execute(query)}
    return dict(sorted(counts.items()))


def _feedback(conn: Connection, window: list[Any]) -> FeedbackCounts:
    query = (
        sa.select(_E.feedback, sa.func.count(), sa.func.count(_E.corrected_intent))
        .select_from(_JOINED)
        .where(*window, _E.state == "resolved")
        .group_by(_E.feedback)
    )
    rows = conn.execute(query).all()
    labels = {str(label): int(n) for label, n, _ in rows if label in FEEDBACK}
    return FeedbackCounts(**labels, corrected_intents=sum(int(c) for *_, c in rows))


def _reason_kinds(conn: Connection, window: list[Any]) -> tuple[dict[str, int], bool]:
    query = (
        sa.select(_E.reasons)
        .select_from(_JOINED)
        .where(*window)
        .order_by(_D.decided_at.desc())
        .limit(MAX_WINDOW_ROWS + 1)
    )
    rows = conn.execute(query).scalars().all()
    counts: Counter[str] = Counter()
    for text in rows[:MAX_WINDOW_ROWS]:
        counts.update(reason_kinds(json.loads(text)))
    return dict(sorted(counts.items())), len(rows) > MAX_WINDOW_ROWS


def _response_times(conn: Connection, window: list[Any]) -> tuple[dict[str, ResponseTimes], bool]:
    auto = (
        sa.select(_D.received_at, _D.decided_at)
        .where(*window, _D.action == "auto_reply")
        .order_by(_D.decided_at.desc())
        .limit(MAX_WINDOW_ROWS + 1)
    )
    resolved = (
        sa.select(_E.received_at, _E.resolved_at)
        .select_from(_JOINED)
        .where(*window, _E.state == "resolved")
        .order_by(_D.decided_at.desc())
        .limit(MAX_WINDOW_ROWS + 1)
    )
    auto_rows = conn.execute(auto).all()
    resolved_rows = conn.execute(resolved).all()
    auto_s = _seconds(auto_rows[:MAX_WINDOW_ROWS])
    resolved_s = _seconds(resolved_rows[:MAX_WINDOW_ROWS])
    times = {
        "auto_reply": _times(auto_s),
        "escalation": _times(resolved_s),
        "all": _times(auto_s + resolved_s),
    }
    return times, max(len(auto_rows), len(resolved_rows)) > MAX_WINDOW_ROWS


def _seconds(rows: Iterable[Any]) -> list[float]:
    """Seconds from receipt to response; a receipt stamped after the response counts as 0."""
    return [
        max(0.0, (_parse(answered) - _parse(received)).total_seconds())
        for received, answered in rows
        if received and answered
    ]


def _times(values: list[float]) -> ResponseTimes:
    ordered = sorted(values)
    p50, p90, p99 = (percentile(ordered, p) for p in (50, 90, 99))
    return ResponseTimes(count=len(ordered), p50=p50, p90=p90, p99=p99)


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _parse(stamp: str) -> datetime:
    return datetime.strptime(stamp, TS_FORMAT).replace(tzinfo=UTC)


def _utc(moment: datetime) -> datetime:
    """A naive datetime is taken as UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
