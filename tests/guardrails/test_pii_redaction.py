"""Redaction: placeholders consistent within a ticket, masks, salted hashes, the guard verdict."""

from __future__ import annotations

import asyncio
from pathlib import Path

from airlock.config import load_settings
from guardrails.pii import PiiGuard, build_pii_guard
from guardrails.types import GuardContext


def test_same_value_keeps_its_placeholder_across_calls_of_one_ticket(pii_guard: PiiGuard) -> None:
    session = pii_guard.new_session(tenant="acme", subject_id="c-42", scope="T-1001")
    first = pii_guard.redact(
        "Hi, I am Olga Krylova, write to olga.k@example.com please.", session=session
    )
    second = pii_guard.redact(
        "Olga Krylova again: my husband Piotr Nowak also uses olga.k@example.com.",
        session=session,
    )
    assert first == "Hi, I am <PERSON_1>, write to <EMAIL_ADDRESS_1> please."
    assert second == "<PERSON_1> again: my husband <PERSON_2> also uses <EMAIL_ADDRESS_1>."


def test_one_value_written_two_ways_gets_one_placeholder(pii_guard: PiiGuard) -> None:
    session = pii_guard.new_session()
    text = "Call +44 20 7946 0958 or +442079460958, both are my mobile."
    assert pii_guard.redact(text, session=session) == (
        "Call <PHONE_NUMBER_1> or <PHONE_NUMBER_1>, both are my mobile."
    )


def test_a_new_ticket_numbers_its_placeholders_from_one(pii_guard: PiiGuard) -> None:
    pii_guard.redact("Ask Dr. Nishiyama.", session=pii_guard.new_session(scope="T-1"))
    other = pii_guard.redact("Ask Dr. Kowalski.", session=pii_guard.new_session(scope="T-2"))
    assert other == "Ask Dr. <PERSON_1>."


def test_mask_mode_hides_every_value(tmp_path: Path) -> None:
    settings = load_settings(
        overrides={"data_dir": str(tmp_path), "guardrails": {"pii": {"anonymize": "mask"}}},
        environ={},
    )
    guard = build_pii_guard(settings)
    assert (
        guard.redact("Mail olga.k@example.com or call 541-714-1388.") == "Mail **** or call ****."
    )


def test_hash_mode_is_stable_per_key_and_differs_between_keys(tmp_path: Path) -> None:
    def guard_on(data_dir: Path) -> PiiGuard:
        overrides = {"data_dir": str(data_dir), "guardrails": {"pii": {"anonymize": "hash"}}}
        return build_pii_guard(load_settings(overrides=overrides, environ={}))

    text = "Mail olga.k@example.com today."
    one, same, other = guard_on(tmp_path / "a"), guard_on(tmp_path / "a"), guard_on(tmp_path / "b")
    hashed = one.redact(text)
    assert hashed.startswith("Mail <EMAIL_ADDRESS_") and "olga" not in hashed
    assert same.redact(text) == hashed
    assert other.redact(text) != hashed
    assert (tmp_path / "a" / "keys" / "pii-master.key").stat().st_mode & 0o777 == 0o600


def test_check_redacts_and_still_allows_the_ticket(pii_guard: PiiGuard) -> None:
    text = "My name is Olga Krylova and my card 4111 1111 1111 1111 was charged twice."
    verdict = asyncio.run(pii_guard.check(text, context=GuardContext(tenant="acme")))
    assert verdict.guard == "pii"
    assert verdict.allowed is True
    assert verdict.flags == ("pii",)
    assert (
        verdict.redacted == "My name is <PERSON_1> and my card <CREDIT_CARD_1> was charged twice."
    )
    assert [e.type for e in verdict.entities] == ["PERSON", "CREDIT_CARD"]
    assert verdict.elapsed_ms > 0
    assert "Olga" not in " ".join(verdict.reasons)


def test_check_of_a_text_without_pii_is_not_flagged(pii_guard: PiiGuard) -> None:
    verdict = asyncio.run(pii_guard.check("The app crashes on start.", context=GuardContext()))
    assert (verdict.allowed, verdict.flags, verdict.entities) == (True, (), ())
    assert verdict.redacted == "The app crashes on start."
