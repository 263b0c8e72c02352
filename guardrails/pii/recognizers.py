"""Presidio recognizers: offline e-mail, checked card and IBAN numbers, phones, names, streets."""

from __future__ import annotations

import functools
import re
from typing import Any

import phonenumbers
import tldextract
from presidio_analyzer import EntityRecognizer, RecognizerResult
from presidio_analyzer.predefined_recognizers import EmailRecognizer
from presidio_analyzer.predefined_recognizers.generic.iban_patterns import regex_per_country

from airlock.offline import TLDEXTRACT_OPTIONS
from guardrails.pii.address_patterns import STREET_PREFIXES, STREET_SUFFIXES
from guardrails.pii.addresses import AddressFinder
from guardrails.pii.lexicon import Lexicon
from guardrails.pii.name_tokens import word_set
from guardrails.pii.names import PersonFinder

_NON_DIGITS = re.compile(r"\D")
_NON_ALNUM = re.compile(r"[^0-9A-Za-z]")
_IBAN_FORMATS = {cc: re.compile(rx) for cc, rx in regex_per_country.items()}


@functools.cache
def get_tld_extractor() -> tldextract.TLDExtract:
    """A TLDExtract on the bundled public suffix list: no fetch, no cache file."""
    # The options live in airlock.offline (one place for every air-gap switch), typed loosely.
    return tldextract.TLDExtract(**TLDEXTRACT_OPTIONS)  # type: ignore[arg-type]


class OfflineEmailRecognizer(EmailRecognizer):
    """Presidio's e-mail recognizer, with its domain check on the bundled suffix list."""

    def validate_result(self, pattern_text: str) -> bool:
        """True when the address ends in a known public suffix."""
        return bool(get_tld_extractor()(pattern_text).fqdn)


def luhn_valid(digits: str) -> bool:
    """The Luhn (mod 10) check of a card number."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _metadata(recognizer: EntityRecognizer, boosted: bool) -> dict[str, Any]:
    return {
        RecognizerResult.RECOGNIZER_NAME_KEY: getattr(recognizer, "name", ""),
        RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: recognizer.id,
        RecognizerResult.IS_SCORE_ENHANCED_BY_CONTEXT_KEY: boosted,
    }


class CheckedRecognizer(EntityRecognizer):
    """Regex candidates, a check that accepts (maybe shortens) each, and a context window.

    Context words count within 48 characters before and 32 after a candidate, whatever the
    candidate's own length (presidio's enhancer counts tokens, and a spaced phone number uses
    up its window); a word counts when it starts with a context word ("messages").
    """

    ENTITY = ""
    SHAPES: tuple[tuple[str, str, float], ...] = ()
    CONTEXT: tuple[str, ...] = ()
    BOOST = 0.35

    def __init__(self) -> None:
        super().__init__(supported_entities=[self.ENTITY], name=f"airlock_{self.ENTITY.lower()}")
        self._shapes = [(name, re.compile(rx), score) for name, rx, score in self.SHAPES]
        words = "|".join(re.escape(w) for w in self.CONTEXT)
        self._context = re.compile(rf"(?<![^\W_])(?:{words})", re.IGNORECASE)

    def load(self) -> None:
        """Nothing to load."""

    def check(self, candidate: str) -> int:
        """How many leading characters of `candidate` are the entity (0: none)."""
        return len(candidate)

    def adjust(self, candidate: str, score: float) -> float:
        """The score after entity-specific evidence (default: unchanged)."""
        return score

    def analyze(self, text: str, entities: list[str], nlp_artifacts: Any = None) -> list[Any]:
        """Checked candidates with their (context-raised) scores."""
        if self.ENTITY not in entities:
            return []
        results = []
        for _, pattern, score in self._shapes:
            for match in pattern.finditer(text):
                length = self.check(match.group())
                if not length:
                    continue
                start, end = match.start(), match.start() + length
                boosted = self._near_context(text, start, end)
                final = self.adjust(text[start:end], score) + (self.BOOST if boosted else 0.0)
                results.append(
                    RecognizerResult(
                        self.ENTITY,
                        start,
                        end,
                        min(final, 1.0),
                        recognition_metadata=_metadata(self, boosted),
                    )
                )
        return results

    def _near_context(self, text: str, start: int, end: int) -> bool:
        return bool(
            self._context.search(text, max(0, start - 48), start)
            or self._context.search(text, end, end + 32)
        )


class CardNumberRecognizer(CheckedRecognizer):
    """Card numbers of 12 to 19 digits that pass the Luhn check; network prefixes score higher."""

    ENTITY = "CREDIT_CARD"
    _NETWORK = r"(?:4\d|5[0-9]|2[2-7]|3[0-9]|6\d|1800|2131)"
    SHAPES = (
        ("network prefix", rf"(?<![\d+-])(?={_NETWORK})\d(?:[ -]?\d){{11,18}}\b", 0.8),
        ("any prefix", r"(?<![\d+-])\d(?:[ -]?\d){11,18}\b", 0.4),
    )
    CONTEXT = ("card", "credit", "debit", "cc", "visa", "mastercard", "amex", "maestro", "pan")

    def check(self, candidate: str) -> int:
        """The whole candidate when its 12-19 digits pass the Luhn check."""
        digits = _NON_DIGITS.sub("", candidate)
        valid = 12 <= len(digits) <= 19 and len(set(digits)) > 1 and luhn_valid(digits)
        return len(candidate) if valid else 0


class IbanCodeRecognizer(CheckedRecognizer):
    """IBANs in upper or lower case, compact or in groups of four; format and mod 97 checked."""

    ENTITY = "IBAN_CODE"
    SHAPES = (
        ("iban", r"(?i)\b[a-z]{2}\d{2}(?:[ -]?[a-z0-9]{4}){2,7}(?:[ -]?[a-z0-9]{1,4})?\b", 0.85),
    )
    CONTEXT = ("iban", "bank", "account", "transfer", "sepa", "wire")

    def check(self, candidate: str) -> int:
        """The longest leading part (whole groups) that is a valid IBAN."""
        while candidate:
            if _valid_iban(candidate):
                return len(candidate)
            cut = max(candidate.rfind(" "), candidate.rfind("-"))
            candidate = candidate[:cut] if cut > 0 else ""
        return 0


def _valid_iban(candidate: str) -> bool:
    iban = _NON_ALNUM.sub("", candidate).upper()
    country = _IBAN_FORMATS.get(iban[:2])
    if country is None or not country.match(iban):
        return False
    return int("".join(str(int(ch, 36)) for ch in iban[4:] + iban[:4])) % 97 == 1


class PhoneNumberRecognizer(CheckedRecognizer):
    """Phone numbers in national and international writing; a bare number needs context."""

    ENTITY = "PHONE_NUMBER"
    SHAPES = (
        ("international", r"(?<![\w+])\+\d[\d ().-]{6,20}\d(?:[ ]?x\d{1,5})?", 0.6),
        (
            "north american",
            r"(?<![\w-])(?:\(\d{3}\)\s?|\d{3}[.-])\d{3}[.-]\d{4}(?:x\d{1,5})?\b",
            0.6,
        ),
        (
            "separated groups",
            r"(?<![\w+.-])(?:\(\d{1,5}\)[ .-]?)?(?:0\d{1,4}|\d{1,4})(?:[ .-]\d{2,5}){1,5}"
            r"(?:[ ]?(?:x|ext\.?)[ ]?\d{1,5})?(?![\w-])",
            0.35,
        ),
        ("digits", r"(?<![\w+.-])\d{7,12}(?![\w-])", 0.3),
    )
    CONTEXT = (
        "phone", "telephone", "tel", "mobile", "cell", "fax", "desk", "office", "call", "text",
        "sms", "whatsapp", "reach", "dial", "answering", "message", "landline", "hotline",
        "contact", "ring",
    )  # fmt: skip

    def check(self, candidate: str) -> int:
        """The candidate unless it is a date, a dotted quad or has no phone's digit count."""
        digits = _NON_DIGITS.sub("", re.split(r"x|ext", candidate)[0])
        if not 7 <= len(digits) <= 15 or len(set(digits)) == 1:
            return 0
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}.*|\d{1,3}(?:\.\d{1,3}){3}", candidate):
            return 0
        return len(candidate)

    def adjust(self, candidate: str, score: float) -> float:
        """A little higher when libphonenumber finds the number valid."""
        return score + 0.1 if _valid_phone(candidate) else score


def _valid_phone(candidate: str) -> bool:
    try:
        number = phonenumbers.parse(candidate, None if candidate.startswith("+") else "US")
    except phonenumbers.NumberParseException:
        return False
    return bool(phonenumbers.is_valid_number(number))


class WebAddressRecognizer(CheckedRecognizer):
    """URLs and host names whose suffix is on the bundled public suffix list."""

    ENTITY = "URL"
    SHAPES = (
        ("with scheme", r"(?i)\b(?:https?|ftp)://[^\s<>\"'`]+", 0.6),
        (
            "host name",
            r"(?i)(?<![\w@./:-])(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,24}"
            r"(?![\w@-])(?:/[^\s<>\"'`]*)?",
            0.5,
        ),
    )
    CONTEXT = ("url", "website", "site", "link", "domain", "web", "page", "portal")
    # Common generic suffixes: a bare "name.tld" with another suffix ("main.py", "notes.md")
    # is more often a file name, so it counts only with "www.", a path or two labels before it.
    COMMON = word_set("com org net edu gov info biz io co app dev ai shop online site")

    def check(self, candidate: str) -> int:
        """The candidate without trailing punctuation, when its host has a public suffix."""
        url = candidate.rstrip(".,;:!?)]}'\"")
        host = url.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0]
        parts = get_tld_extractor()(host)
        if not parts.suffix or not parts.domain:
            return 0
        bare = "://" not in url and "/" not in url and not host.lower().startswith("www.")
        if bare and parts.suffix.lower() not in self.COMMON and not parts.subdomain:
            return 0
        return len(url)


class FinderRecognizer(EntityRecognizer):
    """Wraps one of our finders (names, streets) as a presidio recognizer."""

    def __init__(self, entity: str, name: str, find: Any) -> None:
        super().__init__(supported_entities=[entity], name=name, supported_language="en")
        self._find = find

    def load(self) -> None:
        """Nothing to load: the finder is ready."""

    def analyze(self, text: str, entities: list[str], nlp_artifacts: Any = None) -> list[Any]:
        """The finder's spans as presidio results."""
        entity = self.supported_entities[0]
        if entity not in entities:
            return []
        return [
            RecognizerResult(entity, start, end, score, recognition_metadata=_metadata(self, False))
            for start, end, score in self._find(text)
        ]


def build_finder_recognizers(lexicon: Lexicon) -> list[EntityRecognizer]:
    """PERSON (name lists and cues) and STREET_ADDRESS (postal formats)."""
    prefixes = frozenset(p.rstrip(".") for p in STREET_PREFIXES)
    person = PersonFinder(lexicon, prefixes, frozenset(STREET_SUFFIXES))
    address = AddressFinder(lexicon)
    return [
        FinderRecognizer("PERSON", "airlock_person", person.find),
        FinderRecognizer("STREET_ADDRESS", "airlock_street_address", address.find),
    ]
