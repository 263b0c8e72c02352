"""Injection guard metrics: recall, false-positive rate, NotInject accuracy, counts."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from guardrails.injection.dataset import check_rows, is_notinject

if TYPE_CHECKING:
    from guardrails.injection.guard import InjectionGuard


def _rate(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def injection_metrics(
    rows: Sequence[dict[str, Any]], flagged: Sequence[bool], threshold: float
) -> dict[str, Any]:
    """Recall on injections, false-positive rate on benign rows, NotInject accuracy, counts."""
    tp = sum(1 for row, hit in zip(rows, flagged, strict=True) if row["label"] == 1 and hit)
    fp = sum(1 for row, hit in zip(rows, flagged, strict=True) if row["label"] == 0 and hit)
    positives = sum(1 for row in rows if row["label"] == 1)
    negatives = len(rows) - positives
    notinject = [hit for row, hit in zip(rows, flagged, strict=True) if is_notinject(row)]
    by_source: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for row, hit in zip(rows, flagged, strict=True):
        counts = by_source[str(row.get("source") or "unknown")]
        counts[0] += 1
        counts[1] += row["label"]
        counts[2] += int(hit)
    return {
        "threshold": threshold,
        "rows": len(rows),
        "injections": positives,
        "benign": negatives,
        "true_positives": tp,
        "false_negatives": positives - tp,
        "false_positives": fp,
        "true_negatives": negatives - fp,
        "recall": _rate(tp, positives),
        "false_positive_rate": _rate(fp, negatives),
        "precision": _rate(tp, tp + fp),
        "accuracy": _rate(tp + negatives - fp, len(rows)),
        "notinject": {
            "rows": len(notinject),
            "accuracy": _rate(sum(not hit for hit in notinject), len(notinject)),
        },
        "by_source": {
            source: {"rows": n, "injections": pos, "flagged": hits}
            for source, (n, pos, hits) in sorted(by_source.items())
        },
    }


def evaluate_injection(guard: InjectionGuard, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Score every row with the guard and report metrics at its configured threshold."""
    checked = check_rows(rows)
    scores = guard.score_many([row["text"] for row in checked])
    flagged = [score >= guard.threshold for score in scores]
    return injection_metrics(checked, flagged, guard.threshold)
