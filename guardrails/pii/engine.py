"""The PII analyzer: presidio's AnalyzerEngine on offline recognizers, chunked, de-overlapped."""

from __future__ import annotations

import bisect
import logging
import threading
from collections.abc import Iterator

from presidio_analyzer import AnalyzerEngine, EntityRecognizer, RecognizerRegistry
from presidio_analyzer.context_aware_enhancers import LemmaContextAwareEnhancer
from presidio_analyzer.predefined_recognizers import (
    CryptoRecognizer,
    DateRecognizer,
    IpRecognizer,
    UsSsnRecognizer,
)

from airlock.settings import AirlockSettings
from guardrails.errors import GuardInputError
from guardrails.pii.lexicon import load_lexicon
from guardrails.pii.nlp import BlankSpacyNlpEngine
from guardrails.pii.patterns import SHIPPED_PATTERNS, build_pattern_recognizers, load_pattern_file
from guardrails.pii.recognizers import (
    CardNumberRecognizer,
    IbanCodeRecognizer,
    OfflineEmailRecognizer,
    PhoneNumberRecognizer,
    WebAddressRecognizer,
    build_finder_recognizers,
)
from guardrails.types import Entity

log = logging.getLogger(__name__)

# When spans of different types overlap, the more specific type wins ("jane@x.com" is an e-mail
# address, not a URL plus a person); ties go to the higher score, then the longer span.
PRIORITY: dict[str, int] = {
    "SECRET": 100, "CREDIT_CARD": 95, "IBAN_CODE": 95, "US_SSN": 90, "EMAIL_ADDRESS": 90,
    "CRYPTO": 90, "IP_ADDRESS": 85, "URL": 80, "ORDER_ID": 75, "ACCOUNT_ID": 75,
    "TICKET_ID": 75, "STREET_ADDRESS": 70, "PHONE_NUMBER": 60, "DATE_TIME": 50, "PERSON": 40,
}  # fmt: skip
CUSTOM_PRIORITY = 75
# presidio's cost grows faster than linearly with results per text (context and duplicate
# passes); chunks keep a long text's time proportional to its length.
CHUNK_CHARS = 4000
CHUNK_OVERLAP = 200


class PiiAnalyzer:
    """Finds PII entities in a text; offsets are the text's own, `end` exclusive."""

    def __init__(
        self, engine: AnalyzerEngine, entities: list[str], threshold: float, max_chars: int
    ) -> None:
        self.engine = engine
        self.entities = entities
        self.threshold = threshold
        self.max_chars = max_chars
        # spaCy's tokenizer and presidio's pattern cache are not documented as thread-safe.
        self._lock = threading.Lock()

    def analyze(self, text: str) -> list[Entity]:
        """Entities of `text`, sorted by start, without overlaps."""
        if len(text) > self.max_chars:
            raise GuardInputError(
                f"text has {len(text)} characters, over the limit of {self.max_chars}",
                remedy="split the text or raise guardrails.max_text_chars",
            )
        if not text.strip():
            return []
        found: list[tuple[str, int, int, float]] = []
        for offset, chunk in iter_chunks(text):
            with self._lock:
                results = self.engine.analyze(
                    chunk, language="en", entities=self.entities, score_threshold=self.threshold
                )
            found += [(r.entity_type, r.start + offset, r.end + offset, r.score) for r in results]
        return resolve_overlaps(found)


def iter_chunks(text: str) -> Iterator[tuple[int, str]]:
    """(offset, chunk) windows of at most CHUNK_CHARS that overlap and end at white space."""
    start = 0
    while True:
        end = min(len(text), start + CHUNK_CHARS)
        if end < len(text):
            cut = text.rfind(" ", start + CHUNK_CHARS - CHUNK_OVERLAP, end)
            end = cut if cut > start else end
        yield start, text[start:end]
        if end >= len(text):
            return
        start = max(end - CHUNK_OVERLAP, start + 1)


def resolve_overlaps(found: list[tuple[str, int, int, float]]) -> list[Entity]:
    """Keep the most specific, then best-scored, then longest of overlapping spans."""
    ranked = sorted(
        set(found),
        key=lambda f: (-PRIORITY.get(f[0], CUSTOM_PRIORITY), -f[3], f[1] - f[2], f[1]),
    )
    starts: list[int] = []  # kept spans never overlap, so sorted starts give sorted ends
    kept: list[tuple[str, int, int, float]] = []
    for candidate in ranked:
        _, start, end, _ = candidate
        i = bisect.bisect_left(starts, start)
        if (i < len(kept) and kept[i][1] < end) or (i > 0 and kept[i - 1][2] > start):
            continue
        starts.insert(i, start)
        kept.insert(i, candidate)
    return [Entity(type=t, start=s, end=e, score=round(score, 4)) for t, s, e, score in kept]


def _recognizers(settings: AirlockSettings) -> list[EntityRecognizer]:
    pii = settings.guardrails.pii
    recognizers: list[EntityRecognizer] = [
        OfflineEmailRecognizer(),
        PhoneNumberRecognizer(),
        CardNumberRecognizer(),
        IbanCodeRecognizer(),
        UsSsnRecognizer(),
        IpRecognizer(),
        WebAddressRecognizer(),
        CryptoRecognizer(),
        *build_finder_recognizers(load_lexicon()),
        *build_pattern_recognizers(load_pattern_file(pii.patterns_file or SHIPPED_PATTERNS)),
    ]
    if pii.detect_dates:
        recognizers.append(DateRecognizer())
    return recognizers


def build_analyzer(settings: AirlockSettings) -> PiiAnalyzer:
    """The analyzer for `settings.guardrails.pii`; nothing is downloaded, nothing dials out."""
    pii = settings.guardrails.pii
    recognizers = _recognizers(settings)
    registry = RecognizerRegistry(recognizers=recognizers, supported_languages=["en"])
    enhancer = LemmaContextAwareEnhancer(
        context_similarity_factor=0.35,
        min_score_with_context_similarity=0.4,
        context_prefix_count=5,
        context_suffix_count=2,
    )
    engine = AnalyzerEngine(
        registry=registry,
        nlp_engine=BlankSpacyNlpEngine(),
        supported_languages=["en"],
        context_aware_enhancer=enhancer,
        default_score_threshold=pii.score_threshold,
    )
    supported = {e for r in recognizers for e in r.supported_entities}
    wanted = set(pii.entities) | ({"DATE_TIME"} if pii.detect_dates else set())
    # Types that only a customer's patterns file defines are detected without listing them.
    wanted |= supported - set(PRIORITY)
    missing = sorted(wanted - supported)
    if missing:
        log.warning("PII types without an offline recognizer are skipped", extra={"types": missing})
    return PiiAnalyzer(
        engine, sorted(wanted & supported), pii.score_threshold, settings.guardrails.max_text_chars
    )
