"""Sentence splitting and claim extraction: what in a draft answer asserts something."""

from __future__ import annotations

import re
from dataclasses import dataclass

from guardrails.grounding.lexicon import words

# Abbreviations whose period does not end a sentence (lower-cased, without the period).
_ABBREVIATIONS = frozenset(
    words(
        "mr mrs ms dr prof sr jr st vs etc e.g i.e approx no nos fig inc ltd co corp dept est "
        "jan feb mar apr jun jul aug sep sept oct nov dec mon tue wed thu fri sat sun u.s u.k "
        "a.m p.m cf al ca min max"
    )
)
_BOUNDARY = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9])|\n+")
# "century.First" in scraped text: a period glued to the next capitalised word.
_GLUED = re.compile(r"(?<=[a-z]{3}[.!?])(?=[A-Z][a-z])")
# "30 days.[2] You ..." is read as "30 days [2]. You ..." so the marker stays with its sentence.
_CITATION_AFTER_END = re.compile(r"([.!?])((?:\s*\[\d{1,3}(?:\s*[,;-]\s*\d{1,3})*\])+)")
_LAST_WORD = re.compile(r"(\S+)[.!?]$")
CITATION = re.compile(r"\s*\[(\d{1,3}(?:\s*[,;-]\s*\d{1,3})*)\]")
_LEADING_CITATIONS = re.compile(r"^(?:\s*\[\d{1,3}(?:\s*[,;-]\s*\d{1,3})*\])+")
_LIST_MARKER = re.compile(r"^\s*(?:[-*+•]|\d{1,3}[.)]|#{1,6})\s+")
_EMPHASIS = re.compile(r"\*\*|__|`")
_WORD = re.compile(r"[^\W_]+")

_GREETING = re.compile(r"^(?:hi|hello|hey|dear|greetings)\b[^,.!?\n]{0,40}[,.!:]\s*", re.IGNORECASE)
# Courtesy formulas that assert nothing about the knowledge base.
_BOILERPLATE = re.compile(
    r"^(?:(?:many\s+)?thanks\b(?!\s+to\b)|thank\s+you\b"
    r"|(?:best|kind|warm)(?:est)?\s+regards\b|regards\b|cheers\b|sincerely\b"
    r"|(?:i|we)\s+hope\s+(?:this|that|it)\s+helps\b|hope\s+(?:this|that|it)\s+helps\b"
    r"|(?:please\s+)?(?:do\s+not|don't)\s+hesitate\b|(?:please\s+)?let\s+(?:me|us)\s+know\b"
    r"|(?:please\s+)?feel\s+free\s+to\b|if\s+you\s+have\s+any\s+(?:other|further|more)?\s*"
    r"questions\b|is\s+there\s+anything\s+else\b"
    r"|(?:i\s+am|i'm|we\s+are|we're)\s+(?:always\s+)?(?:happy|glad)\s+to\s+help\b"
    r"|(?:i\s+am|i'm|we\s+are|we're)\s+sorry\s+(?:to\s+hear|for\s+the\s+inconvenience)\b"
    r"|(?:we|i)\s+apologi[sz]e\s+for\s+(?:the|any)\s+inconvenience\b"
    r"|have\s+a\s+(?:great|nice|good|wonderful)\s+(?:day|week|weekend)\b)",
    re.IGNORECASE,
)
# Where a sentence joins statements with their own subject ("..., and we will also ..."):
# each such clause is a claim of its own.
_CLAUSE_BOUNDARY = re.compile(
    r";\s+|,?\s+(?=(?:and|but|while|whereas|so|although|though|however|plus)\s+(?:also\s+)?"
    r"(?:we|you|i|they|it|he|she|this|that|these|there|our|your|their)\s)",
    re.IGNORECASE,
)
_MIN_CLAUSE_WORDS = 4
# A sign-off: whatever follows it is a signature.
_CLOSING = re.compile(
    r"^(?:(?:best|kind|warm)(?:est)?(?:\s+regards)?|regards|cheers|sincerely|yours(?:\s+\w+)?)"
    r"\s*[,.!]?\s*",
    re.IGNORECASE,
)
# A courtesy sentence longer than this may carry a real statement after the formula.
_BOILERPLATE_MAX_WORDS = 14


@dataclass(frozen=True)
class Claim:
    """One asserting clause of a draft: `body` is checked, `text` is its whole sentence."""

    index: int
    text: str
    body: str
    citations: tuple[int, ...]
    sentence: int = 0


def split_sentences(text: str) -> list[str]:
    """Sentences of a text, keeping abbreviations, decimals and trailing citations together."""
    pieces: list[str] = []
    text = _CITATION_AFTER_END.sub(r" \2\1", _GLUED.sub(" ", text))
    for raw in _BOUNDARY.split(text):
        block = raw.strip()
        lead = _LEADING_CITATIONS.match(block)
        if lead and pieces:
            # "... 30 days. [1] You can ..." : the marker belongs to the sentence before.
            pieces[-1] = f"{pieces[-1]} {lead.group(0).strip()}"
            block = block[lead.end() :].strip()
        if not block:
            continue
        if pieces and _ends_with_abbreviation(pieces[-1]):
            pieces[-1] = f"{pieces[-1]} {block}"
        else:
            pieces.append(block)
    return pieces


def _ends_with_abbreviation(sentence: str) -> bool:
    """Whether the sentence's last word is an abbreviation or an initial, not a real end."""
    match = _LAST_WORD.search(sentence)
    if not match:
        return False
    word = match.group(1).lower().lstrip("(\"'")
    return word in _ABBREVIATIONS or (len(word) == 1 and word.isalpha())


def get_citations(sentence: str) -> tuple[int, ...]:
    """The passage numbers a sentence cites as [1], [2, 3] or [1-2]."""
    refs: list[int] = []
    for group in CITATION.findall(sentence):
        refs.extend(int(n) for n in re.findall(r"\d+", group))
    return tuple(refs)


def clean_sentence(sentence: str) -> str:
    """The sentence without citation markers, list markers and Markdown emphasis."""
    text = CITATION.sub("", sentence)
    text = _GREETING.sub("", _EMPHASIS.sub("", _LIST_MARKER.sub("", text)).strip())
    return re.sub(r"\s+([.,;:!?])", r"\1", text).strip()


def is_boilerplate(body: str) -> bool:
    """Greetings, thanks and offers of further help: they assert nothing checkable."""
    text = body.strip(" \"'")
    return bool(_BOILERPLATE.match(text)) and len(_WORD.findall(text)) <= _BOILERPLATE_MAX_WORDS


def split_clauses(body: str) -> list[str]:
    """Independent clauses of a sentence ("..., and we will also ..."), each of 4 words or more."""
    clauses: list[str] = []
    for raw in _CLAUSE_BOUNDARY.split(body):
        part = raw.strip(" ,;")
        if not part:
            continue
        if clauses and min(_count_words(part), _count_words(clauses[-1])) < _MIN_CLAUSE_WORDS:
            clauses[-1] = f"{clauses[-1]}, {part}"
        else:
            clauses.append(part)
    return clauses


def _count_words(text: str) -> int:
    """Number of words in a text."""
    return len(_WORD.findall(text))


def extract_claims(answer: str) -> list[Claim]:
    """The clauses of an answer that assert something (no questions, courtesy or markers)."""
    claims: list[Claim] = []
    for number, sentence in enumerate(split_sentences(answer)):
        body = clean_sentence(sentence)
        if _CLOSING.fullmatch(body):
            break
        if not _WORD.search(body) or body.endswith("?") or is_boilerplate(body):
            continue
        for clause in split_clauses(body):
            claims.append(Claim(len(claims), sentence, clause, get_citations(sentence), number))
    return claims
