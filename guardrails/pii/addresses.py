"""STREET_ADDRESS: postal formats of many countries, extended over unit, city and postcode."""

from __future__ import annotations

import re

from guardrails.pii.address_patterns import CONTINUATION, PATTERNS
from guardrails.pii.lexicon import Lexicon

# Patterns whose street name must not be an everyday English word ("During 2020", "Gate 5").
_CHECK_FIRST_WORD = frozenset(
    {"compound_street_number", "cue_street_number", "hungarian", "named_street"}
)
_CHECK_ALL_WORDS = frozenset({"postcode_street_number"})
_STOP_GROUPS = ("labels", "organisations", "calendar")
# Patterns whose words never include small function words ("a table for 2 at the Village").
_NO_FUNCTION_WORDS = frozenset({"number_street_suffix", "postcode_street_number", "named_street"})
_FUNCTION_WORDS = frozenset(
    {"the", "a", "an", "at", "on", "in", "for", "to", "of", "and", "or", "with", "by", "from"}
    | {"is", "are", "was", "my", "your"}
)
_WORDS = re.compile(r"[^\W\d_][\w'\u2019-]*")
_GAP = re.compile(r"[\s,>|•·]{0,4}(?:\d{1,5}[\s,>|•·]{1,4})?")
# A house or building number right before the street ("846 31 Rue ...", "808 Kálmán Imre u. 12.").
_LEADING_NUMBER = re.compile(r"(?<![\w.,-])\d{1,6}[ \t]+$")
_STRUCTURAL = re.compile(r"[,\n>|•·]")
MAX_CONTINUATIONS = 6
MAX_CONTINUATION_CHARS = 120


def _capitalise_words(text: str) -> str:
    """Capitalise each word's first letter without moving any offset (for all-lower-case text)."""

    def upper(match: re.Match[str]) -> str:
        """The letter in upper case when that is one character too (not "ß" -> "SS")."""
        ch = match.group()
        return ch.upper() if len(ch.upper()) == 1 else ch

    return re.sub(r"(?<![\w'\u2019])[^\W\d_]", upper, text)


class AddressFinder:
    """Finds street addresses; `find` returns (start, end, score) spans."""

    def __init__(self, lexicon: Lexicon) -> None:
        self.lexicon = lexicon

    def find(self, text: str) -> list[tuple[int, int, float]]:
        """Address spans of `text`, merged where they touch."""
        source = _capitalise_words(text) if not any(c.isupper() for c in text) else text
        spans: list[tuple[int, int, float]] = []
        for name, pattern, score in PATTERNS:
            has_group = "addr" in pattern.groupindex
            for match in pattern.finditer(source):
                start, end = match.span("addr") if has_group else match.span()
                if self._plausible(name, source[start:end]):
                    lead = _LEADING_NUMBER.search(source, max(0, start - 8), start)
                    start = lead.start() if lead else start
                    spans.append((start, self._extend(source, end), score))
        return _merge(source, spans)

    def _ordinary(self, word: str) -> bool:
        lower = word.lower()
        return self.lexicon.is_english(lower) or any(
            self.lexicon.in_group(lower, group) for group in _STOP_GROUPS
        )

    def _plausible(self, name: str, span: str) -> bool:
        words = _WORDS.findall(span)
        if name in _NO_FUNCTION_WORDS and any(w.lower() in _FUNCTION_WORDS for w in words):
            return False  # "a table for 2 at the Village", "3:30 on the route"
        if name in _CHECK_FIRST_WORD:
            return bool(words) and not self._ordinary(words[0])
        if name in _CHECK_ALL_WORDS:
            return not any(self._ordinary(w) for w in words)
        return True

    def _extend(self, text: str, end: int) -> int:
        """Move `end` over what follows the street: unit, box, postcode, state, city, country."""
        limit = end + MAX_CONTINUATION_CHARS
        for _ in range(MAX_CONTINUATIONS):
            match = CONTINUATION.match(text, end)
            if match is None or match.end() > limit or not self._continues(text, match):
                break
            end = match.end()
        return end

    def _continues(self, text: str, match: re.Match[str]) -> bool:
        words = match.group("words")
        if not words:
            return True
        if text[match.end() : match.end() + 1] == ":":
            return False  # a field label such as "Mobile:"
        separator = text[match.start() : match.start("seg")]
        if _STRUCTURAL.search(separator):
            # A new line or comma: a city or country line; "Pines Beach", "Grand Rapids".
            return not any(self._label(w) for w in _WORDS.findall(words))
        if text[match.start() - 1 : match.start()] == ".":
            return False  # "... Main St. Thomas said": a new sentence, not a city
        return not any(self._ordinary(w) for w in _WORDS.findall(words) if len(w) > 1)

    def _label(self, word: str) -> bool:
        return any(self.lexicon.in_group(word.lower(), g) for g in ("labels", "organisations"))


def _merge(text: str, spans: list[tuple[int, int, float]]) -> list[tuple[int, int, float]]:
    """Join spans that overlap or are separated only by commas, spaces or line breaks."""
    merged: list[tuple[int, int, float]] = []
    for start, end, score in sorted(spans):
        if merged:
            last_start, last_end, last_score = merged[-1]
            gap = text[last_end:start] if start > last_end else ""
            if start <= last_end or _GAP.fullmatch(gap):
                merged[-1] = (last_start, max(end, last_end), max(score, last_score))
                continue
        merged.append((start, end, score))
    return merged
