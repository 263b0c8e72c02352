"""Ticket sentiment in [-1, 1]: VADER for English, VADER's rules on our lexicons otherwise."""

from __future__ import annotations

import re

from vaderSentiment.vaderSentiment import (  # type: ignore[import-untyped]
    SentimentIntensityAnalyzer,
)

from helpdesk.signals.lexicon import LEXICON_LANGUAGES, Lexicon, load_lexicon
from helpdesk.signals.text import clip_middle, fold
from helpdesk.signals.valence import lexicon_compound
from models.language import detect_language

# Anger shows in the opening and in the last lines; the middle of a 1 MB paste adds nothing
# but time, so a bounded head and tail are scored.
HEAD_CHARS = 4000
TAIL_CHARS = 1000
_WORD = re.compile(r"[^\W\d_]{2,}")


class SentimentScorer:
    """Scores support tickets from -1 (angry) to +1 (praise); 0 for neutral or empty text."""

    def __init__(self) -> None:
        """Read the lexicons (a few milliseconds) and VADER's English lexicon."""
        self._lexicons = {code: load_lexicon(code) for code in LEXICON_LANGUAGES}
        self._vader = SentimentIntensityAnalyzer()
        # The English file amends VADER's lexicon with support-desk words and phrases.
        self._vader.lexicon.update(self._lexicons["en"].words)

    @property
    def languages(self) -> tuple[str, ...]:
        """Languages with a lexicon of their own."""
        return tuple(self._lexicons)

    def score(self, text: str, language: str | None = None) -> float:
        """Compound sentiment of `text`; `language` (ISO 639-1) is detected when None."""
        sample = clip_middle(text, HEAD_CHARS, TAIL_CHARS).strip()
        if not sample:
            return 0.0
        code = self.scoring_language(sample, language)
        lexicon = self._lexicons[code]
        if code == "en":
            compound = self._vader.polarity_scores(lexicon.mark_phrases(sample))["compound"]
            return float(compound)
        return lexicon_compound(sample, lexicon)

    def scoring_language(self, text: str, language: str | None = None) -> str:
        """The lexicon used for `text`: its language if known, else the best-covering one."""
        code = detect_language(text) if language is None else language.strip().lower()
        if code in self._lexicons:
            return code
        if code:
            return "en"  # a language without a lexicon: VADER still reads emoji, caps and "!"
        return self._best_covering(text)

    def _best_covering(self, text: str) -> str:
        """For texts too short to detect: the lexicon that knows most of their words."""
        words = [fold(word) for word in _WORD.findall(text[:HEAD_CHARS])]
        hits = {code: _hits(words, lexicon) for code, lexicon in self._lexicons.items()}
        best = max(hits, key=lambda code: hits[code])
        return best if hits[best] > hits["en"] else "en"


def _hits(words: list[str], lexicon: Lexicon) -> int:
    known = lexicon.negations | lexicon.boosters.keys() | lexicon.words.keys()
    return sum(word in known for word in words)
