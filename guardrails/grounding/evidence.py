"""The evidence a draft is checked against: passage sentences, their words, facts and vectors."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from itertools import pairwise

import numpy as np

from guardrails.grounding.checks import SourceFacts, index_sources
from guardrails.grounding.claims import clean_sentence, split_sentences
from guardrails.grounding.lexicon import get_tokens, is_content, stem


@dataclass(frozen=True)
class SourceSentence:
    """One sentence of a passage: its content stems, all stems and normalised tokens."""

    text: str
    passage: int
    stems: frozenset[str]
    all_stems: frozenset[str]
    tokens: tuple[str, ...]


@dataclass(frozen=True)
class Evidence:
    """Everything a claim is compared with, built once per draft."""

    sentences: tuple[SourceSentence, ...]
    stems: frozenset[str]
    bigrams: frozenset[tuple[str, str]]
    facts: SourceFacts
    vectors: np.ndarray
    all_stems: frozenset[str] = frozenset()


def get_bigrams(stems: Sequence[str]) -> set[tuple[str, str]]:
    """Adjacent pairs of content stems."""
    return set(pairwise(stems))


def content_stems(tokens: Sequence[str]) -> list[str]:
    """Stems of the content tokens, in order."""
    return [stem(t) for t in tokens if is_content(t)]


def split_passages(passages: Sequence[str]) -> list[SourceSentence]:
    """The sentences of the passages (citations and Markdown removed)."""
    sentences = []
    for number, passage in enumerate(passages, start=1):
        for raw in split_sentences(passage):
            text = clean_sentence(raw)
            tokens = get_tokens(text)
            stems = content_stems(tokens)
            if not stems:
                continue
            all_stems = frozenset(stem(t) for t in tokens)
            sentences.append(
                SourceSentence(text, number, frozenset(stems), all_stems, tuple(tokens))
            )
    return sentences


def build_evidence(passages: Sequence[str], question: str) -> Evidence:
    """Indexed passages (cached, as knowledge-base passages recur) plus the question's names."""
    indexed = _index_passages(tuple(passages))
    if not question:
        return indexed
    return replace(
        indexed,
        facts=indexed.facts.with_question(question),
    )


@lru_cache(maxsize=256)
def _index_passages(passages: tuple[str, ...]) -> Evidence:
    """Sentences, stems, bigrams and facts of the passages."""
    sentences = split_passages(passages)
    bigrams: set[tuple[str, str]] = set()
    for passage in passages:
        bigrams |= get_bigrams(content_stems(get_tokens(passage)))
    return Evidence(
        sentences=tuple(sentences),
        stems=frozenset(s for sentence in sentences for s in sentence.stems),
        bigrams=frozenset(bigrams),
        facts=index_sources(passages),
        vectors=np.zeros((0, 0), dtype=np.float32),
        all_stems=frozenset(s for sentence in sentences for s in sentence.all_stems),
    )


def pick_candidates(
    claims: Sequence[Sequence[str]], evidence: Evidence, per_claim: int
) -> list[int]:
    """Source sentences worth embedding: the best `per_claim` by word overlap for each claim."""
    chosen: dict[int, None] = {}
    for stems in claims:
        wanted = set(stems)
        ranked = sorted(
            range(len(evidence.sentences)),
            key=lambda i: -len(wanted & evidence.sentences[i].stems),
        )
        chosen.update(dict.fromkeys(ranked[:per_claim]))
    return sorted(chosen)
