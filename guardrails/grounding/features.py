"""Per-claim support features: word overlap, embedding similarity, hard facts, contradictions."""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

import numpy as np

from guardrails.grounding.checks import HARD_KINDS, Fact, extract_facts, find_missing
from guardrails.grounding.contrast import count_aligned_opposites
from guardrails.grounding.evidence import Evidence, SourceSentence, content_stems, get_bigrams
from guardrails.grounding.lexicon import (
    WORD_CLASS,
    get_negated_stems,
    get_tokens,
    stem,
)

FEATURE_NAMES = (
    "coverage",
    "novel",
    "best_coverage",
    "bigram_coverage",
    "similarity",
    "window_similarity",
    "missing_hard",
    "missing_entities",
    "negation_flips",
    "antonyms",
    "class_swaps",
    "novel_run",
    "window_novel",
    "length",
    "factoid",
)


_IDENTIFIERS = frozenset({"url", "email", "id"})
# A claim this close to one source sentence that negates it, or swaps a word for its opposite
# or for another of its closed class ("days" -> "weeks"), contradicts that sentence.
CONTRADICTION_COVERAGE = 0.7


@dataclass(frozen=True)
class ClaimFeatures:
    """The features of one claim and what they were computed from."""

    values: np.ndarray
    missing: tuple[Fact, ...]
    best_sentence: int
    novel_words: tuple[str, ...]
    contradiction: str = ""

    @property
    def hard_failure(self) -> bool:
        """A fact the sources lack, or a contradiction of the aligned source sentence."""
        return bool(self.contradiction) or any(f.kind in HARD_KINDS for f in self.missing)


def strip_identifiers(claim: str, facts: list[Fact] | None = None) -> str:
    """The claim without URLs, emails and ids: the hard checks judge those, not word overlap."""
    for fact in extract_facts(claim) if facts is None else facts:
        if fact.kind in _IDENTIFIERS:
            claim = claim.replace(fact.text, " ")
    return claim


def _coverage(stems: Sequence[Hashable], known: AbstractSet[Hashable]) -> float:
    """Share of the stems found in `known` (1.0 for a claim without content words)."""
    return sum(1 for s in stems if s in known) / len(stems) if stems else 1.0


def _best_sentence(stems: list[str], evidence: Evidence, similarity: np.ndarray) -> int:
    """Index of the source sentence (or sentence pair) that covers the claim best."""
    if not evidence.sentences:
        return -1
    scores = [
        _coverage(stems, s.stems) + 0.01 * float(similarity[i])
        for i, s in enumerate(evidence.sentences)
    ]
    return int(np.argmax(scores))


def _window(evidence: Evidence, index: int) -> SourceSentence | None:
    """The best sentence merged with its better neighbour (claims often join two sentences)."""
    if index < 0:
        return None
    sentence = evidence.sentences[index]
    merged = set(sentence.stems)
    all_stems = set(sentence.all_stems)
    for other in (index - 1, index + 1):
        if 0 <= other < len(evidence.sentences):
            merged |= evidence.sentences[other].stems
            all_stems |= evidence.sentences[other].all_stems
    return SourceSentence(
        sentence.text, sentence.passage, frozenset(merged), frozenset(all_stems), sentence.tokens
    )


def _antonyms(tokens: list[str], evidence: Evidence, best: int) -> int:
    """Claim words opposite to a word the aligned sentence and its neighbours use alike."""
    if best < 0:
        return 0
    lo, hi = max(0, best - 1), min(len(evidence.sentences), best + 2)
    source = [t for sentence in evidence.sentences[lo:hi] for t in sentence.tokens]
    return count_aligned_opposites(tokens, source)


def _negation_flips(tokens: list[str], evidence: Evidence, best: int) -> int:
    """1 when the claim negates what the aligned source sentence affirms, or the reverse."""
    if best < 0:
        return 0
    source = evidence.sentences[best]
    # A word the source both negates and affirms ("can detect ..., but do not detect ...")
    # may be quoted either way.
    either_way = _repeated(tokens) | _repeated(source.tokens)
    claim_negated = get_negated_stems(tokens) - either_way
    source_negated = get_negated_stems(source.tokens) - either_way
    claim_stems = {stem(t) for t in tokens}
    added = (claim_negated - source_negated) & source.stems
    dropped = (source_negated - claim_negated) & claim_stems
    return int(bool(added or dropped))


def _repeated(tokens: Sequence[str]) -> set[str]:
    """Stems that occur more than once among the tokens."""
    counts = Counter(stem(t) for t in tokens)
    return {word for word, count in counts.items() if count > 1}


def _class_swaps(
    claim_stems: set[str], window: SourceSentence | None, known: frozenset[str]
) -> int:
    """Claim words the sources never use replacing one of their closed class in the window."""
    if window is None:
        return 0
    source_classes = {WORD_CLASS[w] for w in window.all_stems - claim_stems if w in WORD_CLASS}
    novel = claim_stems - window.all_stems - known
    return sum(1 for w in novel if WORD_CLASS.get(w, -1) in source_classes)


def _longest_novel_run(stems: list[str], known: frozenset[str]) -> int:
    """The longest run of consecutive content words the sources lack (an inserted phrase)."""
    longest = run = 0
    for word in stems:
        run = run + 1 if word not in known else 0
        longest = max(longest, run)
    return longest


def compute_features(
    claim: str, evidence: Evidence, vector: np.ndarray | None = None, *, factoid: bool = False
) -> ClaimFeatures:
    """The feature vector of one claim against the evidence."""
    facts = extract_facts(claim)
    missing = find_missing(facts, evidence.facts)
    tokens = get_tokens(strip_identifiers(claim, facts))
    stems = content_stems(tokens)
    all_stems = {stem(t) for t in tokens}
    similarity = _similarities(vector, evidence)
    best = _best_sentence(stems, evidence, similarity)
    window = _window(evidence, best)
    novel = [s for s in dict.fromkeys(stems) if s not in evidence.stems]
    claim_bigrams = get_bigrams(stems)
    values = np.array(
        [
            _coverage(stems, evidence.stems),
            np.log1p(len(novel)),
            _coverage(stems, window.stems) if window else 0.0,
            _coverage(list(claim_bigrams), evidence.bigrams) if claim_bigrams else 1.0,
            float(similarity.max()) if similarity.size else 0.0,
            _window_similarity(similarity, vector, evidence, best),
            sum(1 for f in missing if f.kind in HARD_KINDS),
            sum(1 for f in missing if f.kind == "entity"),
            _negation_flips(tokens, evidence, best),
            _antonyms(tokens, evidence, best),
            _class_swaps(all_stems, window, evidence.all_stems),
            _longest_novel_run(stems, evidence.stems),
            np.log1p(sum(1 for s in set(stems) if window is None or s not in window.stems)),
            np.log1p(len(stems)),
            float(factoid),
        ],
        dtype=np.float64,
    )
    return ClaimFeatures(values, tuple(missing), best, tuple(novel), _contradiction(values))


def _contradiction(values: np.ndarray) -> str:
    """Which contradiction of a closely aligned source sentence the claim makes, if any."""
    if values[FEATURE_NAMES.index("best_coverage")] < CONTRADICTION_COVERAGE:
        return ""
    for name, label in (("negation_flips", "negation"), ("antonyms", "opposite word")):
        if values[FEATURE_NAMES.index(name)] > 0:
            return label
    return "swapped word" if values[FEATURE_NAMES.index("class_swaps")] > 0 else ""


def _similarities(vector: np.ndarray | None, evidence: Evidence) -> np.ndarray:
    """Cosine similarity of the claim with every source sentence (zeros without vectors)."""
    if vector is None or evidence.vectors.size == 0:
        return np.zeros(len(evidence.sentences), dtype=np.float32)
    return np.asarray(evidence.vectors @ vector, dtype=np.float32)


def _window_similarity(
    similarity: np.ndarray, vector: np.ndarray | None, evidence: Evidence, best: int
) -> float:
    """Cosine with the best-aligned sentence averaged with its neighbours' vectors."""
    if vector is None or best < 0 or evidence.vectors.size == 0:
        return float(similarity.max()) if similarity.size else 0.0
    lo, hi = max(0, best - 1), min(len(evidence.sentences), best + 2)
    merged = evidence.vectors[lo:hi].sum(axis=0)
    norm = float(np.linalg.norm(merged))
    return float(merged @ vector) / norm if norm else 0.0
