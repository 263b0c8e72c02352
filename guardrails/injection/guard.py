"""The prompt-injection input guard: direct injection in a ticket, indirect in its passages."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from pathlib import Path

from airlock.settings import AirlockSettings
from guardrails.errors import GuardInputError
from guardrails.injection.classifier import InjectionClassifier, InjectionScore
from guardrails.injection.model import MODEL_DIR, WEIGHTS_FILE, load_model
from guardrails.types import GuardContext, GuardVerdict
from models.embedder import Embedder, load_embedder

log = logging.getLogger(__name__)


def describe_score(where: str, result: InjectionScore, threshold: float) -> list[str]:
    """Reasons for a flagged score: each strong rule by name, or the classifier."""
    reasons = [f"{where}: rule {rule}" for rule in result.strong_rules]
    if result.classifier >= threshold:
        reasons.append(f"{where}: classifier {result.classifier:.2f}")
    return reasons


class InjectionGuard:
    """Scores texts in [0, 1]; at or above `threshold` a text is an injection."""

    name = "injection"

    def __init__(
        self, classifier: InjectionClassifier, *, threshold: float, max_text_chars: int
    ) -> None:
        self.classifier = classifier
        self.threshold = threshold
        self.max_text_chars = max_text_chars

    def _checked(self, texts: Sequence[str]) -> list[str]:
        for text in texts:
            if not isinstance(text, str):
                raise GuardInputError(f"the injection guard takes text, not {type(text).__name__}")
            if len(text) > self.max_text_chars:
                raise GuardInputError(
                    f"text of {len(text)} characters is over the limit of "
                    f"guardrails.max_text_chars = {self.max_text_chars}",
                    remedy="split the text, or raise guardrails.max_text_chars",
                )
        return list(texts)

    def assess_many(self, texts: Sequence[str]) -> list[InjectionScore]:
        """Score and explanation (rules hit, classifier score) for each text, batched."""
        return self.classifier.score_many(self._checked(texts))

    def score_many(self, texts: Sequence[str]) -> list[float]:
        """Scores in [0, 1] for many texts at once (empty text: 0.0)."""
        return [result.score for result in self.assess_many(texts)]

    def score(self, text: str, context: str | None = None) -> float:
        """Score of a text, or the higher of it and a passage or attachment scanned with it."""
        return max(self.score_many([text] if context is None else [text, context]))

    async def check(self, text: str, *, context: GuardContext) -> GuardVerdict:
        """Flag `injection` in the text and `indirect_injection` in any of the passages."""
        return await asyncio.to_thread(self.verdict, text, context)

    def verdict(self, text: str, context: GuardContext) -> GuardVerdict:
        """The synchronous body of `check`."""
        started = time.perf_counter()
        passages = list(context.passages)
        results = self.assess_many([text, *passages])
        flags: list[str] = []
        reasons = describe_score("text", results[0], self.threshold)
        scores = {"injection": round(results[0].score, 4)}
        if results[0].score >= self.threshold:
            flags.append("injection")
        for index, result in enumerate(results[1:]):
            scores[f"passage_{index}"] = round(result.score, 4)
            if result.score >= self.threshold:
                reasons += describe_score(f"passage {index}", result, self.threshold)
        if passages:
            scores["indirect_injection"] = max(scores[f"passage_{i}"] for i in range(len(passages)))
            if scores["indirect_injection"] >= self.threshold:
                flags.append("indirect_injection")
        return GuardVerdict(
            guard=self.name,
            allowed=not flags,
            flags=tuple(flags),
            scores=scores,
            reasons=tuple(reasons),
            elapsed_ms=round((time.perf_counter() - started) * 1000, 3),
        )


def build_injection_guard(
    settings: AirlockSettings, embedder: Embedder | None = None, *, model_dir: Path | None = None
) -> InjectionGuard:
    """The injection guard with the shipped model (verified) and the configured threshold."""
    model, manifest = load_model(model_dir or settings.guardrails.injection.model_dir or MODEL_DIR)
    classifier = InjectionClassifier(model, embedder or load_embedder(settings))
    log.info(
        "injection model loaded",
        extra={
            "sha256": manifest["files"][WEIGHTS_FILE]["sha256"],
            "embedder": model.embedder_id,
        },
    )
    return InjectionGuard(
        classifier,
        threshold=settings.guardrails.injection.threshold,
        max_text_chars=settings.guardrails.max_text_chars,
    )
