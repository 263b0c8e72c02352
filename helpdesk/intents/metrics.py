"""Evaluation of intent predictions: accuracy, in-scope accuracy, OOS recall/precision, F1."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sklearn.metrics import f1_score

from helpdesk.intents.data import OOS_LABEL, check_rows

if TYPE_CHECKING:
    from helpdesk.intents.model import IntentModel


def evaluate_intents(model: IntentModel, rows: Sequence[dict[str, str]]) -> dict[str, Any]:
    """Metrics of the model's predictions on labelled rows (a JSON-serialisable dict)."""
    check_rows(rows, "evaluation")
    predictions = model.predict([row["text"] for row in rows])
    gold = [row["label"].strip() for row in rows]
    return score_predictions(gold, [p.label for p in predictions])


def score_predictions(gold: Sequence[str], predicted: Sequence[str]) -> dict[str, Any]:
    """Metrics of predicted against gold labels."""
    pairs = list(zip(gold, predicted, strict=True))
    in_scope = [(g, p) for g, p in pairs if g != OOS_LABEL]
    result: dict[str, Any] = {
        "rows": len(pairs),
        "accuracy": _share(sum(g == p for g, p in pairs), len(pairs)),
        "in_scope_accuracy": _share(sum(g == p for g, p in in_scope), len(in_scope)),
        "macro_f1": round(float(f1_score(gold, predicted, average="macro", zero_division=0)), 4)
        if pairs
        else None,
    }
    if len(in_scope) < len(pairs):
        hits = sum(g == p == OOS_LABEL for g, p in pairs)
        flagged = sum(p == OOS_LABEL for _, p in pairs)
        result["oos_recall"] = _share(hits, len(pairs) - len(in_scope))
        result["oos_precision"] = _share(hits, flagged)
    result["in_scope_rejected"] = sum(p == OOS_LABEL for _, p in in_scope)
    result["per_label"] = _per_label(pairs)
    return result


def _share(count: int, total: int) -> float | None:
    return round(count / total, 4) if total else None


def _per_label(pairs: Sequence[tuple[str, str]]) -> dict[str, dict[str, int]]:
    """Gold, predicted and correct counts for every label seen."""
    gold, predicted = Counter(g for g, _ in pairs), Counter(p for _, p in pairs)
    correct = Counter(g for g, p in pairs if g == p)
    return {
        label: {"gold": gold[label], "predicted": predicted[label], "correct": correct[label]}
        for label in sorted(set(gold) | set(predicted))
    }
