"""Grouped cross-validation of the injection model: out-of-fold scores, tuning, honest metrics."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.model_selection import StratifiedGroupKFold

from guardrails.injection.classifier import InjectionClassifier
from guardrails.injection.dataset import NOTINJECT_PREFIX, is_notinject
from guardrails.injection.features import split_windows
from guardrails.injection.metrics import injection_metrics
from guardrails.injection.model import InjectionModel
from guardrails.injection.rules import scan_rules
from models.embedder import Embedder

# What the operating point must meet on out-of-fold scores (issue 5 targets).
MAX_FALSE_POSITIVE_RATE = 0.05
MIN_NOTINJECT_ACCURACY = 0.90
THRESHOLDS = tuple(round(0.05 + 0.01 * step, 2) for step in range(91))
# Lexical-head probabilities below which the embedding head may be skipped, boldest first.
CASCADE_PROBABILITIES = (0.2, 0.1, 0.05, 0.02, 0.01)

Fit = Callable[[list[dict[str, Any]]], InjectionModel]


@dataclass(frozen=True)
class OutOfFold:
    """Per row: the full classifier probability, the best lexical logit, a strong-rule hit."""

    probability: np.ndarray
    lexical_logit: np.ndarray
    strong: np.ndarray
    folds: tuple[tuple[np.ndarray, InjectionModel], ...]


def cv_group(row: dict[str, Any]) -> str:
    """Rows of one attack family stay in one fold (templated variants would leak otherwise)."""
    if row["label"] == 1:
        return f"{row.get('source')}|{row.get('category')}"
    return f"{row.get('id')}|{row['text']}"


def source_family(row: dict[str, Any]) -> str:
    """The dataset a row comes from; NotInject's three subsets count as one."""
    source = str(row.get("source") or "unknown")
    return NOTINJECT_PREFIX if source.startswith(NOTINJECT_PREFIX) else source


def _lexical_max(model: InjectionModel, texts: Sequence[str]) -> np.ndarray:
    """Highest lexical-head logit over each text's windows."""
    best = np.full(len(texts), -np.inf)
    for index, text in enumerate(texts):
        windows = split_windows(text) if text.strip() else []
        if windows:
            features = model.featurizer.transform(windows, [scan_rules(w) for w in windows])
            best[index] = float(model.lexical_logits(features).max())
    return best


def out_of_fold(
    rows: list[dict[str, Any]], extra: list[dict[str, Any]], fit: Fit, embedder: Embedder, *,
    folds: int, seed: int,
) -> OutOfFold:  # fmt: skip
    """Scores of each row from a model that never saw its attack family; `extra` always trains."""
    labels = np.array([row["label"] for row in rows])
    splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
    probability, lexical = np.zeros(len(rows)), np.zeros(len(rows))
    strong = np.zeros(len(rows), dtype=bool)
    fitted: list[tuple[np.ndarray, InjectionModel]] = []
    for train, test in splitter.split(rows, labels, [cv_group(row) for row in rows]):
        model = fit([rows[i] for i in train] + extra)
        neutral = dataclasses.replace(model, raw_threshold=0.5, cascade_logit=-math.inf)
        texts = [rows[i]["text"] for i in test]
        results = InjectionClassifier(neutral, embedder).score_many(texts)
        probability[test] = [result.classifier for result in results]
        strong[test] = [bool(result.strong_rules) for result in results]
        lexical[test] = _lexical_max(model, texts)
        fitted.append((test, model))
    return OutOfFold(probability, lexical, strong, tuple(fitted))


def _standard_error(rate: float, rows: int) -> float:
    return math.sqrt(rate * (1 - rate) / rows) if rows else 0.0


def tune_threshold(rows: list[dict[str, Any]], oof: OutOfFold) -> float:
    """The raw threshold with the best recall that keeps over-defence within the targets.

    Both targets carry a margin of one standard error (the tuning data is small): the
    false-positive rate must stay under 0.05 minus its error, NotInject accuracy over 0.90 plus
    its error. Ties go to the higher threshold; if no threshold qualifies, the best sum of
    recall, specificity and NotInject accuracy wins.
    """
    best: tuple[bool, float, float] | None = None
    for threshold in THRESHOLDS:
        flagged = (oof.probability >= threshold) | oof.strong
        metrics = injection_metrics(rows, flagged.tolist(), threshold)
        notinject = metrics["notinject"]
        fpr_limit = MAX_FALSE_POSITIVE_RATE - _standard_error(
            MAX_FALSE_POSITIVE_RATE, metrics["benign"]
        )
        ni_floor = MIN_NOTINJECT_ACCURACY + _standard_error(
            MIN_NOTINJECT_ACCURACY, notinject["rows"]
        )
        meets = metrics["false_positive_rate"] <= fpr_limit and (
            notinject["rows"] == 0 or notinject["accuracy"] >= ni_floor
        )
        balance = metrics["recall"] + 1 - metrics["false_positive_rate"] + notinject["accuracy"]
        candidate = (meets, metrics["recall"] if meets else balance, threshold)
        if best is None or candidate >= best:
            best = candidate
    return best[2] if best else 0.5


def tune_cascade(oof: OutOfFold, threshold: float) -> float:
    """The boldest lexical logit below which skipping the embedding changes no decision."""
    full = (oof.probability >= threshold) | oof.strong
    for probability in CASCADE_PROBABILITIES:
        bound = math.log(probability / (1 - probability))
        skipped = oof.lexical_logit < bound
        lexical_only = 1 / (1 + np.exp(-oof.lexical_logit))
        cascaded = np.where(skipped, lexical_only, oof.probability)
        if probability < threshold and np.array_equal((cascaded >= threshold) | oof.strong, full):
            return bound
    return -math.inf


def cross_validated_metrics(
    rows: list[dict[str, Any]], oof: OutOfFold, embedder: Embedder, *, threshold: float,
    cascade_logit: float, decision: float = 0.5,
) -> dict[str, Any]:  # fmt: skip
    """Metrics of the fold models at the tuned operating point, through the inference path."""
    scores = np.zeros(len(rows))
    for test, model in oof.folds:
        tuned = dataclasses.replace(model, raw_threshold=threshold, cascade_logit=cascade_logit)
        results = InjectionClassifier(tuned, embedder).score_many([rows[i]["text"] for i in test])
        scores[test] = [result.score for result in results]
    return injection_metrics(rows, (scores >= decision).tolist(), decision)


def leave_one_source_out(
    rows: list[dict[str, Any]], extra: list[dict[str, Any]], fit: Fit, embedder: Embedder, *,
    threshold: float, cascade_logit: float,
) -> dict[str, Any]:  # fmt: skip
    """Per dataset: the share flagged by a model trained without any row of that dataset."""
    report: dict[str, Any] = {}
    for family in sorted({source_family(row) for row in rows}):
        held = [row for row in rows if source_family(row) == family]
        model = fit([row for row in rows if source_family(row) != family] + extra)
        tuned = dataclasses.replace(model, raw_threshold=threshold, cascade_logit=cascade_logit)
        results = InjectionClassifier(tuned, embedder).score_many([row["text"] for row in held])
        flagged = [result.score >= 0.5 for result in results]
        report[family] = {
            "rows": len(held),
            "injections": sum(row["label"] for row in held),
            "flagged": sum(flagged),
            "notinject_rows": sum(is_notinject(row) for row in held),
        }
    return report
