"""`python -m helpdesk.signals.evaluate`: sentiment accuracy on a labelled JSON Lines file."""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from airlock.jsonl import JsonlError, read_objects
from helpdesk.errors import SentimentDataError
from helpdesk.signals.sentiment import SentimentScorer

LABELS = ("negative", "neutral", "positive")
SPLITS = ("all", "tune", "report")
_ROW_HELP = (
    'each line must be {"text": "...", "language": "en", "label": "negative|neutral|positive"} '
    'with an optional "angry": true on clearly angry tickets'
)


@dataclass(frozen=True)
class SentimentRow:
    """One labelled ticket; `angry` marks those the escalation rule must catch."""

    text: str
    language: str
    label: str
    angry: bool
    line: int


def read_sentiment_rows(path: Path, split: str = "all") -> list[SentimentRow]:
    """Rows of the file; `tune` keeps odd line numbers, `report` even ones (a fixed split)."""
    try:
        objects = read_objects(path)
    except JsonlError as exc:
        raise SentimentDataError(str(exc), remedy=_ROW_HELP) from None
    rows = [_row(path, number, obj) for number, obj in objects]
    if split == "all":
        return rows
    return [row for row in rows if row.line % 2 == (1 if split == "tune" else 0)]


def _row(path: Path, number: int, obj: dict[str, Any]) -> SentimentRow:
    text, language, label = obj.get("text"), obj.get("language", ""), obj.get("label")
    angry = obj.get("angry", False)
    if not isinstance(text, str) or not isinstance(language, str) or label not in LABELS:
        raise SentimentDataError(f"{path}:{number}: bad text, language or label", remedy=_ROW_HELP)
    if not isinstance(angry, bool) or (angry and label != "negative"):
        raise SentimentDataError(f"{path}:{number}: 'angry' must be a boolean on a negative row")
    return SentimentRow(text, language, label, angry, number)


def label_of(score: float, negative_below: float, positive_above: float) -> str:
    """The label a score falls under with the given thresholds."""
    if score < negative_below:
        return "negative"
    return "positive" if score > positive_above else "neutral"


def evaluate_sentiment(
    rows: Sequence[SentimentRow],
    scorer: SentimentScorer,
    *,
    negative_below: float = -0.3,
    positive_above: float = 0.3,
    angry_below: float = -0.6,
) -> dict[str, Any]:
    """Accuracy overall and per language, and the share of angry rows under `angry_below`."""
    hits: dict[str, list[bool]] = defaultdict(list)
    angry: list[bool] = []
    for row in rows:
        score = scorer.score(row.text, row.language or None)
        correct = label_of(score, negative_below, positive_above) == row.label
        hits["all"].append(correct)
        hits[row.language or "?"].append(correct)
        if row.angry:
            angry.append(score < angry_below)
    return {
        "rows": len(rows),
        "accuracy": {key: _share(values) for key, values in sorted(hits.items())},
        "rows_per_language": {key: len(values) for key, values in sorted(hits.items())},
        "angry_rows": len(angry),
        "angry_below_threshold": _share(angry),
        "thresholds": {
            "negative_below": negative_below,
            "positive_above": positive_above,
            "angry_below": angry_below,
        },
    }


def _share(values: Sequence[bool]) -> float:
    return round(sum(values) / len(values), 4) if values else 0.0


def main(argv: list[str] | None = None) -> None:
    """Command line: print the measurement as JSON."""
    parser = argparse.ArgumentParser(prog="python -m helpdesk.signals.evaluate")
    parser.add_argument("--data", type=Path, required=True, help="labelled JSONL (see README)")
    parser.add_argument("--split", choices=SPLITS, default="all", help="rows to score")
    parser.add_argument("--negative-below", type=float, default=-0.3)
    parser.add_argument("--positive-above", type=float, default=0.3)
    parser.add_argument("--angry-below", type=float, default=-0.6)
    args = parser.parse_args(argv)
    try:
        rows = read_sentiment_rows(args.data, args.split)
    except SentimentDataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)
    report = evaluate_sentiment(
        rows,
        SentimentScorer(),
        negative_below=args.negative_below,
        positive_above=args.positive_above,
        angry_below=args.angry_below,
    )
    print(json.dumps({"data": str(args.data), "split": args.split, **report}, indent=2))


if __name__ == "__main__":
    main()
