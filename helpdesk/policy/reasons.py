"""Kinds of escalation reasons: bounded labels for metrics and analytics, never sentences.

`decide` writes reasons as sentences with numbers in them (what an agent reads); counting them
needs a fixed vocabulary. A "not auto-answerable: a; b" reason holds several kinds.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_NOT_AUTO = "not auto-answerable: "
# In order: the first pattern that matches names the kind. Kinds with "" are not escalation
# reasons (routing notes) and are left out.
REASON_KINDS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (kind, re.compile(pattern))
    for kind, pattern in (
        ("guardrail", r"^guardrail flags"),
        ("critical_keyword", r"^critical keyword"),
        ("human_request", r"transfer to a person$"),
        ("negative_sentiment", r"^sentiment "),
        ("out_of_scope", r"^intent \S+: out of scope"),
        ("low_confidence", r"^intent \S+ confidence"),
        ("no_intent", r"^no intent$"),
        ("repeated_question", r"^asked \d+ times"),
        ("", r": priority routing$"),
        ("intent_not_auto_answerable", r"is not in the auto-answerable set$"),
        ("nothing_retrieved", r"^nothing retrieved"),
        ("low_passage_score", r"^best passage score"),
        ("no_draft", r"^no (draft|answer)$"),
        ("low_grounding", r"grounding"),
        ("too_short", r"ask the customer for details$"),
        ("not_analysed", r"without automatic analysis$|ask what the customer needs$"),
    )
)


def reason_kinds(reasons: Iterable[str]) -> set[str]:
    """The kinds of a decision's reasons ('other' for a sentence no pattern knows)."""
    kinds: set[str] = set()
    for reason in reasons:
        parts = reason[len(_NOT_AUTO) :].split("; ") if reason.startswith(_NOT_AUTO) else [reason]
        for part in parts:
            kind = next((k for k, pattern in REASON_KINDS if pattern.search(part)), "other")
            if kind:
                kinds.add(kind)
    return kinds
