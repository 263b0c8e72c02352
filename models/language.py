"""Language of a text: an ISO 639-1 code from the offline lingua detector, "" when unsure."""

from __future__ import annotations

import re
from functools import cache

from lingua import IsoCode639_1, Language, LanguageDetector, LanguageDetectorBuilder

# A handful of languages keeps the detector's memory near 190 MiB (high-accuracy models, loaded
# on first use) and avoids confusing close relatives that no knowledge base here is written in.
DETECTED_LANGUAGES: tuple[str, ...] = ("en", "de", "fr", "es", "it", "nl", "pt")

# Below this many words the detector guesses ("Hello" reads as Italian), so we say nothing.
MIN_WORDS = 3
# The detector's time grows with the text; the opening of a document decides its language.
SAMPLE_CHARS = 2000

_WORD = re.compile(r"[^\W\d_]{2,}")


@cache
def language_detector() -> LanguageDetector:
    """The detector, built once on first use (never at import time; about a second)."""
    codes = [IsoCode639_1.from_str(code) for code in DETECTED_LANGUAGES]
    return (
        LanguageDetectorBuilder.from_iso_codes_639_1(*codes)
        .with_preloaded_language_models()
        .build()
    )


def detect_language(text: str) -> str:
    """Return the ISO 639-1 code of the text's language, or '' when it is too short to tell."""
    sample = text[:SAMPLE_CHARS]
    if len(_WORD.findall(sample)) < MIN_WORDS:
        return ""
    language = language_detector().detect_language_of(sample)
    return "" if language is None else language.iso_code_639_1.name.lower()


def get_language_name(code: str) -> str:
    """The English name of an ISO 639-1 code ("de" -> "German"); the code itself if unknown."""
    try:
        return Language.from_iso_code_639_1(IsoCode639_1.from_str(code)).name.title()
    except ValueError:
        return code
