"""Lexical features of the injection classifier (TF-IDF n-grams plus rule families) and windows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse  # type: ignore[import-untyped]
from sklearn.feature_extraction.text import TfidfVectorizer

from guardrails.injection.normalize import clean
from guardrails.injection.patterns import FAMILIES
from guardrails.injection.rules import RuleScan

# ~1,000 characters is about the 256 word pieces MiniLM reads for English text; windows overlap
# so an instruction cut at one border is whole in the next window.
WINDOW_CHARS = 1000
WINDOW_OVERLAP = 200
CHAR_NGRAMS = (2, 5)
WORD_NGRAMS = (1, 2)


def split_windows(text: str, size: int = WINDOW_CHARS, overlap: int = WINDOW_OVERLAP) -> list[str]:
    """The text itself when short, else overlapping windows of `size` characters."""
    if len(text) <= size:
        return [text]
    step = size - overlap
    starts = range(0, len(text) - overlap, step)
    return [text[start : start + size] for start in starts]


@dataclass(frozen=True)
class Vocabulary:
    """The n-grams and inverse document frequencies of one fitted TF-IDF block."""

    terms: np.ndarray
    idf: np.ndarray


def _char_vectorizer(vocabulary: Sequence[str] | None = None) -> TfidfVectorizer:
    return TfidfVectorizer(
        analyzer="char_wb",
        ngram_range=CHAR_NGRAMS,
        min_df=2,
        max_features=60_000,
        sublinear_tf=True,
        dtype=np.float32,
        vocabulary=vocabulary,
    )


def _word_vectorizer(vocabulary: Sequence[str] | None = None) -> TfidfVectorizer:
    return TfidfVectorizer(
        analyzer="word",
        ngram_range=WORD_NGRAMS,
        min_df=2,
        sublinear_tf=True,
        dtype=np.float32,
        vocabulary=vocabulary,
    )


def _vocabulary(vectorizer: TfidfVectorizer) -> Vocabulary:
    terms = sorted(vectorizer.vocabulary_, key=vectorizer.vocabulary_.__getitem__)
    return Vocabulary(np.array(terms, dtype=str), np.asarray(vectorizer.idf_, dtype=np.float32))


def _restore(vectorizer: TfidfVectorizer, vocabulary: Vocabulary) -> TfidfVectorizer:
    vectorizer.idf_ = vocabulary.idf.astype(np.float64)
    return vectorizer


class LexicalFeaturizer:
    """Char and word TF-IDF of the cleaned text, followed by one 0/1 feature per rule family."""

    def __init__(self, char: Vocabulary, word: Vocabulary) -> None:
        self.char = char
        self.word = word
        self._char = _restore(_char_vectorizer(char.terms.tolist()), char)
        self._word = _restore(_word_vectorizer(word.terms.tolist()), word)

    @classmethod
    def fit(cls, texts: Sequence[str]) -> LexicalFeaturizer:
        """Learn both vocabularies from training texts."""
        cleaned = [clean(text) for text in texts]
        char = _char_vectorizer().fit(cleaned)
        word = _word_vectorizer().fit(cleaned)
        return cls(_vocabulary(char), _vocabulary(word))

    @property
    def size(self) -> int:
        """Number of features (n-grams of both blocks plus rule families)."""
        return len(self.char.terms) + len(self.word.terms) + len(FAMILIES)

    def transform(self, texts: Sequence[str], scans: Sequence[RuleScan]) -> sparse.csr_matrix:
        """One sparse row per text; `scans` are the rule scans of the same texts."""
        cleaned = [clean(text) for text in texts]
        rules = np.zeros((len(texts), len(FAMILIES)), dtype=np.float32)
        for row, scan in enumerate(scans):
            rules[row] = scan.features()
        blocks = [
            self._char.transform(cleaned),
            self._word.transform(cleaned),
            sparse.csr_matrix(rules),
        ]
        return sparse.hstack(blocks, format="csr", dtype=np.float32)
