"""Hard checks: numbers, amounts, dates, URLs, emails, ids and names must appear in the sources."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace

from guardrails.grounding.facts import MONTH_NUMBER, MONTHS, Fact, compact, extract_facts
from guardrails.grounding.lexicon import normalise_token

# Kinds whose absence from the sources makes a claim unsupported whatever else it shares.
HARD_KINDS = frozenset({"number", "amount", "date", "url", "email", "id"})

__all__ = ["HARD_KINDS", "Fact", "SourceFacts", "extract_facts", "find_missing", "index_sources"]


@dataclass(frozen=True)
class SourceFacts:
    """What the sources contain, indexed for the hard checks."""

    numbers: frozenset[str]
    dates: frozenset[str]
    tokens: frozenset[str]
    compact_text: str
    names: frozenset[str]
    links: frozenset[str] = frozenset()
    asked: str = ""

    def with_question(self, question: str) -> SourceFacts:
        """These sources plus the question's names, ids and emails (never its numbers)."""
        if not question:
            return self
        return replace(self, names=frozenset(_name_tokens(question)), asked=question.lower())

    def supports(self, fact: Fact) -> bool:
        """Whether the sources contain the fact."""
        if fact.kind in ("number", "amount"):
            return fact.key in self.numbers
        if fact.kind == "date":
            return fact.key in self.dates or _date_in(fact.key, self.numbers | self.dates)
        if fact.kind == "entity":
            return all(t in self.tokens or t in self.names for t in fact.key.split())
        if fact.kind == "url":
            return any(link == fact.key or link.startswith(fact.key + "/") for link in self.links)
        if fact.kind == "email":
            return fact.key in self.links or fact.key in self.asked.split()
        # An id may be the customer's own order number, quoted back from the question.
        key = compact(fact.key)
        return bool(key) and (key in self.compact_text or key in compact(self.asked))


def _date_in(key: str, known: frozenset[str]) -> bool:
    """A numeric date whose parts all appear among the sources' numbers and months."""
    parts = key.split("-")
    return len(parts) == 3 and all(p in known for p in parts)


def index_sources(sources: Iterable[str], question: str = "") -> SourceFacts:
    """Index passages for the hard checks; the question may supply names, ids and emails only."""
    return _index_passages(tuple(sources)).with_question(question)


def _index_passages(texts: tuple[str, ...]) -> SourceFacts:
    """The passages' numbers, dates, links, words and compact text."""
    numbers: set[str] = set()
    dates: set[str] = set()
    links: set[str] = set()
    for fact in (f for text in texts for f in extract_facts(text, names=False)):
        if fact.kind in ("url", "email"):
            links.add(fact.key)
        elif fact.kind in ("number", "amount"):
            numbers.add(fact.key)
        elif fact.kind == "date":
            dates.add(fact.key)
            parts = [p for p in fact.key.split("-") if p.isdigit()]
            numbers.update(parts)
            # A numeric date's middle part may be the month that an answer spells out.
            dates.update(MONTHS[int(p) - 1][:3] for p in parts if 1 <= int(p) <= 12)
            if fact.key in MONTH_NUMBER:
                dates.add(str(MONTH_NUMBER[fact.key]))
    tokens = {t for text in texts for t in _name_tokens(text)}
    return SourceFacts(
        numbers=frozenset(numbers),
        dates=frozenset(dates),
        tokens=frozenset(tokens),
        compact_text=" ".join(compact(t) for t in texts),
        names=frozenset(),
        links=frozenset(links),
    )


def _name_tokens(text: str) -> set[str]:
    """Tokens a name may be matched against: whole words ("u.k" as "uk") and their parts."""
    tokens = {normalise_token(t).replace(".", "").strip("-,;:!?()\"'") for t in text.split()}
    return tokens | {normalise_token(t) for t in re.findall(r"[^\W_]+", text)}


def find_missing(facts: Iterable[Fact], sources: SourceFacts) -> list[Fact]:
    """The facts the sources do not contain."""
    return [fact for fact in facts if not sources.supports(fact)]
