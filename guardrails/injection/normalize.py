"""Text normalisation for injection rules: folding, invisible characters, hidden payloads."""

from __future__ import annotations

import base64
import binascii
import re
import unicodedata

# Unicode "tag" characters mirror ASCII invisibly (ASCII smuggling); nothing legitimate in a
# support ticket uses them outside emoji flag sequences, which are short.
TAG_FIRST, TAG_LAST = 0xE0000, 0xE007F
# Zero-width and word-joiner characters that hide text or split trigger words.
ZERO_WIDTH = frozenset("\u200b\u2060\u2061\u2062\u2063\u2064\ufeff\u180e\u00ad")
# Bidirectional overrides and isolates reorder what a reader sees versus what a model reads.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_LATIN_MARKS = re.compile("[\u0300-\u036f]")
_BASE64 = re.compile(r"(?<![A-Za-z0-9+/])[A-Za-z0-9+/]{24,}={0,2}(?![A-Za-z0-9+/=])")
_SPACES = re.compile(r"[ \t\r\f\v]+")
MAX_BLOBS = 8


def fold(text: str) -> str:
    """Lower-cased NFKC text without format characters or Latin accents, for matching."""
    text = unicodedata.normalize("NFKC", text)
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Cf")
    text = unicodedata.normalize("NFKD", text)
    text = unicodedata.normalize("NFC", _LATIN_MARKS.sub("", text))
    return _SPACES.sub(" ", text.casefold())


def clean(text: str) -> str:
    """NFKC text without invisible format characters (what the classifier reads)."""
    text = unicodedata.normalize("NFKC", text)
    return "".join(ch for ch in text if unicodedata.category(ch) != "Cf")


def count_tag_characters(text: str) -> int:
    """How many Unicode tag characters the text holds."""
    return sum(1 for ch in text if TAG_FIRST <= ord(ch) <= TAG_LAST)


def count_hiding_characters(text: str) -> int:
    """How many zero-width or bidirectional-control characters the text holds."""
    return sum(1 for ch in text if ch in ZERO_WIDTH or ch in BIDI_CONTROLS)


def decode_tag_text(text: str) -> str:
    """The ASCII text smuggled in Unicode tag characters, if any."""
    return "".join(
        chr(ord(ch) - TAG_FIRST) for ch in text if TAG_FIRST + 0x20 <= ord(ch) <= TAG_FIRST + 0x7E
    )


def decode_base64_blobs(text: str) -> list[str]:
    """Printable texts decoded from base64-looking runs (at most a few, for bounded time)."""
    decoded: list[str] = []
    for match in _BASE64.finditer(text):
        if len(decoded) >= MAX_BLOBS:
            break
        blob = match.group(0)
        try:
            raw = base64.b64decode(blob + "=" * (-len(blob) % 4), validate=True)
            plain = raw.decode("utf-8")
        except (binascii.Error, ValueError):
            continue
        printable = sum(ch.isprintable() or ch.isspace() for ch in plain)
        if plain and printable / len(plain) > 0.95 and any(ch.isalpha() for ch in plain):
            decoded.append(plain)
    return decoded
