"""Sentiment lexicons: word and phrase valences, negations and intensifiers of one language."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from helpdesk.signals.policyfile import load_policy_file
from helpdesk.signals.text import fold, term_pattern

LEXICON_DIR = Path(__file__).resolve().parent / "lexicons"
LEXICON_LANGUAGES: tuple[str, ...] = ("en", "de", "fr", "es")
# A phrase becomes one token that no real text contains, so word rules apply to it too.
PLACEHOLDER = "zzphrase"


class LexiconSpec(BaseModel):
    """One language's lexicon file; valences on VADER's scale of about -4 to +4."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    language: str = Field(pattern=r"^[a-z]{2}$")
    words: dict[str, float] = {}
    phrases: dict[str, float] = {}
    negations: tuple[str, ...] = ()
    boosters: dict[str, float] = {}
    contrast: tuple[str, ...] = ()
    negation_after: int = Field(default=0, ge=0, le=3)

    @field_validator("words", "phrases", "boosters")
    @classmethod
    def _valence_range(cls, value: dict[str, float]) -> dict[str, float]:
        bad = [key for key, number in value.items() if not -4.0 <= number <= 4.0]
        if bad:
            raise ValueError(f"valences must lie in [-4, 4]: {bad[:3]}")
        return value


@dataclass(frozen=True, eq=False)
class Lexicon:
    """A lexicon ready for scoring: folded keys and one regex over all phrases."""

    language: str
    words: dict[str, float]
    negations: frozenset[str]
    boosters: dict[str, float]
    contrast: frozenset[str]
    negation_after: int
    phrase_regex: re.Pattern[str] | None
    phrase_tokens: dict[str, str]  # folded phrase -> placeholder token

    def mark_phrases(self, text: str) -> str:
        """The text with each known phrase replaced by its placeholder token."""
        if self.phrase_regex is None:
            return text
        folded = fold(text)
        parts, start = [], 0
        for match in self.phrase_regex.finditer(folded):
            key = " ".join(match.group(0).split())
            parts += [text[start : match.start()], f" {self.phrase_tokens[key]} "]
            start = match.end()
        return "".join([*parts, text[start:]])


def compile_lexicon(spec: LexiconSpec) -> Lexicon:
    """The scoring form of a lexicon file's content."""
    words = {fold(word): value for word, value in spec.words.items()}
    tokens: dict[str, str] = {}
    for number, (phrase, value) in enumerate(spec.phrases.items()):
        token = f"{PLACEHOLDER}{spec.language}{number}"
        tokens[" ".join(fold(phrase).split())] = token
        words[token] = value
    # Longest phrases first, so "still not working" wins over "still not".
    ordered = sorted(tokens, key=len, reverse=True)
    regex = re.compile("|".join(term_pattern(p) for p in ordered)) if ordered else None
    return Lexicon(
        language=spec.language,
        words=words,
        negations=frozenset(fold(word) for word in spec.negations),
        boosters={fold(word): value for word, value in spec.boosters.items()},
        contrast=frozenset(fold(word) for word in spec.contrast),
        negation_after=spec.negation_after,
        phrase_regex=regex,
        phrase_tokens=tokens,
    )


@cache
def load_lexicon(language: str) -> Lexicon:
    """The shipped lexicon of `language` (one of LEXICON_LANGUAGES), read once."""
    path = LEXICON_DIR / f"{language}.yaml"
    shipped = f"helpdesk/signals/lexicons/{language}.yaml"
    return compile_lexicon(load_policy_file(path, LexiconSpec, "sentiment lexicon", shipped))
