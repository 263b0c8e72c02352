"""Text preparation shared by the signals: accent-free lower case and bounded windows."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# Typographic apostrophes and dashes are written as their ASCII forms before matching.
_ASCII = {"\u2019": "'", "\u2018": "'", "\u02bc": "'", "\u2013": "-", "\u2014": "-"}


@lru_cache(maxsize=4096)
def _fold_char(char: str) -> str:
    char = _ASCII.get(char, char)
    base = unicodedata.normalize("NFD", char)[:1] or char
    return base.lower()[:1] or base


def fold(text: str) -> str:
    """Lower-case, accent-free copy of `text` with the same length, character for character."""
    return "".join(map(_fold_char, text))


def clip_middle(text: str, head: int, tail: int) -> str:
    """The text, or its first `head` and last `tail` characters when it is longer than both."""
    if len(text) <= head + tail:
        return text
    return f"{text[:head]}\n{text[-tail:]}"


def term_pattern(term: str) -> str:
    """Regex source of a folded term: whole words, any whitespace, `*` at either end a wildcard."""
    folded = fold(term.strip())
    prefix = r"\w*" if folded.startswith("*") else r"(?<!\w)"
    suffix = r"\w*" if folded.endswith("*") else r"(?!\w)"
    words = folded.strip("*").split()
    return prefix + r"\s+".join(re.escape(word) for word in words) + suffix
