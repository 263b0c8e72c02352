"""What the grounding guard reports: per-claim assessments and the draft's overall result."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class _Value(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ClaimAssessment(_Value):
    """How well the passages support one claim (a sentence or one clause of it) of the draft."""

    index: int = Field(description="Position among the draft's claims, from 0.")
    text: str = Field(description="The sentence as written (citation markers included).")
    claim: str = Field(description="What was checked: the sentence or one of its clauses.")
    support: float = Field(ge=0, le=1, description="Final support score (judge included).")
    cpu_support: float = Field(ge=0, le=1, description="Support from the CPU checks alone.")
    supported: bool
    citations: tuple[int, ...] = Field((), description="Passage numbers the sentence cites.")
    missing: tuple[str, ...] = Field(
        (), description="Facts absent from the passages, as 'kind: text' (e.g. 'amount: €50')."
    )
    contradiction: str | None = Field(
        None, description="negation | opposite word | swapped word, against best_passage."
    )
    best_passage: int | None = Field(None, description="Passage (from 1) that supports it most.")
    judge_verdict: str | None = Field(None, description="supported | unsupported | contradicted")


class GroundingResult(_Value):
    """The draft's support score, verdict at the threshold, and the sentences that fail it."""

    score: float = Field(ge=0, le=1, description="Support of the least supported claim.")
    grounded: bool
    threshold: float
    claims: tuple[ClaimAssessment, ...] = ()
    unsupported: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()
    judge_used: bool = False
