"""What the model is asked, what the draft cites, and what an agent reads first."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from helpdesk.record import Citation
from models.language import get_language_name
from rag.types import Passage
from serving.prompt import build_grounded_messages
from serving.types import ChatMessage, ContextPassage

_CITATION = re.compile(r"\[(\d{1,3})\]")
# Identifiers an agent looks for first: error codes, HTTP statuses, order and invoice numbers.
_IDENTIFIER = re.compile(
    r"\b(?:[A-Z]{1,5}[-_]?\d{2,}[A-Z0-9-]*|0x[0-9A-Fa-f]{2,}|HTTP\s?[45]\d\d|#\d{3,})\b"
)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_KEEP_CONTROLS = frozenset("\n\r\t")
BINARY_SHARE = 0.1  # more control or undecodable characters than this: not a text
SUMMARY_LEAD_CHARS = 600


@dataclass(frozen=True)
class CleanText:
    """A ticket's text without control characters, and how many were removed."""

    text: str
    removed: int

    def looks_binary(self, original_chars: int) -> bool:
        """True when a tenth or more of the characters were control or undecodable ones."""
        return original_chars > 0 and self.removed / original_chars >= BINARY_SHARE


def clean_text(text: str) -> CleanText:
    """Drop control characters (NUL, escapes) and U+FFFD that binary content leaves behind."""
    kept = [
        ch
        for ch in text
        if ch in _KEEP_CONTROLS or (unicodedata.category(ch) != "Cc" and ch != "\ufffd")
    ]
    return CleanText("".join(kept).strip(), len(text) - len(kept))


def build_instructions(language: str) -> str:
    """The drafting policy: passages only, citations, placeholders kept, the customer's language."""
    answer_in = get_language_name(language) if language else "the language of the ticket"
    return (
        "You draft replies for a customer-support team. Answer the customer's ticket only from "
        "the passages, and cite every passage you use as [n]. If the passages do not answer "
        "it, say that a colleague will follow up; never guess. Placeholders such as <PERSON_1> "
        "stand for redacted personal data: keep them as they are and ask for no personal data. "
        f"Answer in {answer_in}."
    )


def draft_messages(
    redacted_ticket: str, passages: Sequence[Passage], language: str
) -> tuple[ChatMessage, ...]:
    """System message (policy + passages) and the redacted ticket as the user's message."""
    context = [
        ContextPassage(ref=i, text=p.text, title=p.title, source=p.source)
        for i, p in enumerate(passages, 1)
    ]
    return build_grounded_messages(build_instructions(language), context, redacted_ticket)


def cite(draft: str, passages: Sequence[Passage]) -> tuple[Citation, ...]:
    """The passages the draft cites as [n], in citation order (no duplicates)."""
    refs = dict.fromkeys(int(m) for m in _CITATION.findall(draft))
    return tuple(
        Citation(
            ref=ref,
            doc_id=passages[ref - 1].doc_id,
            chunk_id=passages[ref - 1].chunk_id,
            title=passages[ref - 1].title,
            source=passages[ref - 1].source,
            score=round(passages[ref - 1].score, 4),
        )
        for ref in refs
        if 1 <= ref <= len(passages)
    )


def find_identifiers(text: str, limit: int = 10) -> list[str]:
    """Error codes, statuses and reference numbers in the ticket, first seen first."""
    return list(dict.fromkeys(_IDENTIFIER.findall(text)))[:limit]


def get_lead(text: str, limit: int = SUMMARY_LEAD_CHARS) -> str:
    """The ticket's opening sentences, up to `limit` characters."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    lead = ""
    for sentence in _SENTENCE_END.split(flat):
        if len(lead) + len(sentence) + 1 > limit:
            break
        lead = f"{lead} {sentence}".strip()
    return lead or flat[: limit - 1] + "…"
