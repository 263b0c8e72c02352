"""The evidence a draft is checked against: passage sentences, their words, facts and vectors."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from itertools import pairwise

import numpy as np

from guardrails.grounding.checks import SourceFacts, index_sources
from guardrails.grounding.claims import clean_sentence, split_sentences
from guardrails.grounding.lexicon import get_tokens, is_content, stem
from models.embedder import Embedder

# Texts per embedding batch: a batch is padded to its longest text, so similar lengths go
# together; on one core, small batches of similar length cost less than one padded batch.
LENGTH_BATCH = 4


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


def embed_by_length(embedder: Embedder, texts: Sequence[str]) -> list[np.ndarray]:
    """Vectors for the texts, embedded in batches of similar length (less padding to compute)."""
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    vectors: list[np.ndarray] = [np.empty(0, dtype=np.float32)] * len(texts)
    for start in range(0, len(order), LENGTH_BATCH):
        chunk = order[start : start + LENGTH_BATCH]
        for i, vector in zip(chunk, embedder.embed([texts[i] for i in chunk]), strict=True):
            vectors[i] = vector
    return vectors


class CachingEmbedder:
    """An embedder that remembers recent passage sentences (knowledge-base text repeats)."""

    def __init__(self, embedder: Embedder, max_entries: int = 8192) -> None:
        self._embedder = embedder
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._max_entries = max_entries
        self._lock = threading.Lock()
        self.model_id = embedder.model_id
        self.dimension = embedder.dimension

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors for the texts, computing only those not cached, in one batch."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        with self._lock:
            missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if missing:
            fresh = embed_by_length(self._embedder, missing)
            with self._lock:
                for text, vector in zip(missing, fresh, strict=True):
                    self._cache[text] = vector
                    self._cache.move_to_end(text)
                while len(self._cache) > self._max_entries:
                    self._cache.popitem(last=False)
        rows = [self._cache.get(t) for t in texts]
        if any(row is None for row in rows):  # evicted meanwhile by a concurrent caller
            return self._embedder.embed(list(texts))
        return np.stack([r for r in rows if r is not None]).astype(np.float32, copy=False)
