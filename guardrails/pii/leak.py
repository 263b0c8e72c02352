"""The output leak check: PII in a draft answer that neither the ticket nor the passages hold."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from guardrails.pii.anonymize import COMPACT_TYPES, normalize_value
from guardrails.types import Entity

_PLACEHOLDER = re.compile(r"<[A-Z][A-Z0-9_]*_[0-9a-f]+>|\*{4}")
_NON_ALNUM = re.compile(r"[\W_]+")
_SPACES = re.compile(r"\s+")


class SourceText:
    """The customer's ticket and the retrieved passages, prepared for value look-ups."""

    def __init__(self, sources: Sequence[str]) -> None:
        joined = "\n".join(unicodedata.normalize("NFKC", s) for s in sources)
        self.words = _SPACES.sub(" ", joined).casefold()
        self.compact = _NON_ALNUM.sub("", joined).upper()

    def holds(self, entity_type: str, value: str) -> bool:
        """True when the value appears in the sources (as whole words, or digits for numbers)."""
        normalized = normalize_value(entity_type, value)
        if not normalized:
            return True
        if entity_type in COMPACT_TYPES:
            return normalized in self.compact
        pattern = r"(?<!\w)" + re.escape(normalized) + r"(?!\w)"
        return re.search(pattern, self.words) is not None


def find_leaks(draft: str, entities: Sequence[Entity], sources: Sequence[str]) -> list[Entity]:
    """Entities of `draft` whose values are in none of `sources` (placeholders are no leak)."""
    source = SourceText(sources)
    leaks = []
    for entity in entities:
        value = draft[entity.start : entity.end]
        if _PLACEHOLDER.fullmatch(value) or source.holds(entity.type, value):
            continue
        leaks.append(entity)
    return leaks
