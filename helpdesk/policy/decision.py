"""Deciding a ticket: automatic reply, escalation to a person, or asking for details."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from guardrails.pipeline import PipelineVerdict
from helpdesk.intents.data import OOS_LABEL
from helpdesk.policy.escalation import TenantPolicy
from helpdesk.signals.priority import Priority

Action = Literal["auto_reply", "escalate", "needs_info"]
Severity = Literal["normal", "high", "critical"]
GROUNDING_GUARD = "grounding"


@dataclass(frozen=True)
class DecisionInput:
    """What `decide` needs of one ticket; the caller gathers it, `decide` looks nothing up."""

    tenant: str
    text_chars: int  # characters of the ticket body, stripped
    intent: str | None
    confidence: float
    sentiment: float
    priority: Priority
    input_verdict: PipelineVerdict
    output_verdict: PipelineVerdict | None = None  # None: no draft was made
    best_passage_score: float | None = None  # None: nothing was retrieved
    tier: str | None = None
    repeat_count: int = 0  # the customer's earlier similar tickets within the policy's window
    text: str = ""  # the (redacted) ticket, only searched for human-request phrases
    language: str = ""


@dataclass(frozen=True)
class Decision:
    """What happens to a ticket, and every reason that led there, in rule order."""

    action: Action
    severity: Severity
    transfer: bool
    priority_routing: bool
    reasons: tuple[str, ...]


def decide(inp: DecisionInput, policy: TenantPolicy) -> Decision:
    """Apply every escalation rule, then the automatic-reply conditions; pure and total."""
    critical = _critical_keywords(inp.priority)
    human = _human_request(inp, policy)
    angry = inp.sentiment < policy.angry_sentiment_below
    too_short = inp.text_chars < policy.min_body_chars
    escalations = [
        *_guardrail_reasons(inp, policy),
        *critical,
        *human,
        *_sentiment_reasons(inp, policy, angry),
        *([] if too_short else _intent_reasons(inp, policy)),
        *_repeat_reasons(inp, policy),
    ]
    routing = _routing_reasons(inp, policy)
    severity: Severity = "critical" if critical else "high" if angry or human else "normal"
    if escalations:
        action: Action = "escalate"
        reasons = [*escalations, *routing]
    elif too_short:
        action = "needs_info"
        note = f"body has {inp.text_chars} characters, fewer than {policy.min_body_chars}"
        reasons = [f"{note}: ask the customer for details", *routing]
    else:
        missing = _not_auto_answerable(inp, policy)
        action = "escalate" if missing else "auto_reply"
        reasons = [f"not auto-answerable: {'; '.join(missing)}"] if missing else []
        reasons = [*reasons, *routing]
    return Decision(
        action=action,
        severity=severity,
        transfer=bool(human),
        priority_routing=bool(routing),
        reasons=tuple(reasons),
    )


def _guardrail_reasons(inp: DecisionInput, policy: TenantPolicy) -> list[str]:
    """One reason per stage whose verdict is not allowed or carries a blocking flag."""
    reasons = []
    for stage, verdict in (("input", inp.input_verdict), ("output", inp.output_verdict)):
        if verdict is None:
            continue
        flags = _blocking_flags(verdict, policy)
        if flags or not verdict.allowed:
            named = ", ".join(flags) if flags else "not allowed"
            reasons.append(f"guardrail flags on {stage} ({named}): no automatic reply")
    return reasons


def _blocking_flags(verdict: PipelineVerdict, policy: TenantPolicy) -> tuple[str, ...]:
    """Flags of guards that refused, and blocking flags of any guard, in guard order."""
    flags = [
        flag
        for one in verdict.verdicts
        for flag in one.flags
        if not one.allowed or flag in policy.blocking_flags
    ]
    return tuple(dict.fromkeys(flags))


def _critical_keywords(priority: Priority) -> list[str]:
    """The priority's P1 keywords, which make an escalation critical."""
    return [f"critical keyword {hit}" for hit in priority.critical_keywords]


def _human_request(inp: DecisionInput, policy: TenantPolicy) -> list[str]:
    """Why the customer asked for a person: the intent, a phrase, or both."""
    reasons = []
    if inp.intent in policy.human_intents:
        reasons.append(f"intent {inp.intent}: transfer to a person")
    phrase = policy.human_phrase(inp.text, inp.language) if inp.text else None
    if phrase:
        reasons.append(f"asked for a person ({phrase!r}): transfer to a person")
    return reasons


def _sentiment_reasons(inp: DecisionInput, policy: TenantPolicy, angry: bool) -> list[str]:
    """Escalate an angry customer at once."""
    if not angry:
        return []
    return [f"sentiment {inp.sentiment:.2f} below {policy.angry_sentiment_below:.2f}"]


def _intent_reasons(inp: DecisionInput, policy: TenantPolicy) -> list[str]:
    """Escalate an out-of-scope, missing or unsure intent."""
    if not inp.intent:
        return ["no intent"]
    if inp.intent == OOS_LABEL:
        return [f"intent {OOS_LABEL}: out of scope"]
    if inp.confidence < policy.min_intent_confidence:
        floor = policy.min_intent_confidence
        return [f"intent {inp.intent} confidence {inp.confidence:.2f} below {floor:.2f}"]
    return []


def _repeat_reasons(inp: DecisionInput, policy: TenantPolicy) -> list[str]:
    """Escalate a question asked more than `repeat_max_count` times within the window."""
    times = inp.repeat_count + 1
    if times <= policy.repeat_max_count:
        return []
    window = f"{policy.repeat_window_hours:g} h"
    return [f"asked {times} times within {window} (more than {policy.repeat_max_count})"]


def _routing_reasons(inp: DecisionInput, policy: TenantPolicy) -> list[str]:
    """Priority routing for the tiers that get it; the route itself is kept."""
    if inp.tier and inp.tier in policy.priority_routing_tiers:
        return [f"tier {inp.tier}: priority routing"]
    return []


def _not_auto_answerable(inp: DecisionInput, policy: TenantPolicy) -> list[str]:
    """Every unmet condition of an automatic reply (empty: the ticket may be answered)."""
    missing = []
    if inp.intent not in policy.auto_answerable_intents:
        missing.append(f"intent {inp.intent} is not in the auto-answerable set")
    if inp.best_passage_score is None:
        missing.append("nothing retrieved")
    elif inp.best_passage_score < policy.min_passage_score:
        score, floor = inp.best_passage_score, policy.min_passage_score
        missing.append(f"best passage score {score:.3f} below {floor:.3f}")
    missing.extend(grounding_gaps(inp.output_verdict, policy))
    return missing


def grounding_gaps(
    verdict: PipelineVerdict | None, policy: TenantPolicy, *, what: str = "draft"
) -> list[str]:
    """Why the draft's (or a chat answer's) grounding does not allow sending it."""
    if verdict is None:
        return [f"no {what}"]
    grounding = verdict.get(GROUNDING_GUARD)
    score = grounding.scores.get(GROUNDING_GUARD) if grounding is not None else None
    if score is None:
        return [f"no grounding score for the {what}"]
    if score < policy.min_grounding_score:
        return [f"grounding {score:.2f} below {policy.min_grounding_score:.2f}"]
    return []
