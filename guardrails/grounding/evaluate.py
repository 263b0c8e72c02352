"""Evaluate the grounding guard on labelled rows (HaluEval QA, SummEdits or the same format)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from guardrails.batch import load_labelled
from guardrails.grounding.guard import GroundingGuard


def load_rows(path: Path) -> list[dict[str, Any]]:
    """Rows of a JSON Lines file with context, answer and label_hallucinated (question optional)."""
    return load_labelled(path, ("context", "answer", "label_hallucinated"))


def get_passages(row: dict[str, Any]) -> list[str]:
    """A row's context as a list of passages (a string is one passage)."""
    context = row["context"]
    return [context] if isinstance(context, str) else [str(c) for c in context]


def get_auc(labels: np.ndarray, scores: np.ndarray) -> float | None:
    """Area under the ROC curve of `scores` for positive `labels` (ties count half)."""
    positives, negatives = scores[labels == 1], scores[labels == 0]
    if not len(positives) or not len(negatives):
        return None
    wins = (positives[:, None] > negatives[None, :]).sum()
    ties = (positives[:, None] == negatives[None, :]).sum()
    return float((wins + 0.5 * ties) / (len(positives) * len(negatives)))


def binary_metrics(
    labels: Sequence[int] | np.ndarray, flagged: Sequence[bool] | np.ndarray
) -> dict[str, Any]:
    """Counts and rates for hallucination detection (positive = hallucinated)."""
    y = np.asarray(labels, dtype=int)
    p = np.asarray(flagged, dtype=bool)
    tp, fn = int((p & (y == 1)).sum()), int((~p & (y == 1)).sum())
    tn, fp = int((~p & (y == 0)).sum()), int((p & (y == 0)).sum())
    tpr = tp / (tp + fn) if tp + fn else 0.0
    tnr = tn / (tn + fp) if tn + fp else 0.0
    return {
        "rows": len(y),
        "hallucinated": tp + fn,
        "faithful": tn + fp,
        "tp": tp,
        "fp": fp,
        "tn": tn,
        "fn": fn,
        "tpr": round(tpr, 4),
        "tnr": round(tnr, 4),
        "accuracy": round((tp + tn) / len(y), 4) if len(y) else 0.0,
        "balanced_accuracy": round((tpr + tnr) / 2, 4),
    }


def evaluate_grounding(guard: GroundingGuard, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Balanced accuracy, accuracy, TPR/TNR and counts of the CPU guard over labelled rows."""
    labels, scores, domains = [], [], []
    for row in rows:
        result = guard.assess(str(row["answer"]), get_passages(row), str(row.get("question", "")))
        labels.append(int(row["label_hallucinated"]))
        scores.append(result.score)
        domains.append(str(row.get("domain", "")))
    y, s = np.asarray(labels), np.asarray(scores)
    flagged = s < guard.threshold
    report = binary_metrics(labels, flagged)
    auc = get_auc(y, 1 - s)
    report |= {"threshold": guard.threshold, "auc": None if auc is None else round(auc, 4)}
    by_domain: dict[str, list[int]] = defaultdict(list)
    for i, domain in enumerate(domains):
        if domain:
            by_domain[domain].append(i)
    if by_domain:
        report["domains"] = {
            d: binary_metrics(y[idx].tolist(), flagged[idx].tolist())["balanced_accuracy"]
            for d, idx in sorted(by_domain.items())
        }
    return report
