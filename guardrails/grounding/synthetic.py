"""Synthetic training rows that teach what the dev sets' small edits cannot."""

from __future__ import annotations

import random
from typing import Any

from guardrails.grounding.claims import split_sentences

# Context sentences of this many words may be quoted (headings and run-ons are left out).
EXTRACT_WORDS = (3, 40)
# Sentences quoted at most, consecutive, as drafts quote a few (their clauses become claims).
EXTRACT_SENTENCES = 3


def get_group(row: dict[str, Any], number: int) -> str:
    """Rows sharing a source document share a group ("hq005_10" and "hq005_11": "hq005")."""
    row_id = str(row.get("id", number))
    return row_id.rsplit("_", 1)[0] if "_" in row_id else row_id


def _sample(rows: list[dict[str, Any]], limit: int, seed: int) -> list[dict[str, Any]]:
    """Up to `limit` rows in a seeded random order."""
    shuffled = list(rows)
    random.Random(seed).shuffle(shuffled)
    return shuffled[:limit]


def mismatched_rows(
    rows: list[dict[str, Any]], dataset: str, limit: int = 200, seed: int = 7
) -> list[dict[str, Any]]:
    """Answers paired with another document's context: unsupported whatever their wording."""
    # The dev sets hold only small edits; these teach that an off-topic draft is unsupported.
    shuffled = _sample(rows, limit, seed)
    fakes = []
    for i, row in enumerate(shuffled):
        other = shuffled[(i + 7) % len(shuffled)]
        if get_group(other, -1) == get_group(row, -2):
            continue
        fake = {k: row[k] for k in ("answer", "question") if k in row}
        origins = [f"{dataset}/{get_group(r, -1)}" for r in (row, other)]
        fakes.append(
            fake
            | {"id": f"mismatch-{i}", "context": other["context"], "origins": origins}
            | {"label_hallucinated": 1}
        )
    return fakes


def extractive_rows(
    rows: list[dict[str, Any]], dataset: str, limit: int = 200, seed: int = 11
) -> list[dict[str, Any]]:
    """One to three sentences of each context quoted back as the answer: supported."""
    # The dev sets' faithful answers are short (HaluEval) or paraphrased (SummEdits); a draft
    # that quotes its passage must still count as grounded.
    rng = random.Random(seed)
    fakes = []
    for i, row in enumerate(_sample(rows, limit, seed)):
        context = row["context"] if isinstance(row["context"], str) else " ".join(row["context"])
        low, high = EXTRACT_WORDS
        sentences = [s for s in split_sentences(context) if low <= len(s.split()) <= high]
        if not sentences:
            continue
        start = rng.randrange(len(sentences))
        answer = " ".join(sentences[start : start + rng.randint(1, EXTRACT_SENTENCES)])
        fakes.append(
            {k: row[k] for k in ("context", "question") if k in row}
            | {"id": f"extract-{i}", "answer": answer, "label_hallucinated": 0}
            | {"origins": [f"{dataset}/{get_group(row, -1)}"]}
        )
    return fakes
