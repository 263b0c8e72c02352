"""What every guard takes and returns: the `Guard` protocol, its context and verdict."""

from __future__ import annotations

from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field


class _Value(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class GuardContext(_Value):
    """What a guard may compare a text with; which fields matter depends on the guard."""

    tenant: str = ""
    subject_id: str = Field("", description="The customer (data subject) the text concerns.")
    ticket_text: str = Field("", description="The customer's ticket (for output checks).")
    passages: tuple[str, ...] = Field((), description="Retrieved passages the draft used.")
    question: str = ""


class Entity(_Value):
    """One detected PII span; `end` is exclusive. The text itself is never logged."""

    type: str
    start: int
    end: int
    score: float


class GuardVerdict(_Value):
    """The outcome of one guard on one text: a value, never an exception."""

    guard: str
    allowed: bool
    flags: tuple[str, ...] = ()
    scores: dict[str, float] = Field(default_factory=dict)
    labels: dict[str, str] = Field(default_factory=dict, description="e.g. language: en")
    reasons: tuple[str, ...] = ()
    elapsed_ms: float = 0.0
    redacted: str | None = Field(None, description="The text with PII replaced (PII guard).")
    entities: tuple[Entity, ...] = ()
    unsupported: tuple[str, ...] = Field((), description="Unsupported sentences (grounding).")


class Guard(Protocol):
    """One check on a text (ticket, passage or draft answer)."""

    name: str

    async def check(self, text: str, *, context: GuardContext) -> GuardVerdict:
        """Check the text; a flagged text is `allowed=False` with reasons."""
        ...
