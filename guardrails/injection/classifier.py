"""Scores texts for injection: rules, a lexical head, and the embedding head when it matters."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from guardrails.errors import GuardModelError
from guardrails.injection.features import split_windows
from guardrails.injection.model import RETRAIN, InjectionModel
from guardrails.injection.rules import RuleScan, scan_rules
from models.embedder import Embedder

# A strong rule (an override phrase, chat-template tokens, smuggled tags...) flags on its own.
STRONG_RULE_SCORE = 0.95
# The embedding head runs on at most this many windows of one text, the lexically worst first,
# so a text at the size limit costs a few embeddings, not hundreds.
MAX_EMBEDDED_WINDOWS = 4


@dataclass(frozen=True)
class InjectionScore:
    """One text's score in [0, 1] and what produced it."""

    score: float
    classifier: float
    rules: tuple[str, ...] = ()
    strong_rules: tuple[str, ...] = ()
    embedded: bool = False


EMPTY_SCORE = InjectionScore(score=0.0, classifier=0.0)


def check_embedder(model: InjectionModel, embedder: Embedder) -> None:
    """Refuse an embedder the embedding head was not trained on."""
    dimension = len(model.embedding_coef)
    if embedder.model_id != model.embedder_id or embedder.dimension != dimension:
        raise GuardModelError(
            f"the injection model was trained on embeddings of {model.embedder_id!r} "
            f"({dimension} dimensions), but the embedder is {embedder.model_id!r} "
            f"({embedder.dimension} dimensions)",
            remedy=f"set models.embedding_model to {model.embedder_id!r}, or {RETRAIN}",
        )


class InjectionClassifier:
    """Windows each text, scans rules, and combines the lexical and embedding heads."""

    def __init__(self, model: InjectionModel, embedder: Embedder) -> None:
        check_embedder(model, embedder)
        self.model = model
        self.embedder = embedder

    def score_many(self, texts: Sequence[str]) -> list[InjectionScore]:
        """One `InjectionScore` per text; empty texts score 0.0."""
        owners: list[int] = []
        windows: list[str] = []
        for index, text in enumerate(texts):
            if text.strip():
                parts = split_windows(text)
                windows.extend(parts)
                owners.extend([index] * len(parts))
        if not windows:
            return [EMPTY_SCORE for _ in texts]
        scans = [scan_rules(window) for window in windows]
        logits, embedded = self._window_logits(windows, scans, np.array(owners))
        scores = self.model.to_score(logits)
        rows_of: dict[int, list[int]] = {}
        for row, owner in enumerate(owners):
            rows_of.setdefault(owner, []).append(row)
        return [
            self._combine(rows_of[index], scores, scans, embedded)
            if index in rows_of
            else EMPTY_SCORE
            for index in range(len(texts))
        ]

    def _window_logits(
        self, windows: list[str], scans: list[RuleScan], owners: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Combined logit per window, and which windows the embedding head saw."""
        model = self.model
        lexical = model.lexical_logits(model.featurizer.transform(windows, scans))
        chosen = self._windows_to_embed(lexical, owners)
        logits = lexical.copy()
        embedded = np.zeros(len(windows), dtype=bool)
        if chosen:
            vectors = self.embedder.embed([windows[i] for i in chosen])
            weight = model.embedding_weight
            emb = model.embedding_logits(vectors)
            logits[chosen] = (1.0 - weight) * lexical[chosen] + weight * emb
            embedded[chosen] = True
        return logits, embedded

    def _windows_to_embed(self, lexical: np.ndarray, owners: np.ndarray) -> list[int]:
        """Windows the lexical head cannot clear alone, at most a few per text."""
        chosen: list[int] = []
        for owner in np.unique(owners):
            mine = np.flatnonzero(owners == owner)
            unclear = mine[lexical[mine] >= self.model.cascade_logit]
            worst_first = unclear[np.argsort(-lexical[unclear], kind="stable")]
            chosen.extend(int(i) for i in worst_first[:MAX_EMBEDDED_WINDOWS])
        return sorted(chosen)

    @staticmethod
    def _combine(
        rows: list[int], scores: np.ndarray, scans: list[RuleScan], embedded: np.ndarray
    ) -> InjectionScore:
        """A text's score: the worst window, raised to the strong-rule score on a strong hit."""
        classifier = float(scores[rows].max())
        hits = tuple(dict.fromkeys(hit for row in rows for hit in scans[row].hits))
        strong = tuple(dict.fromkeys(hit for row in rows for hit in scans[row].strong))
        score = max(classifier, STRONG_RULE_SCORE) if strong else classifier
        return InjectionScore(
            score=min(1.0, max(0.0, score)),
            classifier=classifier,
            rules=hits,
            strong_rules=strong,
            embedded=bool(embedded[rows].any()),
        )
