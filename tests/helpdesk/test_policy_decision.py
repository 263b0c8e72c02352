"""Deciding a ticket: automatic reply, each escalation rule, severity, transfer, needs_info."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from guardrails.pipeline import PipelineVerdict
from guardrails.types import GuardVerdict
from helpdesk.policy import DecisionInput, TenantPolicy, decide, load_escalation_policy
from helpdesk.signals import PriorityPolicy, assign_priority, load_priority_policy

QUESTION = "Where is my order 4411? It was due on Monday."


@pytest.fixture(scope="module")
def policy() -> TenantPolicy:
    return load_escalation_policy().default


@pytest.fixture(scope="module")
def priorities() -> PriorityPolicy:
    return load_priority_policy()


def clean_input() -> PipelineVerdict:
    return PipelineVerdict(
        allowed=True,
        verdicts=(
            GuardVerdict(guard="language", allowed=True, labels={"language": "en"}),
            GuardVerdict(guard="pii", allowed=True, flags=("pii",), reasons=("redacted 1 ID",)),
            GuardVerdict(guard="injection", allowed=True, scores={"injection": 0.03}),
        ),
    )


def draft_verdict(grounding: float, *, threshold: float = 0.5) -> PipelineVerdict:
    grounded = grounding >= threshold
    return PipelineVerdict(
        allowed=grounded,
        verdicts=(
            GuardVerdict(
                guard="grounding",
                allowed=grounded,
                flags=() if grounded else ("ungrounded",),
                scores={"grounding": grounding},
            ),
            GuardVerdict(guard="pii_leak", allowed=True),
        ),
    )


def ticket(
    priorities: PriorityPolicy, text: str = QUESTION, *, sentiment: float = 0.0, **changes: Any
) -> DecisionInput:
    """A grounded, on-topic order-status ticket, with `changes` applied."""
    base = DecisionInput(
        tenant="acme",
        text_chars=len(text.strip()),
        intent="order_status",
        confidence=0.92,
        sentiment=sentiment,
        priority=assign_priority(priorities, text, language="en", sentiment=sentiment),
        input_verdict=clean_input(),
        output_verdict=draft_verdict(0.86),
        best_passage_score=0.031,
        text=text,
        language="en",
    )
    return replace(base, **changes)


def test_decide_replies_automatically_when_grounded_and_answerable(
    policy: TenantPolicy, priorities: PriorityPolicy
) -> None:
    decision = decide(ticket(priorities), policy)
    assert decision.action == "auto_reply"
    assert (decision.severity, decision.transfer, decision.priority_routing) == (
        "normal",
        False,
        False,
    )
    assert decision.reasons == ()


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"sentiment": -0.8}, "sentiment -0.80 below -0.60"),
        ({"intent": "oos", "confidence": 0.9}, "intent oos: out of scope"),
        ({"confidence": 0.31}, "intent order_status confidence 0.31 below 0.50"),
        ({"repeat_count": 3}, "asked 4 times within 24 h (more than 3)"),
        ({"intent": "talk_to_human"}, "intent talk_to_human: transfer to a person"),
    ],
)
def test_decide_escalates_with_the_reason_of_each_rule_alone(
    policy: TenantPolicy, priorities: PriorityPolicy, changes: dict[str, Any], reason: str
) -> None:
    decision = decide(ticket(priorities, **changes), policy)
    assert decision.action == "escalate"
    assert decision.reasons == (reason,)


def test_decide_does_not_escalate_a_third_repeat(
    policy: TenantPolicy, priorities: PriorityPolicy
) -> None:
    assert decide(ticket(priorities, repeat_count=2), policy).action == "auto_reply"


def test_decide_escalates_critical_on_a_p1_keyword(
    policy: TenantPolicy, priorities: PriorityPolicy
) -> None:
    decision = decide(ticket(priorities, "My order never came, my lawyer will hear of it."), policy)
    assert (decision.action, decision.severity) == ("escalate", "critical")
    assert decision.reasons == ("critical keyword 'lawyer' (legal, en)",)


def test_decide_escalates_angry_legal_ticket_as_critical_with_both_reasons(
    policy: TenantPolicy, priorities: PriorityPolicy
) -> None:
    text = "This is a disgrace. I am suing you, my attorney has the papers."
    decision = decide(ticket(priorities, text, sentiment=-0.85), policy)
    assert (decision.action, decision.severity) == ("escalate", "critical")
    assert decision.reasons == (
        "critical keyword 'suing' (legal, en)",
        "sentiment -0.85 below -0.60",
    )


def test_decide_escalates_with_every_reason_when_several_rules_fire(
    policy: TenantPolicy, priorities: PriorityPolicy
) -> None:
    inp = ticket(priorities, sentiment=-0.9, confidence=0.2, repeat_count=5, tier="vip")
    decision = decide(inp, policy)
    assert decision.action == "escalate"
    assert decision.reasons == (
        "sentiment -0.90 below -0.60",
        "intent order_status confidence 0.20 below 0.50",
        "asked 6 times within 24 h (more than 3)",
        "tier vip: priority routing",
    )
    assert (decision.severity, decision.priority_routing) == ("high", True)


def test_decide_transfers_when_the_intent_asks_for_a_person(
    policy: TenantPolicy, priorities: PriorityPolicy
) -> None:
    decision = decide(ticket(priorities, intent="talk_to_human"), policy)
    assert (decision.action, decision.transfer, decision.severity) == ("escalate", True, "high")


@pytest.mark.parametrize(
    ("text", "language", "phrase"),
    [
        ("Please let me talk to a human about order 4411.", "en", "talk to a human"),
        ("Ich will mit einem Menschen sprechen, Bestellung 4411.", "de", "mit einem Menschen"),
        ("Je veux parler à un humain, commande 4411.", "fr", "parler à un humain"),
        ("Quiero hablar con una persona sobre el pedido 4411.", "es", "hablar con una persona"),
    ],
)
def test_decide_transfers_on_a_human_request_phrase(
    policy: TenantPolicy, priorities: PriorityPolicy, text: str, language: str, phrase: str
) -> None:
    decision = decide(ticket(priorities, text, language=language), policy)
    assert (decision.action, decision.transfer) == ("escalate", True)
    assert decision.reasons == (f"asked for a person ({phrase!r}): transfer to a person",)


def test_decide_marks_vip_for_priority_routing_and_still_replies(
    policy: TenantPolicy, priorities: PriorityPolicy
) -> None:
    decision = decide(ticket(priorities, tier="vip"), policy)
    assert (decision.action, decision.priority_routing) == ("auto_reply", True)
    assert decision.reasons == ("tier vip: priority routing",)


def test_decide_escalates_an_ungrounded_draft_naming_the_flag(
    policy: TenantPolicy, priorities: PriorityPolicy
) -> None:
    decision = decide(ticket(priorities, output_verdict=draft_verdict(0.21)), policy)
    assert decision.action == "escalate"
    assert decision.reasons == ("guardrail flags on output (ungrounded): no automatic reply",)


def test_decide_escalates_a_draft_below_the_policy_grounding_threshold(
    priorities: PriorityPolicy,
) -> None:
    strict = TenantPolicy(auto_answerable_intents=("order_status",), min_grounding_score=0.9)
    decision = decide(ticket(priorities), strict)
    assert decision.reasons == ("not auto-answerable: grounding 0.86 below 0.90",)


def test_decide_escalates_input_injection_naming_the_flags(
    policy: TenantPolicy, priorities: PriorityPolicy
) -> None:
    flagged = PipelineVerdict(
        allowed=False,
        verdicts=(
            GuardVerdict(guard="pii", allowed=True, flags=("pii",)),
            GuardVerdict(guard="injection", allowed=False, flags=("injection",)),
            GuardVerdict(guard="timing", allowed=False, flags=("timeout",)),
        ),
    )
    decision = decide(ticket(priorities, input_verdict=flagged, output_verdict=None), policy)
    assert decision.action == "escalate"
    assert decision.reasons == (
        "guardrail flags on input (injection, timeout): no automatic reply",
    )


def test_decide_escalates_when_nothing_was_retrieved(
    policy: TenantPolicy, priorities: PriorityPolicy
) -> None:
    decision = decide(ticket(priorities, best_passage_score=None), policy)
    assert decision.action == "escalate"
    assert decision.reasons == ("not auto-answerable: nothing retrieved",)


def test_decide_escalates_when_the_best_passage_is_too_weak(priorities: PriorityPolicy) -> None:
    picky = TenantPolicy(auto_answerable_intents=("order_status",), min_passage_score=0.5)
    decision = decide(ticket(priorities, best_passage_score=0.2), picky)
    assert decision.reasons == ("not auto-answerable: best passage score 0.200 below 0.500",)


def test_decide_escalates_an_intent_outside_the_auto_answerable_set(
    policy: TenantPolicy, priorities: PriorityPolicy
) -> None:
    decision = decide(ticket(priorities, intent="complaint", output_verdict=None), policy)
    assert decision.reasons == (
        "not auto-answerable: intent complaint is not in the auto-answerable set; no draft",
    )


@pytest.mark.parametrize("text", ["", "   ", "help"])
def test_decide_asks_for_details_when_the_body_is_too_short(
    policy: TenantPolicy, priorities: PriorityPolicy, text: str
) -> None:
    inp = ticket(priorities, text, intent="oos", confidence=0.4, best_passage_score=None)
    decision = decide(replace(inp, output_verdict=None), policy)
    assert decision.action == "needs_info"
    assert decision.reasons == (
        f"body has {len(text.strip())} characters, fewer than 10: ask the customer for details",
    )


def test_decide_escalates_a_short_body_when_another_rule_fires(
    policy: TenantPolicy, priorities: PriorityPolicy
) -> None:
    decision = decide(ticket(priorities, "", intent="talk_to_human"), policy)
    assert (decision.action, decision.transfer) == ("escalate", True)
