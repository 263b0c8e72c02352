"""PERSON without a downloadable NER model: name lists, capitalisation and context cues.

A text is cut into word tokens; neighbouring name-shaped tokens (capitalised, or a well-known
first name in lower case) form a run. A run is a person when one of its words is a listed name
that is not a common English word, when a title ("Dr.") or a cue ("my name is", "X said")
surrounds it, or when it is listed together with a person ("Park and Mann") or repeats one.
"""

from __future__ import annotations

import re

from guardrails.pii.lexicon import Lexicon
from guardrails.pii.name_tokens import PARTICLES, TITLES, Run, Token, tokenize, word_set

LOCATION_PREPOSITIONS = word_set("in at from to near of on via into towards toward around")
BLOCKED_GROUPS = ("places", "demonyms", "labels", "organisations", "brands")
MAX_RUN_WORDS = 4
# Words right before a run that make it a name even when no word is listed.
_CUE_BEFORE = re.compile(
    r"(?:\bmy name is|\bname is|\bname\s*:|\bnamed|\bcalled|\bcalls? me|\bi'?m|\bi am|\bthis is"
    r"|\bdear|\bhi|\bhello|\bhey|\bregards|\bsincerely|\bthanks|\bcheers|\bsigned|\bfrom\s*:"
    r"|\bto\s*:|\bcc\s*:|\battn\b\.?|\battention\s*:|\buser\s*:|\bcustomer\s*:|\bcontact\s*:"
    r"|\bsays|\bsaid|\bassistant to|\bask for|\bspeak (?:to|with)|\bpartner'?s name)[\s,:\"'-]*$",
    re.IGNORECASE,
)
# Words right after a run that make it a name ("Trivo lives on ...", "Leverett: What a ...").
_CUE_AFTER = re.compile(
    r"\s+(?:said|says|wrote|writes|asked|replied|told|lives|lived|emailed|phoned|called)\b"
)
_LINE_START = re.compile(r"(?:^|\n)[ \t>]*$")
_SENTENCE_START = re.compile(r"(?:^|[.!?:;\"“(>\n]\s*)$")
_COORDINATION = re.compile(r"\s*(?:,|&|and|,\s*and|or)\s*", re.IGNORECASE)
SCORE_CUED = 0.85
SCORE_LISTED = 0.75
SCORE_SINGLE = 0.65
SCORE_RELATED = 0.6


class PersonFinder:
    """Finds person names in a text with a `Lexicon` and the street words of addresses."""

    def __init__(
        self,
        lexicon: Lexicon,
        street_prefixes: frozenset[str] = frozenset(),
        street_suffixes: frozenset[str] = frozenset(),
    ) -> None:
        self.lexicon = lexicon
        self.street_prefixes = street_prefixes
        self.street_suffixes = street_suffixes
        self._blocked_words = frozenset().union(
            *(lexicon.groups.get(group, frozenset()) for group in BLOCKED_GROUPS)
        )

    def find(self, text: str) -> list[tuple[int, int, float]]:
        """(start, end, score) of each person name in `text`."""
        lowercase_text = not any(ch.isupper() for ch in text)
        runs = [self._trim(text, run) for run in self._runs(text, lowercase_text)]
        scores = [self._score(text, run) for run in runs]
        self._relate(text, runs, scores)
        return [(run.start, run.end, s) for run, s in zip(runs, scores, strict=True) if s > 0]

    def _runs(self, text: str, lowercase_text: bool) -> list[Run]:
        tokens = tokenize(text)
        runs: list[Run] = []
        current: list[int] = []
        for i, token in enumerate(tokens):
            nxt = tokens[i + 1] if i + 1 < len(tokens) else None
            if current:
                last = tokens[current[-1]]
                joined = not text[last.end : token.start].strip(" \t")
                closed = last.text.endswith(".") and not last.is_initial
                if joined and not closed and self._joins(token, nxt, lowercase_text, True):
                    current.append(i)
                    continue
                runs.append(Run.of(tokens, current))
                current = []
            if self._joins(token, nxt, lowercase_text, False):
                current = [i]
        if current:
            runs.append(Run.of(tokens, current))
        return runs

    def _joins(self, token: Token, nxt: Token | None, lowercase_text: bool, inside: bool) -> bool:
        """Whether `token` may start (or, `inside`, continue) a run."""
        if token.is_initial or (
            lowercase_text and inside and len(token.word) == 1 and token.is_word
        ):
            return nxt is not None and nxt.is_word and (inside or nxt.word[:1].isupper())
        if inside and token.lower in PARTICLES:
            return nxt is not None and nxt.word[:1].isupper()
        if not self._may_be_name(token):
            return False
        if token.word[:1].isupper():
            return len(token.word) > 1
        # Lower case is only a name where the whole text is ("follow up with patricia ...").
        return lowercase_text and len(token.word) > 2 and not self.lexicon.is_english(token.lower)

    def _may_be_name(self, token: Token) -> bool:
        """A word that is no title, contraction, street type, place, label or brand."""
        if not token.is_word or token.is_contraction or token.lower in TITLES:
            return False
        return token.lower not in self.street_prefixes and not self._blocked(token.lower)

    def _blocked(self, word: str) -> bool:
        return word in self._blocked_words

    def _listed(self, word: str) -> bool:
        """A listed name that is not a common English word (parts of a hyphenated name count)."""
        if self.lexicon.is_english(word):
            return False
        if self.lexicon.is_name(word):
            return True
        parts = word.split("-")
        return len(parts) > 1 and any(
            self.lexicon.is_name(p) and not self.lexicon.is_english(p) for p in parts
        )

    def _plain_english(self, word: str) -> bool:
        """An English word that is nobody's name ("producer", but not "sparks")."""
        return self.lexicon.is_english(word) and not self.lexicon.is_name(word)

    def _trim(self, text: str, run: Run) -> Run:
        """Drop leading English words: any that is nobody's name ("Producer James Sparks"),
        and at a sentence start any at all ("Maybe Mathias Ruud")."""
        while len(run.tokens) > 1 and self.lexicon.is_english(run.tokens[0].lower):
            opening = _SENTENCE_START.search(text[: run.tokens[0].start])
            if not opening and not self._plain_english(run.tokens[0].lower):
                break
            run = run.without_first()
        return run

    def _score(self, text: str, run: Run) -> float:
        words = run.words
        if not words or len(words) > MAX_RUN_WORDS or self._beside_street_or_company(run):
            return 0.0
        if run.before is not None and run.before.lower in TITLES:
            return SCORE_CUED
        # Two plain English words make a capitalised phrase ("Tube Snake Boogie"), not a name.
        plain = sum(1 for w in run.all_words if self._plain_english(w.lower))
        if plain >= 2 or all(self.lexicon.is_english(w.lower) for w in words):
            return 0.0
        if self._cued(text, run):
            return SCORE_CUED
        return self._score_listed(run, words)

    def _score_listed(self, run: Run, words: list[Token]) -> float:
        """A run without cue: it needs a listed name (and a first name when shouted)."""
        listed = [w for w in words if self._listed(w.lower)]
        if not listed:
            return 0.0
        if len(words) == 1:
            return self._score_single(run, words[0])
        first_name = any(self.lexicon.first_rank(w.lower) for w in listed)
        return SCORE_LISTED if first_name or not all(w.word.isupper() for w in words) else 0.0

    def _cued(self, text: str, run: Run) -> bool:
        if _CUE_BEFORE.search(text[max(0, run.start - 40) : run.start]):
            return True
        if _CUE_AFTER.match(text, run.end):
            return True
        speaker = text[run.end : run.end + 1] == ":" and _LINE_START.search(text[: run.start])
        return bool(speaker)

    def _score_single(self, run: Run, word: Token) -> float:
        """A lone listed word: not a month, not shouted, not a place after "in"/"from"."""
        if self.lexicon.in_group(word.lower, "calendar") or word.word.isupper():
            return 0.0
        if word.word.islower() and not 0 < self.lexicon.first_rank(word.lower) <= 4:
            return 0.0  # all-lower-case text: only a well-known first name stands alone
        after_preposition = run.before is not None and run.before.lower in LOCATION_PREPOSITIONS
        if after_preposition and not self.lexicon.first_rank(word.lower):
            return 0.0
        return SCORE_SINGLE

    def _beside_street_or_company(self, run: Run) -> bool:
        after = run.after
        if after is None:
            return False
        if after.lower in self.street_suffixes:
            return True
        return after.word[:1].isupper() and self.lexicon.in_group(after.lower, "organisations")

    def _relate(self, text: str, runs: list[Run], scores: list[float]) -> None:
        """Accept runs listed with a person ("Park and Mann") or repeating one's name."""
        lowercase_text = not any(ch.isupper() for ch in text)
        known = {w.lower for run, s in zip(runs, scores, strict=True) if s > 0 for w in run.words}
        changed = True
        while changed:
            changed = False
            for i, run in enumerate(runs):
                if scores[i] > 0 or not run.words or len(run.words) > 2:
                    continue
                if self._beside_street_or_company(run) or not all(
                    w.word[:1].isupper() or lowercase_text for w in run.words
                ):
                    continue
                repeated = all(w.lower in known for w in run.words)
                if repeated or self._coordinated(text, runs, scores, i):
                    scores[i] = SCORE_RELATED
                    known.update(w.lower for w in run.words)
                    changed = True

    @staticmethod
    def _coordinated(text: str, runs: list[Run], scores: list[float], i: int) -> bool:
        """Whether run `i` is joined by "," / "and" / "&" to an accepted neighbour."""
        for j in (i - 1, i + 1):
            if 0 <= j < len(runs) and scores[j] > 0:
                first, second = sorted((runs[i], runs[j]), key=lambda r: r.start)
                between = text[first.end : second.start] if first.end <= second.start else "?"
                if _COORDINATION.fullmatch(between):
                    return True
        return False
