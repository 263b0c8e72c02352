"""Groundedness guard: is every sentence of a draft answer supported by its passages?"""

from guardrails.grounding.evaluate import evaluate_grounding
from guardrails.grounding.guard import GroundingGuard, build_grounding_guard
from guardrails.grounding.judge import JudgeFn
from guardrails.grounding.result import ClaimAssessment, GroundingResult

__all__ = [
    "ClaimAssessment",
    "GroundingGuard",
    "GroundingResult",
    "JudgeFn",
    "build_grounding_guard",
    "evaluate_grounding",
]
