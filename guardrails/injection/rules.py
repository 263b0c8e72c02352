"""Cheap injection rules: the pattern table plus invisible-Unicode and encoded-payload checks."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from guardrails.injection.normalize import (
    BIDI_CONTROLS,
    count_hiding_characters,
    count_tag_characters,
    decode_base64_blobs,
    decode_tag_text,
    fold,
)
from guardrails.injection.patterns import FAMILIES, RULES

# Emoji subdivision flags (England, Scotland, Wales) are legitimate tag-character sequences.
_FLAG_TAGS = re.compile("\U0001f3f4[\U000e0020-\U000e007e]{1,8}\U000e007f")
MIN_TAG_CHARACTERS = 4
MIN_HIDING_CHARACTERS = 3


@dataclass(frozen=True)
class RuleScan:
    """The rules one text triggered: every hit, the strong ones, and per-family features."""

    hits: tuple[str, ...]
    strong: tuple[str, ...]
    families: frozenset[str]

    def features(self) -> np.ndarray:
        """One 0/1 value per family in `FAMILIES` order, for the classifier."""
        return np.array([f in self.families for f in FAMILIES], dtype=np.float32)


def _match_patterns(folded: str) -> list[tuple[str, str, bool]]:
    """(rule id, family, strong) for every pattern found in folded text."""
    return [(rule.id, rule.family, rule.strong) for rule in RULES if rule.pattern.search(folded)]


def _hidden_hits(text: str) -> list[tuple[str, str, bool]]:
    """Hits for invisible characters and for instructions hidden in them or in base64."""
    hits: list[tuple[str, str, bool]] = []
    visible = _FLAG_TAGS.sub("", text)
    if count_tag_characters(visible) >= MIN_TAG_CHARACTERS:
        hits.append(("tag_smuggling", "invisible_unicode", True))
        hidden = decode_tag_text(visible)
        if any(strong for _, _, strong in _match_patterns(fold(hidden))):
            hits.append(("tag_hidden_instruction", "invisible_unicode", True))
    if count_hiding_characters(text) >= MIN_HIDING_CHARACTERS or any(
        ch in BIDI_CONTROLS for ch in text
    ):
        hits.append(("hiding_characters", "invisible_unicode", False))
    if "\u202e" in text and any(strong for _, _, strong in _match_patterns(fold(text[::-1]))):
        hits.append(("bidi_hidden_instruction", "invisible_unicode", True))
    blobs = decode_base64_blobs(text)
    if blobs:
        hits.append(("base64_blob", "encoded_payload", False))
    for blob in blobs:
        if any(strong for _, _, strong in _match_patterns(fold(blob))):
            hits.append(("base64_hidden_instruction", "encoded_payload", True))
            break
    return hits


def scan_rules(text: str) -> RuleScan:
    """Every rule the text triggers (patterns run on the folded text, in linear time)."""
    found = _match_patterns(fold(text)) + _hidden_hits(text)
    hits = tuple(dict.fromkeys(rule_id for rule_id, _, _ in found))
    strong = tuple(dict.fromkeys(rule_id for rule_id, _, is_strong in found if is_strong))
    return RuleScan(hits, strong, frozenset(family for _, family, _ in found))
