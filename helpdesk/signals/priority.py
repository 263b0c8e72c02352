"""Ticket priority P1 to P4 from a YAML policy: keywords, intent, tier, sentiment and SLA."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from helpdesk.signals.policyfile import load_policy_file
from helpdesk.signals.text import clip_middle, fold, term_pattern

Level = Literal["P1", "P2", "P3", "P4"]
LEVEL_NAMES: dict[str, str] = {"P1": "critical", "P2": "high", "P3": "normal", "P4": "low"}
SHIPPED_POLICY = Path(__file__).resolve().parent / "priority.yaml"
ANY_LANGUAGE = "*"


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class KeywordRule(_Spec):
    """Terms per language (or `*`) whose whole-word presence sets `level`."""

    name: str = Field(min_length=1)
    level: Level = "P1"
    terms: dict[str, tuple[str, ...]] = Field(min_length=1)


class TierRule(_Spec):
    """What a customer tier does: a floor, a raise by some levels, or both."""

    at_least: Level | None = None
    raise_by: int = Field(default=0, ge=0, le=3)


class SlaRule(_Spec):
    """A ticket due within `within_minutes` (or overdue) gets at least `level`."""

    within_minutes: float = Field(ge=0)
    level: Level


class PriorityPolicy(_Spec):
    """The priority rules; every field has a safe default and unknown keys are errors."""

    base: Level = "P4"
    keywords: tuple[KeywordRule, ...] = ()
    # Keywords are looked for in a bounded head and tail of the text, like sentiment.
    keyword_head_chars: int = Field(default=20_000, ge=100)
    keyword_tail_chars: int = Field(default=5_000, ge=0)
    sentiment_below: float = Field(default=-0.6, ge=-1.0, le=1.0)
    sentiment_raise_by: int = Field(default=1, ge=0, le=3)
    tiers: dict[str, TierRule] = {}
    intents: dict[str, Level] = {}
    intent_min_confidence: float = Field(default=0.5, ge=0.0, le=1.0)
    sla: tuple[SlaRule, ...] = ()
    _compiled: list[tuple[KeywordRule, str, re.Pattern[str]]] = PrivateAttr(default_factory=list)

    def model_post_init(self, context: object, /) -> None:
        """Compile each rule's terms once, one regex per rule and language."""
        for rule in self.keywords:
            for language, terms in rule.terms.items():
                if terms:
                    source = "|".join(term_pattern(term) for term in terms)
                    self._compiled.append((rule, language.lower(), re.compile(source)))

    def keyword_hits(self, text: str, language: str) -> list[tuple[KeywordRule, str, str]]:
        """(rule, language, matched words) of the first match of each rule and language."""
        scanned = {language, "en", ANY_LANGUAGE} if language else None
        clipped = clip_middle(text, self.keyword_head_chars, self.keyword_tail_chars)
        folded = fold(clipped)  # same length as `clipped`, so spans point into the original
        hits = []
        for rule, code, pattern in self._compiled:
            if scanned is not None and code not in scanned:
                continue
            match = pattern.search(folded)
            if match:
                hits.append((rule, code, " ".join(clipped[match.start() : match.end()].split())))
        return hits


@dataclass(frozen=True)
class Priority:
    """A priority level and the reason of every rule that set or raised it."""

    level: Level
    reasons: tuple[str, ...]
    critical_keywords: tuple[
        str, ...
    ] = ()  # keyword hits of rules that set P1: 'words' (rule, lang)

    @property
    def name(self) -> str:
        """The level's word: critical, high, normal or low."""
        return LEVEL_NAMES[self.level]


def load_priority_policy(path: Path | None = None) -> PriorityPolicy:
    """The policy in `path`, or the shipped one; problems name the file and the key."""
    shipped = "helpdesk/signals/priority.yaml"
    return load_policy_file(path or SHIPPED_POLICY, PriorityPolicy, "priority policy", shipped)


def assign_priority(
    policy: PriorityPolicy,
    text: str,
    *,
    language: str = "",
    sentiment: float = 0.0,
    intent: str | None = None,
    confidence: float = 1.0,
    tier: str | None = None,
    sla_due_at: datetime | None = None,
    now: datetime | None = None,
) -> Priority:
    """The ticket's priority: the highest floor of all rules, then raises, with reasons."""
    hits = policy.keyword_hits(text, language.lower())
    floors = _floors(
        policy,
        hits,
        intent=intent,
        confidence=confidence,
        tier=tier,
        sla_due_at=sla_due_at,
        now=now,
    )
    level = min([policy.base, *(floor for floor, _ in floors)])
    reasons = [reason for _, reason in floors]
    raises = []
    if tier and policy.tiers.get(tier) and policy.tiers[tier].raise_by:
        raises.append((policy.tiers[tier].raise_by, f"tier {tier} raises by"))
    if sentiment < policy.sentiment_below and policy.sentiment_raise_by:
        note = f"sentiment {sentiment:.2f} below {policy.sentiment_below:.2f} raises by"
        raises.append((policy.sentiment_raise_by, note))
    for steps, note in raises:
        raised = _raise(level, steps)
        reasons.append(f"{note} {steps}: {level} -> {raised}")
        level = raised
    critical = tuple(
        f"{words!r} ({rule.name}, {code})" for rule, code, words in hits if rule.level == "P1"
    )
    return Priority(level=level, reasons=tuple(reasons), critical_keywords=critical)


def _floors(
    policy: PriorityPolicy,
    hits: list[tuple[KeywordRule, str, str]],
    *,
    intent: str | None,
    confidence: float,
    tier: str | None,
    sla_due_at: datetime | None,
    now: datetime | None,
) -> list[tuple[Level, str]]:
    """(level, reason) of every rule that sets a minimum level."""
    floors: list[tuple[Level, str]] = [
        (rule.level, f"keyword {words!r} ({rule.name}, {code}) sets {rule.level}")
        for rule, code, words in hits
    ]
    if intent in policy.intents and confidence >= policy.intent_min_confidence:
        floors.append(
            (policy.intents[intent], f"intent {intent} sets at least {policy.intents[intent]}")
        )
    rule = policy.tiers.get(tier or "")
    if rule is not None and rule.at_least:
        floors.append((rule.at_least, f"tier {tier} sets at least {rule.at_least}"))
    if sla_due_at is not None:
        floors.extend(_sla_floor(policy, sla_due_at, now or datetime.now(UTC)))
    return floors


def _sla_floor(policy: PriorityPolicy, due: datetime, now: datetime) -> list[tuple[Level, str]]:
    """The floor of the tightest SLA rule that applies (naive times are read as UTC)."""
    minutes = (_aware(due) - _aware(now)).total_seconds() / 60.0
    matching = [rule for rule in policy.sla if minutes <= rule.within_minutes]
    if not matching:
        return []
    rule = min(matching, key=lambda r: r.level)
    when = f"overdue by {-minutes:.0f} min" if minutes < 0 else f"due in {minutes:.0f} min"
    return [(rule.level, f"SLA {when} (within {rule.within_minutes:g}) sets {rule.level}")]


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _raise(level: Level, steps: int) -> Level:
    order: tuple[Level, ...] = ("P1", "P2", "P3", "P4")
    return order[max(0, order.index(level) - steps)]
