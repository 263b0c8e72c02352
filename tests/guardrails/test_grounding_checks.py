"""Claim extraction and the hard checks of the grounding guard (no model needed)."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from guardrails.grounding.checks import extract_facts, find_missing, index_sources
from guardrails.grounding.claims import extract_claims, split_sentences


def missing_in(answer: str, *sources: str, question: str = "") -> list[str]:
    return [
        f"{f.kind}: {f.text}"
        for f in find_missing(extract_facts(answer), index_sources(sources, question))
    ]


def test_citation_markers_stay_with_their_sentence_and_are_not_claims() -> None:
    claims = extract_claims("Refunds take 30 days.[1] Shipping is free [2][3]. [4]")
    assert [c.body for c in claims] == ["Refunds take 30 days.", "Shipping is free."]
    assert [c.citations for c in claims] == [(1,), (2, 3, 4)]


def test_greetings_courtesy_questions_and_signature_are_not_claims() -> None:
    answer = (
        "Hi Maria, refunds take 30 days [1]. I hope this helps! Would you like a label? "
        "Please let me know if you have any other questions.\n\nKind regards,\nAcme Support"
    )
    assert [c.body for c in extract_claims(answer)] == ["refunds take 30 days."]


def test_thanks_to_a_policy_is_a_claim_not_courtesy() -> None:
    claims = extract_claims("Thanks to the new policy, returns are free for members.")
    assert len(claims) == 1


def test_abbreviations_and_decimals_do_not_end_sentences() -> None:
    text = "Dr. Smith paid $0.13 per share, e.g. in the U.S. market. It rose."
    assert split_sentences(text) == [
        "Dr. Smith paid $0.13 per share, e.g. in the U.S. market.",
        "It rose.",
    ]


def test_a_clause_with_its_own_subject_is_a_separate_claim() -> None:
    claims = extract_claims("Refunds take 30 days, and we will also send you a gift card.")
    assert [c.body for c in claims] == [
        "Refunds take 30 days",
        "and we will also send you a gift card.",
    ]
    assert {c.text for c in claims} == {
        "Refunds take 30 days, and we will also send you a gift card."
    }


def test_amounts_compare_by_value_whatever_the_currency_notation() -> None:
    assert missing_in("The fee is €20.00.", "A fee of EUR 20 applies.") == []
    assert missing_in("The fee is €50.", "A fee of EUR 20 applies.") == ["amount: €50"]
    assert missing_in("It earned $3.1 billion.", "Revenue was 3.1 billion dollars.") == []
    assert missing_in("It earned $3.1 million.", "Revenue was 3.1 billion dollars.") == [
        "amount: $3.1 million"
    ]


def test_numbers_in_words_match_digits() -> None:
    assert missing_in("Returns are accepted for thirty days.", "Return within 30 days.") == []
    assert missing_in("It takes twenty-five days.", "It takes 25 days.") == []
    assert missing_in("It takes sixty days.", "It takes 30 days.") == ["number: sixty"]


def test_dates_match_across_formats() -> None:
    source = "The sale ends on 2024-03-05 at 09:00."
    assert missing_in("The sale ends on March 5, 2024 at 9 am.", source) == []
    assert missing_in("The sale ends on April 5, 2024.", source) == ["date: April"]


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("See https://acme.example/returns.", []),
        ("See acme.example/returns", []),
        ("See https://acme.example/refunds.", ["url: https://acme.example/refunds"]),
        ("Write to returns@acme.example.", []),
        ("Write to refunds@acme.example.", ["email: refunds@acme.example"]),
        ("Call +1 800 555 0100.", []),
        ("Call +1 800 555 0199.", ["id: +1 800 555 0199"]),
        ("Order ORD-12345 ships today.", []),
        ("Order ORD-55555 ships today.", ["id: ORD-55555"]),
    ],
)
def test_contacts_and_identifiers_must_appear_in_sources(answer: str, expected: list[str]) -> None:
    sources = (
        "Returns: https://acme.example/returns/form or returns@acme.example.",
        "Phone +1 800 555 0100.",
    )
    assert missing_in(answer, *sources, question="Where is ORD-12345?") == expected


def test_question_supplies_names_and_ids_but_not_numbers() -> None:
    question = "Hi, I am Maria Lopez, can I get €50 back for ORD-12345?"
    assert (
        missing_in("Maria Lopez, order ORD-12345 qualifies.", "Refunds apply.", question=question)
        == []
    )
    assert missing_in("You get €50 back.", "Refunds apply.", question=question) == ["amount: €50"]


def test_invented_names_are_missing_entities() -> None:
    source = "Donahue replaced Kelli Ward as chair in 2019."
    assert missing_in("Donahue replaced Kelli Clarkson.", source) == ["entity: Kelli Clarkson"]
    assert missing_in("Donahue replaced Kelli Ward.", source) == []


def test_synthetic_rows_name_the_documents_they_come_from() -> None:
    from guardrails.grounding.synthetic import extractive_rows, mismatched_rows

    rows = [
        {"id": f"doc{i}_1", "context": f"Passage {i} says that item {i} ships within {i} days.",
         "answer": f"Item {i} ships fast.", "label_hallucinated": 0}
        for i in range(10)
    ]  # fmt: skip
    extracted = extractive_rows(rows, "dev")
    assert extracted and all(r["label_hallucinated"] == 0 for r in extracted)
    assert all(r["answer"] in r["context"] for r in extracted)
    assert all(r["origins"][0].startswith("dev/doc") for r in extracted)
    mismatched = mismatched_rows(rows, "dev")
    assert all(r["label_hallucinated"] == 1 and len(set(r["origins"])) == 2 for r in mismatched)
    assert extractive_rows(rows, "dev") == extracted  # seeded: training stays deterministic


def test_length_batched_embedding_keeps_each_text_its_vector() -> None:
    import numpy as np

    from models.embedding_cache import CachingEmbedder

    class CountingEmbedder:
        model_id, dimension = "fake", 2

        def __init__(self) -> None:
            self.batches: list[int] = []

        def embed(self, texts: Sequence[str]) -> np.ndarray:
            self.batches.append(len(texts))
            return np.array([[len(t), 1.0] for t in texts], dtype=np.float32)

    inner = CountingEmbedder()
    texts = ["x" * n for n in (9, 1, 5, 3, 7, 2)]
    vectors = CachingEmbedder(inner).embed(texts)
    assert vectors[:, 0].tolist() == [9, 1, 5, 3, 7, 2]
    assert max(inner.batches) < len(texts)


def test_opposite_word_counts_only_when_said_of_the_same_thing() -> None:
    from guardrails.grounding.contrast import count_aligned_opposites
    from guardrails.grounding.lexicon import get_tokens

    source = get_tokens("We raised the dividend and expect net debt to decrease below $25 billion.")
    same = get_tokens("The company expects net debt to increase above $25 billion.")
    other = get_tokens("The company expects to increase the dividend and reduce net debt.")
    assert count_aligned_opposites(same, source) >= 1
    assert count_aligned_opposites(other, source) == 0
