"""`python -m helpdesk.intents.crossval`: held-out estimates of accuracy and OOS detection.

Without --val: train on a stratified 80 % of --data (OOS cut by cross-validation) and score
the other 20 %. With --val: train on --data, then cross-fit the OOS cut on two halves of
--val (choose the cut on one half, score the other, and the reverse).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.model_selection import StratifiedKFold, train_test_split

from helpdesk.intents.calibrate import choose_threshold
from helpdesk.intents.data import clip_text, read_labelled
from helpdesk.intents.fit import train_intent_model
from helpdesk.intents.metrics import evaluate_intents, score_predictions
from helpdesk.intents.model import IntentModel, decide
from models.embedder import Embedder
from models.embedding_cache import CachingEmbedder

_SUMMARY = ("rows", "accuracy", "in_scope_accuracy", "oos_recall", "oos_precision", "macro_f1")


def _summary(metrics: dict[str, Any]) -> dict[str, Any]:
    return {key: metrics[key] for key in _SUMMARY if key in metrics}


def holdout_estimate(
    rows: Sequence[dict[str, str]], embedder: Embedder, *, test_size: float, seed: int
) -> dict[str, Any]:
    """Metrics on a stratified held-out share of `rows` after training on the rest."""
    labels = [row["label"].strip() for row in rows]
    fit_rows, held_rows = train_test_split(
        list(rows), test_size=test_size, stratify=labels, random_state=seed
    )
    started = time.monotonic()
    model = train_intent_model(fit_rows, None, embedder, seed=seed)
    seconds = round(time.monotonic() - started, 1)
    return {
        "method": f"stratified {1 - test_size:.0%}/{test_size:.0%} split, seed {seed}",
        "train_rows": len(fit_rows),
        "train_seconds": seconds,
        "oos_threshold": model.oos_threshold,
        "held_out": _summary(evaluate_intents(model, held_rows)),
        "held_out_without_oos_cut": _argmax_summary(model, held_rows),
    }


def _argmax_summary(model: IntentModel, rows: Sequence[dict[str, str]]) -> dict[str, Any]:
    rows = [r for r in rows if clip_text(r["text"])]
    probs = model.probabilities([clip_text(r["text"]) for r in rows])
    predicted = [decide(p, model.labels, 0.0).label for p in probs]
    return _summary(score_predictions([r["label"].strip() for r in rows], predicted))


def crossfit_estimate(
    rows: Sequence[dict[str, str]],
    val_rows: Sequence[dict[str, str]],
    embedder: Embedder,
    *,
    seed: int,
) -> dict[str, Any]:
    """Metrics on each half of `val_rows` with the OOS cut chosen on the other half."""
    started = time.monotonic()
    model = train_intent_model(rows, val_rows, embedder, seed=seed)
    seconds = round(time.monotonic() - started, 1)
    val_rows = [r for r in val_rows if clip_text(r["text"])]
    gold = np.array([r["label"].strip() for r in val_rows], dtype=object)
    probs = model.probabilities([clip_text(r["text"]) for r in val_rows])
    halves = []
    split = StratifiedKFold(n_splits=2, shuffle=True, random_state=seed)
    for choose, score in split.split(probs, gold):
        cut = choose_threshold(probs[choose], model.labels, list(gold[choose]))
        predicted = [decide(p, model.labels, cut).label for p in probs[score]]
        halves.append({"oos_threshold": cut, **_summary(score_predictions(gold[score], predicted))})
    mean = {
        key: round(float(np.mean([h[key] for h in halves])), 4)
        for key in ("accuracy", "in_scope_accuracy", "oos_recall", "oos_precision")
        if all(h.get(key) is not None for h in halves)
    }
    return {
        "method": f"OOS cut cross-fitted on 2 stratified halves of --val, seed {seed}",
        "train_rows": len(rows),
        "train_seconds": seconds,
        "halves": halves,
        "mean": mean,
    }


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m helpdesk.intents.crossval")
    parser.add_argument("--data", type=Path, required=True, help="training JSONL {text, label}")
    parser.add_argument("--val", type=Path, default=None, help="validation JSONL (cross-fit)")
    parser.add_argument("--test-size", type=float, default=0.2, help="held-out share (no --val)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--config", type=Path, default=None, help="Airlock YAML settings")
    return parser


def main(argv: list[str] | None = None) -> None:
    """Command line: print the estimate as JSON."""
    from airlock.config import load_settings
    from airlock.errors import AirlockError
    from airlock.offline import enforce_offline
    from models.embedder import load_embedder

    args = _parser().parse_args(argv)
    enforce_offline()
    try:
        embedder = CachingEmbedder(
            load_embedder(load_settings(args.config)), max_entries=None, by_length=False
        )
        rows = read_labelled(args.data)
        if args.val:
            result = crossfit_estimate(rows, read_labelled(args.val), embedder, seed=args.seed)
        else:
            result = holdout_estimate(rows, embedder, test_size=args.test_size, seed=args.seed)
    except AirlockError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
