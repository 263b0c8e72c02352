"""The output leak check: PII in a draft must come from the customer's ticket or the passages."""

from __future__ import annotations

import asyncio

from guardrails.pii import PiiGuard
from guardrails.types import GuardContext

TICKET = "Hi, this is Olga Krylova (olga.k@example.com). My order ORD-20451187 never came."
PASSAGES = ("Returns: call our hotline +1 (541) 714-1388 or write to returns@shop.example.",)


def _check(guard: PiiGuard, draft: str):
    context = GuardContext(tenant="acme", ticket_text=TICKET, passages=PASSAGES)
    return asyncio.run(guard.leak_guard().check(draft, context=context))


def test_draft_with_an_email_absent_from_ticket_and_passages_is_blocked(
    pii_guard: PiiGuard,
) -> None:
    verdict = _check(pii_guard, "Dear Olga, we have forwarded your case to john.smith@example.net.")
    assert verdict.guard == "pii_leak"
    assert verdict.allowed is False
    assert verdict.flags == ("pii_leak",)
    assert verdict.reasons == ("EMAIL_ADDRESS not in the ticket or the passages",)
    assert "john.smith" not in " ".join(verdict.reasons)
    assert [e.type for e in verdict.entities] == ["EMAIL_ADDRESS"]


def test_draft_with_the_email_from_the_ticket_passes(pii_guard: PiiGuard) -> None:
    verdict = _check(pii_guard, "Dear Olga Krylova, we will reply to olga.k@example.com today.")
    assert verdict.allowed is True
    assert verdict.flags == ()


def test_phone_from_the_passages_in_another_writing_passes(pii_guard: PiiGuard) -> None:
    verdict = _check(pii_guard, "Please call our hotline on 541-714-1388 for the return label.")
    assert verdict.allowed is True


def test_another_customers_card_number_is_a_leak(pii_guard: PiiGuard) -> None:
    verdict = _check(pii_guard, "The refund went to card 4111 1111 1111 1111 on Monday.")
    assert verdict.allowed is False
    assert verdict.reasons == ("CREDIT_CARD not in the ticket or the passages",)


def test_placeholders_in_a_draft_are_no_leak(pii_guard: PiiGuard) -> None:
    verdict = _check(
        pii_guard, "Dear <PERSON_1>, we wrote to <EMAIL_ADDRESS_1> about <ORDER_ID_1>."
    )
    assert verdict.allowed is True
