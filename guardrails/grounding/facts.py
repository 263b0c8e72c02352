"""Facts of a text: contacts, identifiers, dates, times, amounts, numbers and names as keys."""

from __future__ import annotations

import re
from dataclasses import dataclass

from guardrails.grounding.lexicon import STOPWORDS, normalise_token, words

_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")
_URL = re.compile(
    r"\b(?:https?://|www\.)[^\s<>\"')\]]*[^\s<>\"')\].,;:!?]|\b(?:[a-z0-9-]+\.)+(?:com|org|net|"
    r"io|eu|de|fr|uk|co|app|dev|info|biz|gov|edu)\b(?:/[^\s<>\"')\]]*[^\s<>\"')\].,;:!?])?",
    re.IGNORECASE,
)
# A phone number has seven digits or more and a "+" or separators (a bare year list does not).
_PHONE = re.compile(
    r"(?<![\w.])(?:\+\d[\d ().-]{5,}\d|(?:\d{1,3}[ -])?\(?\d{2,5}\)?[ -]\d{2,5}[ -]\d{2,6})"
    r"(?!\w|\.\d)"
)
_ID = re.compile(
    r"#\d{3,}\b|\b(?=[A-Za-z0-9_-]*\d)(?=[A-Za-z0-9_-]*[A-Za-z])[A-Za-z0-9]+(?:[-_][A-Za-z0-9]+)+\b"
    r"|\b[A-Z]{1,6}\d{3,}[A-Z0-9]*\b"
)
MONTHS = words(
    "january february march april may june july august september october november december"
)
MONTH_NUMBER = (
    {m: i + 1 for i, m in enumerate(MONTHS)}
    | {m[:3]: i + 1 for i, m in enumerate(MONTHS)}
    | {"sept": 9}
)
_MONTH = re.compile(
    r"\b(?:jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec)\.?(?=\s+\d)|\b(?:"
    + "|".join(m for m in MONTHS if m != "may")
    + r")\b|\bmay(?=\s+\d)",
    re.IGNORECASE,
)
_WEEKDAY = re.compile(r"\b(?:mon|tues|wednes|thurs|fri|satur|sun)day\b", re.IGNORECASE)
_NUMERIC_DATE = re.compile(r"\b\d{4}-\d{1,2}-\d{1,2}\b|\b\d{1,2}[/.]\d{1,2}[/.]\d{2,4}\b")
_TIME = re.compile(
    r"\b(\d{1,2})(?::(\d{2}))?\s*([ap])\.?m\.?(?!\w)|\b(\d{1,2}):(\d{2})\b", re.IGNORECASE
)
_CURRENCY = r"[$€£¥₹]|\b(?:usd|eur|gbp|chf|jpy|dollars?|euros?|pounds?|cents?)\b"
_NUMBER = re.compile(
    r"(?P<cur>" + _CURRENCY + r")?\s?(?P<num>\d+(?:[.,]\d+)*)(?:\s?(?P<scale>thousand|million|"
    r"billion|trillion|[kmb]n?)\b)?(?:\s?(?P<cur2>" + _CURRENCY + r"))?",
    re.IGNORECASE,
)
_SCALES = {"thousand": 1e3, "k": 1e3, "million": 1e6, "m": 1e6, "mn": 1e6, "billion": 1e9}
_SCALES |= {"bn": 1e9, "b": 1e9, "trillion": 1e12}
_UNITS = "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
_UNITS += "fifteen sixteen seventeen eighteen nineteen"
_TENS = "twenty thirty forty fifty sixty seventy eighty ninety"
_WORD_NUMBERS: dict[str, float] = {w: i for i, w in enumerate(words(_UNITS))}
_WORD_NUMBERS |= {w: 10 * (i + 2) for i, w in enumerate(words(_TENS))}
_WORD_NUMBERS |= {"dozen": 12, "half": 0.5, "twice": 2}
_WORD_SCALES = {"hundred": 100.0, "thousand": 1e3, "million": 1e6, "billion": 1e9}
# "first" and "second" are too often not numbers ("first, sign in"; "a second try").
_ORDINALS: dict[str, float] = {
    w: i + 3
    for i, w in enumerate(
        words("third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth")
    )
}
_NUMBER_WORDS = _WORD_NUMBERS | _ORDINALS
_NUMBER_PHRASE = re.compile(
    r"\b(?:"
    + "|".join(_NUMBER_WORDS)
    + r")(?:(?:\s+and\s+|[\s-]+)(?:"
    + "|".join(list(_NUMBER_WORDS) + list(_WORD_SCALES))
    + r"))*\b",
    re.IGNORECASE,
)
_NAME_WORD = r"[A-Z](?:[\w'\u2019-]|\.(?=\w))*"
_CAPITALISED = re.compile(
    r"\b" + _NAME_WORD + r"(?:\s+(?:(?:of|the|de|van|von|and|&)\s+)?" + _NAME_WORD + ")*"
)


@dataclass(frozen=True)
class Fact:
    """One checkable item of a text: its kind, the text as written and a normalised key."""

    kind: str
    text: str
    key: str


def _number_key(value: float) -> str:
    """A canonical string for a number (20, 20.0 and 20.00 compare equal)."""
    return f"{round(value, 4):g}"


def _parse_number(raw: str) -> float | None:
    """A number as written with thousands separators or a decimal comma, or None."""
    if re.fullmatch(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?", raw):
        raw = raw.replace(",", "")
    elif re.fullmatch(r"\d{1,3}(?:\.\d{3})+,\d+", raw):
        raw = raw.replace(".", "").replace(",", ".")
    elif re.fullmatch(r"\d+,\d{1,2}", raw):
        raw = raw.replace(",", ".")
    try:
        return float(raw)
    except ValueError:
        return None


def _time_key(match: re.Match[str]) -> str:
    """hh:mm on a 24-hour clock."""
    if match.group(4) is not None:
        return f"{int(match.group(4))}:{match.group(5)}"
    hour = int(match.group(1)) % 12 + (12 if match.group(3).lower() == "p" else 0)
    return f"{hour}:{match.group(2) or '00'}"


def _take(pattern: re.Pattern[str], text: str, kind: str, out: list[Fact]) -> str:
    """Append the pattern's matches as facts and blank them out of the text."""
    for match in pattern.finditer(text):
        out.append(Fact(kind, match.group(0), match.group(0)))
    return pattern.sub(lambda m: " " * len(m.group(0)), text)


def _url_key(url: str) -> str:
    """A URL without scheme, "www.", trailing slash or case differences in the host."""
    key = re.sub(r"^(?:https?://)?(?:www\.)?", "", url, flags=re.IGNORECASE)
    host, _, path = key.partition("/")
    return f"{host.lower()}/{path}".rstrip("/")


def compact(text: str) -> str:
    """Lower-case letters and digits only: how identifiers are compared."""
    return re.sub(r"[\W_]+", "", text.lower())


def extract_facts(text: str, *, names: bool = True) -> list[Fact]:
    """The hard facts of a text: contacts, ids, dates, times, amounts, numbers and names."""
    facts: list[Fact] = []
    for match in _EMAIL.finditer(text):
        facts.append(Fact("email", match.group(0), match.group(0).lower()))
    rest = _EMAIL.sub(lambda m: " " * len(m.group(0)), text)
    for match in _URL.finditer(rest):
        facts.append(Fact("url", match.group(0), _url_key(match.group(0))))
    rest = _URL.sub(lambda m: " " * len(m.group(0)), rest)
    for match in _NUMERIC_DATE.finditer(rest):
        parts = [int(p) for p in re.findall(r"\d+", match.group(0))]
        facts.append(Fact("date", match.group(0), "-".join(str(p) for p in sorted(parts))))
    rest = _NUMERIC_DATE.sub(lambda m: " " * len(m.group(0)), rest)
    rest = _take(_PHONE, rest, "id", facts)
    rest = _take(_ID, rest, "id", facts)
    for match in _TIME.finditer(rest):
        facts.append(Fact("date", match.group(0), _time_key(match)))
    rest = _TIME.sub(lambda m: " " * len(m.group(0)), rest)
    for pattern in (_MONTH, _WEEKDAY):
        for match in pattern.finditer(rest):
            facts.append(Fact("date", match.group(0), match.group(0).lower().rstrip(".")[:3]))
    facts.extend(_numbers(rest))
    if names:
        facts.extend(_entities(rest))
    return facts


def _numbers(text: str) -> list[Fact]:
    """Amounts and numbers in digits or words ("one" alone is too often a pronoun)."""
    facts: list[Fact] = []
    for match in _NUMBER.finditer(text):
        value = _parse_number(match.group("num"))
        if value is None:
            continue
        scale = (match.group("scale") or "").lower()
        kind = "amount" if match.group("cur") or match.group("cur2") else "number"
        if len(scale) > 2 or kind == "amount":
            # "5 m" is five metres unless it is money.
            value *= _SCALES.get(scale, 1.0)
        facts.append(Fact(kind, match.group(0).strip(), _number_key(value)))
    for match in _NUMBER_PHRASE.finditer(text):
        phrase = match.group(0).lower()
        if phrase != "one":
            facts.append(Fact("number", match.group(0), _number_key(_compose(phrase))))
    return facts


def _compose(phrase: str) -> float:
    """The value of a number phrase in words ("twenty-five", "two hundred and ten")."""
    total, current = 0.0, 0.0
    for word in re.findall(r"[a-z]+", phrase):
        if word in _WORD_SCALES:
            scale = _WORD_SCALES[word]
            current = (current or 1.0) * scale
            if scale >= 1e3:
                total, current = total + current, 0.0
        elif word != "and":
            current += _NUMBER_WORDS[word]
    return total + current


def _entities(text: str) -> list[Fact]:
    """Capitalised names; a sentence's first word counts only as part of a longer name."""
    facts: list[Fact] = []
    for match in _CAPITALISED.finditer(text):
        words = match.group(0).split()
        at_start = _starts_sentence(text[: match.start()].rstrip())
        if at_start and not _looks_like_acronym(words[0]):
            # A sentence's first word is capitalised whatever it is.
            words = words[1:]
        tokens = [normalise_token(w).replace(".", "").strip("-") for w in words]
        tokens = [t for t in tokens if t and t not in _NOT_NAMES and not t.isdigit()]
        if tokens:
            facts.append(Fact("entity", " ".join(words), " ".join(tokens)))
    return facts


_TITLES = frozenset(words("mr mrs ms dr prof sr jr st mt ft no vs"))
_WEEKDAYS = {d + "day" for d in words("mon tues wednes thurs fri satur sun")}
_NOT_NAMES = STOPWORDS | _TITLES | set(MONTHS) | _WEEKDAYS


def _starts_sentence(before: str) -> bool:
    """Whether a word after this text opens a sentence (not after "Mr." or an initial)."""
    if not before or before[-1] in ":;\"'(*-•\n]":
        return True
    if before[-1] not in ".!?":
        return False
    last = re.search(r"(\w+)\.$", before)
    return not (last and (len(last.group(1)) == 1 or last.group(1).lower() in _TITLES))


def _looks_like_acronym(word: str) -> bool:
    """USA, U.K., iPhone: more than one capital letter."""
    return sum(1 for c in word if c.isupper()) >= 2
