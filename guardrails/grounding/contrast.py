"""Opposite words in the same context: "reducing net debt" against "net debt rose"."""

from __future__ import annotations

from collections.abc import Sequence

from guardrails.grounding.lexicon import get_opposites, is_content, stem

# The tokens after a word whose content words make up its context: what it is said of
# ("reducing net debt", "up 70 basis points", "higher than Q2").
CONTEXT_REACH = 3


def _contexts(tokens: Sequence[str]) -> tuple[list[str], list[frozenset[str]]]:
    """Each token's stem and the content stems that follow it (the stem itself excluded)."""
    stems = [stem(t) for t in tokens]
    content = [s if is_content(t) else "" for s, t in zip(stems, tokens, strict=True)]
    contexts = []
    for i, word in enumerate(stems):
        near = content[i + 1 : i + 1 + CONTEXT_REACH]
        contexts.append(frozenset(near) - {word, ""})
    return stems, contexts


def count_aligned_opposites(claim: Sequence[str], source: Sequence[str]) -> int:
    """Claim words whose opposite, not themselves, the source uses about the same thing."""
    claim_stems, claim_contexts = _contexts(claim)
    source_stems, source_contexts = _contexts(source)
    where: dict[str, list[int]] = {}
    for j, word in enumerate(source_stems):
        where.setdefault(word, []).append(j)
    found = 0
    for word, context in zip(claim_stems, claim_contexts, strict=True):
        if not context or any(context & source_contexts[j] for j in where.get(word, ())):
            continue  # the source says the same word of the same thing
        spots = [j for opposite in get_opposites(word) for j in where.get(opposite, ())]
        found += any(context & source_contexts[j] for j in spots)
    return found
