"""Evaluate the PII guard on labelled rows: per-type recall, precision and typed F2.

    python -m guardrails.pii ../shared/data/pii/presidio_synth_dev.jsonl [--config F]
    python -m guardrails.pii FILE --speed [--workers 2]   # also latency and throughput

Rows are JSON lines with `text` and `spans` [{type, start, end}] (end exclusive). A gold span is
found when a predicted entity of its type covers at least half of it. A prediction of one of the
eight target types is correct when it overlaps a gold span of its type by at least half of either;
otherwise it is a false positive (other predicted types are not scored).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from airlock.config import load_settings
from airlock.offline import enforce_offline
from guardrails.batch import load_labelled
from guardrails.pii.guard import PiiGuard, build_pii_guard
from guardrails.pii.speed import measure_latency, measure_throughput, sample_texts
from guardrails.types import Entity

TARGET_TYPES = (
    "EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "IBAN_CODE", "US_SSN", "IP_ADDRESS",
    "PERSON", "STREET_ADDRESS",
)  # fmt: skip


def _overlap(a_start: int, a_end: int, b_start: int, b_end: int) -> int:
    return max(0, min(a_end, b_end) - max(a_start, b_start))


def _score_row(
    gold: list[dict[str, Any]], predicted: Sequence[Entity], tally: dict[str, dict[str, int]]
) -> None:
    for span in gold:
        counts = tally[span["type"]]
        counts["gold"] += 1
        need = (span["end"] - span["start"]) / 2
        if any(
            e.type == span["type"] and _overlap(e.start, e.end, span["start"], span["end"]) >= need
            for e in predicted
        ):
            counts["found"] += 1
    for e in predicted:
        counts = tally[e.type]
        counts["predicted"] += 1
        if any(
            g["type"] == e.type
            and _overlap(e.start, e.end, g["start"], g["end"])
            >= min(e.end - e.start, g["end"] - g["start"]) / 2
            for g in gold
        ):
            counts["correct"] += 1


def _ratio(num: int, den: int) -> float:
    return num / den if den else 1.0


def evaluate_pii(guard: PiiGuard, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Per-type recall and precision and micro-averaged typed F2 over the eight target types."""
    tally = {t: {"gold": 0, "found": 0, "predicted": 0, "correct": 0} for t in TARGET_TYPES}
    for row in rows:
        gold = [s for s in row.get("spans", []) if s["type"] in tally]
        predicted = [e for e in guard.analyze(row["text"]) if e.type in tally]
        _score_row(gold, predicted, tally)
    totals = {
        k: sum(c[k] for c in tally.values()) for k in ("gold", "found", "predicted", "correct")
    }
    recall = _ratio(totals["found"], totals["gold"])
    precision = _ratio(totals["correct"], totals["predicted"])
    f2 = 5 * precision * recall / (4 * precision + recall) if precision + recall else 0.0
    per_type = {
        t: {
            **c,
            "recall": round(_ratio(c["found"], c["gold"]), 4),
            "precision": round(_ratio(c["correct"], c["predicted"]), 4),
        }
        for t, c in tally.items()
    }
    return {
        "rows": len(rows),
        "types": per_type,
        "recall": round(recall, 4),
        "precision": round(precision, 4),
        "f2": round(f2, 4),
    }


def load_rows(path: Path) -> list[dict[str, Any]]:
    """The labelled rows of `path` (text and spans)."""
    return load_labelled(path, ("text", "spans"))


def main(argv: list[str] | None = None) -> None:
    """Print the evaluation (and with --speed the timings) as JSON."""
    parser = argparse.ArgumentParser(description="Evaluate the PII guard on labelled JSON lines.")
    parser.add_argument("path", type=Path, help="JSON lines with text and spans")
    parser.add_argument("--config", type=Path, default=None, help="Airlock YAML settings")
    parser.add_argument("--speed", action="store_true", help="also time 1,000/500-char texts")
    parser.add_argument("--workers", type=int, default=2, help="processes for --speed throughput")
    args = parser.parse_args(argv)
    enforce_offline()
    guard = build_pii_guard(load_settings(args.config))
    rows = load_rows(args.path)
    report = evaluate_pii(guard, rows)
    if args.speed:
        long, short = sample_texts(rows, 1000), sample_texts(rows, 500)
        report["latency"] = [measure_latency(guard, long), measure_latency(guard, short)]
        report["throughput"] = measure_throughput(args.config, short * 4, args.workers)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
