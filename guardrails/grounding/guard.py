"""The grounding guard: is every sentence of a draft answer supported by its passages?"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence

from airlock.settings import AirlockSettings
from guardrails.errors import GuardInputError
from guardrails.grounding.judge import (
    JudgeFn,
    build_judge_messages,
    combine_support,
    parse_judge_reply,
)
from guardrails.grounding.model import HARD_FAIL_SUPPORT, load_claim_model
from guardrails.grounding.result import ClaimAssessment, GroundingResult
from guardrails.grounding.scorer import GroundingScorer, ScoredClaim
from guardrails.types import GuardContext, GuardVerdict
from models.embedder import Embedder, load_embedder
from models.embedding_cache import CachingEmbedder

log = logging.getLogger(__name__)


class GroundingGuard:
    """Scores a draft's claims against its passages (CPU checks, optionally an LLM judge)."""

    name = "grounding"

    def __init__(
        self,
        scorer: GroundingScorer,
        *,
        threshold: float,
        max_text_chars: int,
        judge: JudgeFn | None = None,
        judge_timeout_s: float = 30.0,
    ) -> None:
        self.scorer = scorer
        self.threshold = threshold
        self.max_text_chars = max_text_chars
        self.judge = judge
        self.judge_timeout_s = judge_timeout_s

    def _check_sizes(self, answer: str, passages: Sequence[str], question: str) -> None:
        """Refuse texts over the configured limit, naming it."""
        for label, text in [("answer", answer), ("question", question)] + [
            (f"passage {i}", p) for i, p in enumerate(passages, start=1)
        ]:
            if len(text) > self.max_text_chars:
                raise GuardInputError(
                    f"grounding {label} has {len(text)} characters, over the limit of "
                    f"{self.max_text_chars} (guardrails.max_text_chars)",
                    remedy="shorten the text or raise guardrails.max_text_chars",
                )

    def assess(self, answer: str, passages: Sequence[str], question: str = "") -> GroundingResult:
        """The CPU assessment of a draft against its passages."""
        self._check_sizes(answer, passages, question)
        scored = self.scorer.score(answer, passages, question)
        return self._result(scored, {}, ())

    async def assess_with_judge(
        self, answer: str, passages: Sequence[str], question: str = ""
    ) -> GroundingResult:
        """The assessment, with the judge's verdicts blended in when a judge is configured."""
        self._check_sizes(answer, passages, question)
        scored = await asyncio.to_thread(self.scorer.score, answer, passages, question)
        if self.judge is None or not scored:
            return self._result(scored, {}, ())
        verdicts, problem = await self._ask_judge(scored, passages, question)
        reasons = (f"judge fallback: {problem}",) if problem else ()
        return self._result(scored, verdicts, reasons, judge_used=bool(verdicts))

    async def _ask_judge(
        self, scored: list[ScoredClaim], passages: Sequence[str], question: str
    ) -> tuple[dict[int, str], str]:
        """Verdicts by claim number, and what went wrong (empty when all is well)."""
        assert self.judge is not None
        messages = build_judge_messages([s.claim.body for s in scored], passages, question)
        try:
            reply = await asyncio.wait_for(self.judge(messages), self.judge_timeout_s)
        except TimeoutError:
            return {}, f"judge timed out after {self.judge_timeout_s:g} s; CPU score used"
        except Exception as exc:  # any engine failure: the CPU score still stands
            log.warning("grounding judge failed", extra={"error": type(exc).__name__})
            return {}, f"judge failed ({type(exc).__name__}); CPU score used"
        parsed = parse_judge_reply(reply, len(scored))
        problem = f"{parsed.problem}; CPU score used for those" if parsed.problem else ""
        if not parsed.verdicts:
            problem = f"{parsed.problem}; CPU score used"
        return parsed.verdicts, problem

    def _result(
        self,
        scored: list[ScoredClaim],
        verdicts: dict[int, str],
        reasons: tuple[str, ...],
        *,
        judge_used: bool = False,
    ) -> GroundingResult:
        """Claims, overall score (the weakest claim) and the verdict at the threshold."""
        claims = tuple(self._assessment(s, verdicts.get(s.claim.index + 1)) for s in scored)
        score = min((c.support for c in claims), default=1.0)
        unsupported = tuple(dict.fromkeys(c.text for c in claims if not c.supported))
        sentences = len({s.claim.sentence for s in scored})
        notes = [f"{len(unsupported)} of {sentences} sentences unsupported"] if unsupported else []
        notes += [f"missing from passages: {m}" for c in claims for m in c.missing][:10]
        notes += [
            f"contradicts passage {c.best_passage} ({c.contradiction}): {c.claim}"
            for c in claims
            if c.contradiction
        ][:5]
        return GroundingResult(
            score=score,
            grounded=score >= self.threshold,
            threshold=self.threshold,
            claims=claims,
            unsupported=unsupported,
            reasons=(*notes, *reasons),
            judge_used=judge_used,
        )

    def _assessment(self, scored: ScoredClaim, verdict: str | None) -> ClaimAssessment:
        """One claim's assessment; a missing hard fact keeps it unsupported whatever the judge."""
        support = combine_support(scored.support, verdict)
        if scored.features.hard_failure:
            support = min(support, HARD_FAIL_SUPPORT)
        return ClaimAssessment(
            index=scored.claim.index,
            text=scored.claim.text,
            claim=scored.claim.body,
            support=round(support, 4),
            cpu_support=round(scored.support, 4),
            supported=support >= self.threshold,
            citations=scored.claim.citations,
            missing=tuple(f"{f.kind}: {f.text}" for f in scored.features.missing),
            contradiction=scored.features.contradiction or None,
            best_passage=scored.best_passage,
            judge_verdict=verdict,
        )

    async def check(self, text: str, *, context: GuardContext) -> GuardVerdict:
        """Check a draft against `context.passages`; flag it 'ungrounded' below the threshold."""
        started = time.perf_counter()
        result = await self.assess_with_judge(text, context.passages, context.question)
        return GuardVerdict(
            guard=self.name,
            allowed=result.grounded,
            flags=() if result.grounded else ("ungrounded",),
            scores={"grounding": result.score},
            reasons=result.reasons,
            elapsed_ms=(time.perf_counter() - started) * 1000,
            unsupported=result.unsupported,
        )


def build_grounding_guard(
    settings: AirlockSettings, embedder: Embedder | None = None, judge: JudgeFn | None = None
) -> GroundingGuard:
    """The grounding guard from settings: shipped model, the registry's embedder, optional judge."""
    scorer = GroundingScorer(
        load_claim_model(), CachingEmbedder(embedder or load_embedder(settings))
    )
    return GroundingGuard(
        scorer,
        threshold=settings.guardrails.grounding.threshold,
        max_text_chars=settings.guardrails.max_text_chars,
        judge=judge,
        judge_timeout_s=settings.guardrails.grounding.judge_timeout_s,
    )
