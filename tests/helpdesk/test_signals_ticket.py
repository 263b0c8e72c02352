"""All signals of a ticket together: reasons from each part, bounded and empty inputs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from helpdesk.signals import SignalsPolicy, load_signals_policy, ticket_signals

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def policy() -> SignalsPolicy:
    return load_signals_policy()


def test_ticket_signals_combine_sentiment_priority_and_route(policy: SignalsPolicy) -> None:
    signals = ticket_signals(
        "Third time I write: you charged me twice and it is still not refunded. Unacceptable!",
        language="en",
        intent="payment_billing",
        confidence=0.92,
        tier="business",
        now=NOW,
        policy=policy,
    )
    assert signals.sentiment < -0.6
    assert signals.priority.level == "P2"
    assert (signals.route.team, signals.route.queue) == ("payments", "payments")
    assert len(signals.priority.reasons) == 3


def test_ticket_signals_are_p1_when_sla_is_near(policy: SignalsPolicy) -> None:
    signals = ticket_signals(
        "Where is my parcel?",
        language="en",
        intent="order_status",
        sla_due_at=NOW + timedelta(minutes=20),
        now=NOW,
        policy=policy,
    )
    assert signals.priority.level == "P1"


def test_ticket_signals_of_empty_text_are_neutral_and_default(policy: SignalsPolicy) -> None:
    signals = ticket_signals("", language="", policy=policy)
    assert (signals.sentiment, signals.priority.level) == (0.0, "P4")
    assert signals.route.team == "general-support"


def test_ticket_signals_of_a_megabyte_text_are_bounded(policy: SignalsPolicy) -> None:
    huge = "Mein Anwalt meldet sich. " + "bla " * 300_000
    signals = ticket_signals(huge, language="de", intent="legal_threat", policy=policy)
    assert signals.priority.level == "P1"
    assert signals.route.queue == "legal"


def test_ticket_signals_work_with_built_in_defaults_without_files() -> None:
    signals = ticket_signals("Danke!", language="de", policy=SignalsPolicy())
    assert signals.priority.level == "P4"
    assert signals.sentiment > 0.3
