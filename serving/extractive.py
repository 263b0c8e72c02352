"""The extractive engine: no LLM; answers only with sentences of the passages it was given."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass

from serving.prompt import get_request_passages, strip_passages
from serving.stopping import StopScanner
from serving.types import ChatChunk, ChatRequest, ContextPassage, EngineHealth, Usage

NO_PASSAGES = "I could not find anything in the knowledge base about this question."
NO_ANSWER = "The knowledge base passages I was given do not answer this question."
MODEL_NAME = "extractive"
MIN_UNIT_TERMS = 2  # a ticket sentence with fewer content words is not a question on its own

_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")
_STOPWORDS = frozenset(
    re.findall(
        r"\w+",
        "a an and are as at be but by can do does for from has have how i if in is it its me my "
        "not of on or our so that the their then there these this to was we what when where "
        "which who why will with you your",
    )
)


def _terms(text: str) -> list[str]:
    """Lower-cased content words with a light suffix strip (plural, -ing, -ed)."""
    out = []
    for word in _WORD.findall(text.lower()):
        if word in _STOPWORDS or len(word) < 2:
            continue
        stem = word
        for suffix in ("ing", "ed", "es", "s"):
            if word.endswith(suffix) and len(word) - len(suffix) >= 3:
                stem = word[: -len(suffix)]
                break
        out.append(stem)
    return out


@dataclass(frozen=True)
class _Sentence:
    text: str
    ref: int
    terms: frozenset[str]


_HEADING = re.compile(r"^#{1,6}\s")
_LIST_MARKER = re.compile(r"^(?:[-*+]|\d{1,3}[.)])\s+")
_EMPHASIS = re.compile(r"\*\*|__|`")


def _clean(raw: str) -> str:
    """A sentence without Markdown list markers and emphasis; '' for a heading line."""
    text = raw.strip()
    if _HEADING.match(text):
        return ""
    return _EMPHASIS.sub("", _LIST_MARKER.sub("", text)).strip()


def _split(passages: list[ContextPassage]) -> list[_Sentence]:
    sentences = []
    for passage in passages:
        for raw in _SENTENCE_END.split(passage.text):
            text = _clean(raw)
            if len(_WORD.findall(text)) >= 3:
                sentences.append(_Sentence(text, passage.ref, frozenset(_terms(text))))
    return sentences


class ExtractiveEngine:
    """Picks the passage sentences that cover the question best, cites them, and de-duplicates."""

    def __init__(
        self, name: str = "extractive", max_sentences: int = 3, min_coverage: float = 0.25
    ) -> None:
        self.name = name
        self.max_sentences = max_sentences
        self.min_coverage = min_coverage

    def compose(self, question: str, passages: list[ContextPassage]) -> str:
        """The answer text: cited sentences, or a statement that the passages do not answer."""
        if not passages:
            return NO_PASSAGES
        sentences = _split(passages)
        units = _question_units(question)
        if not sentences or not units:
            return NO_ANSWER
        df = Counter(t for s in sentences for t in s.terms)
        ceiling = math.log(1 + len(sentences))
        idf = {t: math.log(1 + len(sentences) / df[t]) if df[t] else 0.0 for u in units for t in u}
        scored = sorted(
            (
                (max(_coverage(idf, u & s.terms) / (ceiling * len(u)) for u in units), i, s)
                for i, s in enumerate(sentences)
            ),
            key=lambda item: (-item[0], item[1]),
        )
        chosen: list[_Sentence] = []
        for score, _, sentence in scored:
            if score < self.min_coverage or len(chosen) == self.max_sentences:
                break
            if not any(_similar(sentence.terms, c.terms) for c in chosen):
                chosen.append(sentence)
        if not chosen:
            return NO_ANSWER
        return " ".join(f"{s.text} [{s.ref}]" for s in chosen)

    async def stream_chat(self, request: ChatRequest) -> AsyncIterator[ChatChunk]:
        """Stream the composed answer word by word (a word counts as a token)."""
        question = strip_passages(request.get_question())
        answer = self.compose(question, get_request_passages(request))
        scanner = StopScanner(request.stop)
        words = re.findall(r"\S+\s*", answer)
        finish = "length" if len(words) > request.max_tokens else "stop"
        emitted = 0
        for word in words[: request.max_tokens]:
            piece = scanner.feed(word)
            emitted += 1
            if piece:
                yield ChatChunk(text=piece, engine=self.name, model=MODEL_NAME)
            if scanner.stopped:
                finish = "stop"
                break
        tail = scanner.flush()
        prompt_words = sum(len(m.content.split()) for m in request.messages)
        usage = Usage(
            prompt_tokens=prompt_words + len((request.prompt or "").split()),
            completion_tokens=emitted,
        )
        yield ChatChunk(
            text=tail, finish_reason=finish, usage=usage, engine=self.name, model=MODEL_NAME
        )

    async def health(self) -> EngineHealth:
        """Always ready: it needs nothing but the request."""
        return EngineHealth(name=self.name, ok=True, model=MODEL_NAME)


def _coverage(idf: dict[str, float], shared: frozenset[str]) -> float:
    """Summed idf of the shared terms, exactly rounded."""
    # fsum: the set's order (the process's hash seed) cannot change the sum, so equal scores
    # tie the same way in every process and a ticket gets the same draft wherever it runs.
    return math.fsum(idf[t] for t in shared)


def _question_units(question: str) -> list[frozenset[str]]:
    """The whole question and, in a longer message (a ticket), each of its sentences.

    A sentence of the passages scores by the unit it covers best, so the greeting and
    background of a ticket do not dilute the question it asks.
    """
    whole = frozenset(_terms(question))
    parts = [frozenset(_terms(part)) for part in _SENTENCE_END.split(question)]
    units = [whole, *(p for p in parts if len(p) >= MIN_UNIT_TERMS and p != whole)]
    return [u for u in units if u]


def _similar(a: frozenset[str], b: frozenset[str]) -> bool:
    """Near-duplicates: Jaccard overlap of content words at least 0.8."""
    union = a | b
    return bool(union) and len(a & b) / len(union) >= 0.8
