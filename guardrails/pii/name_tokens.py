"""Tokens and runs of tokens for PERSON detection (see `names`)."""

from __future__ import annotations

import re
from dataclasses import dataclass

# A word (letters, inner apostrophes or hyphens, an optional closing period) not glued to
# digits, a number, or one other character. A possessive "'s" is left out of the word.
_TOKEN = re.compile(r"(?<!\d)(?>[^\W\d_]+(?:['\u2019-](?![sS]\b)[^\W\d_]+)*)(?!\d)\.?|\d+|[^\w\s]")
_CONTRACTION = re.compile(r"['\u2019](?:m|re|ve|ll|d|t)$|n['\u2019]t$", re.IGNORECASE)


def word_set(text: str) -> frozenset[str]:
    """The white-space separated words of `text`."""
    return frozenset(text.split())


TITLES = word_set(
    """mr mrs ms miss mx dr prof professor sir madam madame dame lady lord rev reverend fr herr
    frau mme mlle monsieur sr sra srta senor señor senora señora dott ing capt captain"""
)
PARTICLES = word_set(
    "van von de da der den del della di du le la ten ter bin ibn al el dos das zu af av"
)


@dataclass(frozen=True, slots=True)
class Token:
    """One token of the text with its offsets; `word` drops a closing period."""

    text: str
    start: int
    end: int
    word: str
    lower: str
    is_word: bool
    is_initial: bool

    @classmethod
    def of(cls, text: str, start: int) -> Token:
        """The token `text` found at offset `start`."""
        word = text[:-1] if text.endswith(".") and len(text) > 1 else text
        is_word = text[:1].isalpha()
        initial = len(word) == 1 and word.isupper()
        return cls(text, start, start + len(text), word, word.lower(), is_word, initial)

    @property
    def is_contraction(self) -> bool:
        """True for "I'm", "don't", "we'll" and the like."""
        return _CONTRACTION.search(self.word) is not None


def tokenize(text: str) -> list[Token]:
    """Word, number and punctuation tokens with their offsets."""
    return [Token.of(m.group(), m.start()) for m in _TOKEN.finditer(text)]


@dataclass(frozen=True)
class Run:
    """Neighbouring name-shaped tokens and the tokens just before and after them."""

    tokens: tuple[Token, ...]
    before: Token | None
    after: Token | None
    dropped: tuple[Token, ...] = ()

    @classmethod
    def of(cls, tokens: list[Token], indices: list[int]) -> Run:
        """The run of `tokens[indices]` (consecutive indices)."""
        first, last = indices[0], indices[-1]
        return cls(
            tuple(tokens[i] for i in indices),
            tokens[first - 1] if first > 0 else None,
            tokens[last + 1] if last + 1 < len(tokens) else None,
        )

    def without_first(self) -> Run:
        """The run less its first token, which becomes the token before it."""
        return Run(self.tokens[1:], self.tokens[0], self.after, (*self.dropped, self.tokens[0]))

    @property
    def words(self) -> list[Token]:
        """The name words: no initials, no particles."""
        return [t for t in self.tokens if not t.is_initial and t.lower not in PARTICLES]

    @property
    def all_words(self) -> list[Token]:
        """The name words including those trimmed from the front."""
        return [t for t in self.dropped if t.is_word] + self.words

    @property
    def start(self) -> int:
        """Offset of the first character."""
        return self.tokens[0].start

    @property
    def end(self) -> int:
        """Offset after the last character (a closing period is left out, not an initial's)."""
        last = self.tokens[-1]
        return last.end if last.is_initial else last.start + len(last.word)
