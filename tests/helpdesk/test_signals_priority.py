"""Priority: keywords in several languages, whole-word matching, tier, sentiment, intent, SLA."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from helpdesk.signals import (
    PriorityPolicy,
    SignalsConfigError,
    assign_priority,
    load_priority_policy,
)

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def policy() -> PriorityPolicy:
    return load_priority_policy()


@pytest.mark.parametrize(
    ("text", "language", "keyword"),
    [
        ("If this is not fixed I will call my lawyer.", "en", "lawyer"),
        ("Mein Rechtsanwalt wird sich bei Ihnen melden.", "de", "Rechtsanwalt"),
        ("Je vais contacter mon avocat.", "fr", "avocat"),
        ("Voy a hablar con mi abogado.", "es", "abogado"),
        ("Sie haben mich betrogen, das ist BETRUG.", "de", "BETRUG"),
        ("Mi tarjeta fue robada y hay cargos de suplantación de identidad.", "es", "robada"),
    ],
)
def test_priority_is_p1_with_keyword_reason_for_legal_and_fraud_words(
    policy: PriorityPolicy, text: str, language: str, keyword: str
) -> None:
    priority = assign_priority(policy, text, language=language)
    assert priority.level == "P1"
    assert priority.name == "critical"
    assert any(repr(keyword) in reason for reason in priority.reasons), priority.reasons


def test_priority_matches_keywords_without_accents_or_case(policy: PriorityPolicy) -> None:
    priority = assign_priority(policy, "Probleme de FUITE DE DONNEES chez vous", language="fr")
    assert priority.level == "P1"


def test_priority_ignores_keywords_inside_other_words(policy: PriorityPolicy) -> None:
    text = "The flawyer blog talks about defraudation and a courtyard."
    priority = assign_priority(policy, text, language="en")
    assert (priority.level, priority.reasons) == ("P4", ())


def test_priority_reads_english_keywords_in_a_german_ticket(policy: PriorityPolicy) -> None:
    assert assign_priority(policy, "Ich habe einen lawyer", language="de").level == "P1"


def test_priority_reads_all_languages_when_language_is_unknown(policy: PriorityPolicy) -> None:
    assert assign_priority(policy, "avocat", language="").level == "P1"


def test_priority_raises_one_level_for_vip_tier(policy: PriorityPolicy) -> None:
    standard = assign_priority(policy, "How do I pair the lock?", tier="standard")
    vip = assign_priority(policy, "How do I pair the lock?", tier="vip")
    assert (standard.level, vip.level) == ("P4", "P2")
    assert "tier vip raises by 1: P3 -> P2" in vip.reasons


def test_priority_raises_one_level_for_angry_sentiment(policy: PriorityPolicy) -> None:
    calm = assign_priority(policy, "charged twice", intent="payment_billing", sentiment=-0.2)
    angry = assign_priority(policy, "charged twice", intent="payment_billing", sentiment=-0.8)
    assert (calm.level, angry.level) == ("P3", "P2")
    assert any(reason.startswith("sentiment -0.80") for reason in angry.reasons)


def test_priority_sets_intent_floor_only_when_confident(policy: PriorityPolicy) -> None:
    sure = assign_priority(policy, "x", intent="legal_threat", confidence=0.9)
    unsure = assign_priority(policy, "x", intent="legal_threat", confidence=0.2)
    assert (sure.level, unsure.level) == ("P2", "P4")


@pytest.mark.parametrize(("minutes", "level"), [(-15, "P1"), (10, "P1"), (90, "P2"), (600, "P4")])
def test_priority_follows_sla_due_time(policy: PriorityPolicy, minutes: int, level: str) -> None:
    due = NOW + timedelta(minutes=minutes)
    assert assign_priority(policy, "hello", sla_due_at=due, now=NOW).level == level


def test_priority_reads_naive_sla_times_as_utc(policy: PriorityPolicy) -> None:
    due = (NOW + timedelta(minutes=5)).replace(tzinfo=None)
    priority = assign_priority(policy, "hello", sla_due_at=due, now=NOW)
    assert priority.reasons == ("SLA due in 5 min (within 30) sets P1",)


def test_priority_policy_validates_a_dict(tmp_path: Path) -> None:
    policy = PriorityPolicy.model_validate(
        {"base": "P3", "keywords": [{"name": "outage", "terms": {"*": ["down"]}}]}
    )
    assert assign_priority(policy, "Everything is DOWN", language="nl").level == "P1"
    assert assign_priority(policy, "downtown", language="nl").level == "P3"


def test_priority_policy_file_error_names_file_and_key(tmp_path: Path) -> None:
    path = tmp_path / "priority.yaml"
    path.write_text("tiers:\n  vip: {at_least: P0}\n", encoding="utf-8")
    with pytest.raises(SignalsConfigError, match=r"priority.yaml is invalid: tiers\.vip\.at_least"):
        load_priority_policy(path)


def test_priority_policy_file_error_names_unknown_field(tmp_path: Path) -> None:
    path = tmp_path / "priority.yaml"
    path.write_text("sentiment_treshold: -0.5\n", encoding="utf-8")
    with pytest.raises(SignalsConfigError, match="sentiment_treshold"):
        load_priority_policy(path)
