"""PII analysis: each type in a support ticket, limits, chunking, and what is not PII."""

from __future__ import annotations

import itertools

import pytest

from airlock.config import load_settings
from guardrails.errors import GuardInputError
from guardrails.pii import PiiGuard, build_pii_guard
from guardrails.pii.engine import CHUNK_CHARS

# (type, a support-ticket sentence, the value that must be found)
TICKETS = [
    ("EMAIL_ADDRESS", "Send the invoice to maria.lopez@example.org.", "maria.lopez@example.org"),
    ("PHONE_NUMBER", "You can call me back on +44 20 7946 0958 after 5pm.", "+44 20 7946 0958"),
    ("PHONE_NUMBER", "My mobile is 0494 92 82 32 if the line drops.", "0494 92 82 32"),
    ("CREDIT_CARD", "The card 4111 1111 1111 1111 was charged twice.", "4111 1111 1111 1111"),
    ("IBAN_CODE", "Refund to DE89 3704 0044 0532 0130 00 please.", "DE89 3704 0044 0532 0130 00"),
    ("US_SSN", "For the tax form, my social security number is 536-22-8726.", "536-22-8726"),
    ("IP_ADDRESS", "The login from 203.0.113.57 was not me, please lock it.", "203.0.113.57"),
    ("URL", "Checkout at https://shop.example.com/cart/91 fails.", "https://shop.example.com/cart/91"),
    ("CRYPTO", "Paid 1BoatSLRHtKNngkdXEeobR76b53LETtpyT.", "1BoatSLRHtKNngkdXEeobR76b53LETtpyT"),
    ("PERSON", "Hello, my name is Olga Krylova and my parcel never arrived.", "Olga Krylova"),
    ("PERSON", "Please ask Dr. Nishiyama to call the customer back.", "Nishiyama"),
    ("STREET_ADDRESS", "To 221B Baker Street, London NW1 6XE", "221B Baker Street, London NW1 6XE"),
    ("STREET_ADDRESS", "I now live at Søndergade 52, 8000 Aarhus.", "Søndergade 52, 8000 Aarhus"),
    ("ORDER_ID", "Where is my order ORD-20451187? It is a week late.", "ORD-20451187"),
    ("ACCOUNT_ID", "My account number is 88412345 and I cannot log in.", "88412345"),
    ("TICKET_ID", "This is a follow-up to ticket #45821, still unresolved.", "45821"),
    ("SECRET", "Our key AKIAIOSFODNN7EXAMPLE, is that leaked?", "AKIAIOSFODNN7EXAMPLE"),
    ("SECRET", "It sends Authorization: Bearer eyJhbGciOiJIUzI1NiJ9abc", "eyJhbGciOiJIUzI1NiJ9abc"),
    ("SECRET", "I reset it, the new password: Tr0ub4dor&3 works now.", "Tr0ub4dor&3"),
]  # fmt: skip


@pytest.mark.parametrize(("entity_type", "text", "value"), TICKETS)
def test_each_type_is_found_in_a_support_ticket_sentence(
    pii_guard: PiiGuard, entity_type: str, text: str, value: str
) -> None:
    found = {(e.type, text[e.start : e.end]) for e in pii_guard.analyze(text)}
    assert (entity_type, value) in found


def test_product_place_and_day_names_are_not_people(pii_guard: PiiGuard) -> None:
    text = (
        "I ordered a Samsung Galaxy on Monday from your Amazon store in Seattle. "
        "The Windows app crashes in Chrome. Could Customer Service call back?"
    )
    assert [e for e in pii_guard.analyze(text) if e.type == "PERSON"] == []


def test_card_number_failing_the_luhn_check_is_not_a_card(pii_guard: PiiGuard) -> None:
    entities = pii_guard.analyze("My card 4111 1111 1111 1112 was declined.")
    assert "CREDIT_CARD" not in {e.type for e in entities}


def test_entities_do_not_overlap_and_end_is_exclusive(pii_guard: PiiGuard) -> None:
    text = "Mail jane.doe@example.com or call 541-714-1388."
    entities = pii_guard.analyze(text)
    assert [(e.type, text[e.start : e.end]) for e in entities] == [
        ("EMAIL_ADDRESS", "jane.doe@example.com"),
        ("PHONE_NUMBER", "541-714-1388"),
    ]
    assert all(a.end <= b.start for a, b in itertools.pairwise(entities))


@pytest.mark.parametrize("text", ["", "   \n\t "])
def test_empty_text_has_no_entities(pii_guard: PiiGuard, text: str) -> None:
    assert pii_guard.analyze(text) == []


def test_text_over_the_limit_is_refused_naming_the_limit(pii_guard: PiiGuard) -> None:
    limit = pii_guard.analyzer.max_chars
    with pytest.raises(GuardInputError, match=f"limit of {limit}"):
        pii_guard.analyze("a" * (limit + 1))


def test_long_text_is_analyzed_in_chunks_with_true_offsets(pii_guard: PiiGuard) -> None:
    filler = "The parcel was late again and nobody answered. "
    head = filler * (CHUNK_CHARS // len(filler))
    text = (
        head + "Write to jane.doe@example.com today. " + filler * 200 + "Card 4111 1111 1111 1111."
    )
    found = {(e.type, text[e.start : e.end]) for e in pii_guard.analyze(text)}
    assert ("EMAIL_ADDRESS", "jane.doe@example.com") in found
    assert ("CREDIT_CARD", "4111 1111 1111 1111") in found


def test_dates_are_found_only_when_detect_dates_is_on(pii_guard: PiiGuard, tmp_path) -> None:
    text = "I was charged on 2024-03-12 for nothing."
    assert "DATE_TIME" not in {e.type for e in pii_guard.analyze(text)}
    settings = load_settings(
        overrides={"data_dir": str(tmp_path), "guardrails": {"pii": {"detect_dates": True}}},
        environ={},
    )
    dated = build_pii_guard(settings)
    assert ("DATE_TIME", "2024-03-12") in {
        (e.type, text[e.start : e.end]) for e in dated.analyze(text)
    }
