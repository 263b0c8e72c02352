"""The grounding guard on support drafts: invented facts are caught, faithful drafts pass."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from airlock.config import load_settings
from airlock.settings import AirlockSettings
from guardrails.errors import GuardInputError, GuardModelError
from guardrails.grounding import GroundingGuard, build_grounding_guard
from guardrails.grounding.model import load_claim_model
from guardrails.types import GuardContext

REFUNDS = (
    "Refunds: you can return any unused item within 30 days of delivery for a full refund. "
    "A return shipping fee of €20 is deducted from the refund unless the item arrived damaged."
)
RETURNS = (
    "To start a return, sign in to your account, open Orders and choose Return item. Print the "
    "prepaid label and drop the parcel at any post office. Questions about returns go to "
    "returns@acme.example or https://acme.example/returns."
)
PASSAGES = (REFUNDS, RETURNS)
QUESTION = "Can I get my money back for order ORD-12345? It arrived last week."


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> AirlockSettings:
    return load_settings(overrides={"data_dir": str(tmp_path_factory.mktemp("data"))}, environ={})


@pytest.fixture(scope="module")
def guard(settings: AirlockSettings) -> GroundingGuard:
    return build_grounding_guard(settings)


def test_invented_refund_amount_is_ungrounded_and_its_sentence_listed(
    guard: GroundingGuard,
) -> None:
    draft = (
        "You can return unused items within 30 days of delivery [1]. "
        "A return fee of €50 is deducted from your refund [1]."
    )
    result = guard.assess(draft, PASSAGES, QUESTION)
    assert not result.grounded
    assert result.unsupported == ("A return fee of €50 is deducted from your refund [1].",)
    assert "amount: €50" in result.claims[1].missing
    assert result.claims[0].supported


def test_faithful_paraphrase_with_citations_is_grounded(guard: GroundingGuard) -> None:
    draft = (
        "Hi! You can return unused items within 30 days of delivery for a full refund [1]. "
        "A €20 return shipping fee is deducted unless the item arrived damaged [1]. "
        "To start, sign in, open Orders and choose Return item [2]. I hope this helps!"
    )
    result = guard.assess(draft, PASSAGES, QUESTION)
    assert result.grounded, result
    assert result.unsupported == ()
    assert [c.citations for c in result.claims] == [(1,), (1,), (2,)]


@pytest.mark.parametrize(
    ("draft", "missing"),
    [
        ("You can start the return at https://acme.example/refund-now [2].", "url"),
        ("Write to refunds@acme.example to start your return [2].", "email"),
        ("Your order ORD-99999 can be returned within 30 days of delivery [1].", "id"),
        ("You can return unused items within 60 days of delivery [1].", "number"),
    ],
)
def test_invented_contact_or_identifier_is_caught(
    guard: GroundingGuard, draft: str, missing: str
) -> None:
    result = guard.assess(draft, PASSAGES, QUESTION)
    assert not result.grounded
    assert result.unsupported == (draft,)
    assert any(m.startswith(f"{missing}: ") for m in result.claims[0].missing)


def test_negated_policy_contradicts_its_passage(guard: GroundingGuard) -> None:
    result = guard.assess(
        "You cannot return unused items within 30 days of delivery [1].", PASSAGES, QUESTION
    )
    assert not result.grounded
    assert result.claims[0].contradiction == "negation"
    assert result.claims[0].best_passage == 1


def test_invented_clause_appended_to_a_true_sentence_is_unsupported(
    guard: GroundingGuard,
) -> None:
    draft = (
        "You can return unused items within 30 days of delivery for a full refund, and we will "
        "also send you a free gift card as an apology [1]."
    )
    result = guard.assess(draft, PASSAGES, QUESTION)
    assert not result.grounded
    assert result.unsupported == (draft,)
    assert [c.supported for c in result.claims] == [True, False]


def test_off_topic_draft_is_ungrounded(guard: GroundingGuard) -> None:
    draft = "Our headquarters moved downtown last spring and the cafeteria now serves vegan food."
    assert not guard.assess(draft, PASSAGES, QUESTION).grounded


def test_empty_answer_is_grounded_with_no_claims(guard: GroundingGuard) -> None:
    result = guard.assess("", PASSAGES, QUESTION)
    assert result.grounded and result.score == 1.0 and result.claims == ()


def test_courtesy_only_answer_asserts_nothing(guard: GroundingGuard) -> None:
    result = guard.assess("Thanks for reaching out! I hope this helps.\n\nKind regards,\nAcme", ())
    assert result.grounded and result.claims == ()


def test_claim_without_passages_is_unsupported(guard: GroundingGuard) -> None:
    result = guard.assess("Refunds take 30 days.", ())
    assert not result.grounded


def test_text_over_the_limit_is_refused_naming_the_limit(guard: GroundingGuard) -> None:
    with pytest.raises(GuardInputError, match=r"over the limit of 100000"):
        guard.assess("x" * 100_001, PASSAGES)
    with pytest.raises(GuardInputError, match="passage 2"):
        guard.assess("Refunds take 30 days.", ("ok", "y" * 100_001))


def test_check_flags_an_ungrounded_draft_with_its_unsupported_sentence(
    guard: GroundingGuard,
) -> None:
    draft = "A return fee of €50 is deducted from your refund [1]."
    context = GuardContext(passages=PASSAGES, question=QUESTION)
    verdict = asyncio.run(guard.check(draft, context=context))
    assert verdict.guard == "grounding" and not verdict.allowed
    assert verdict.flags == ("ungrounded",)
    assert verdict.unsupported == (draft,)
    assert verdict.scores["grounding"] < guard.threshold
    assert verdict.elapsed_ms > 0


def test_check_allows_a_grounded_draft(guard: GroundingGuard) -> None:
    context = GuardContext(passages=PASSAGES, question=QUESTION)
    verdict = asyncio.run(
        guard.check("You can return unused items within 30 days of delivery [1].", context=context)
    )
    assert verdict.allowed and verdict.flags == () and verdict.unsupported == ()


def test_threshold_comes_from_settings(settings: AirlockSettings) -> None:
    strict = load_settings(
        overrides={
            "data_dir": str(settings.data_dir),
            "guardrails": {"grounding": {"threshold": 1}},
        },
        environ={},
    )
    guard = build_grounding_guard(strict)
    assert guard.threshold == 1.0
    assert not guard.assess("You can return unused items within 30 days [1].", PASSAGES).grounded


def test_damaged_model_file_is_a_guard_model_error(tmp_path: Path) -> None:
    path = tmp_path / "claim_support.json"
    path.write_text('{"format": 1, "features": ["coverage"]}', encoding="utf-8")
    with pytest.raises(GuardModelError, match="invalid"):
        load_claim_model(path)


def test_verbatim_clauses_of_a_passage_are_grounded(guard: GroundingGuard) -> None:
    passage = (
        "These assays detect many respiratory viruses, including other coronaviruses, "
        "but they do not detect COVID-19. COVID-19 is a new disease and we are still "
        "learning how it spreads. You should also refrain from shaking hands."
    )
    draft = (
        "These assays detect many respiratory viruses, including other coronaviruses, "
        "but they do not detect COVID-19 [1]. COVID-19 is a new disease and we are still "
        "learning how it spreads [1]. You should also refrain from shaking hands [1]."
    )
    result = guard.assess(draft, [passage], "question?")
    assert result.grounded, result.reasons
    assert all(c.contradiction is None for c in result.claims)
