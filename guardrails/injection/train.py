"""Train the injection model: grouped cross-validation, tuning, then a fit on all rows.

Reproduce the shipped model (same machine and library versions give the same SHA-256);
D=../shared/data:
    python -m guardrails.injection.train --data $D/prompt_injection/dev.jsonl \
        --train-only guardrails/injection/data/authored.jsonl \
        --benign $D/intents/banking77_train.jsonl $D/intents/clinc150_train.jsonl \
            $D/retrieval/covid_faq_corpus.jsonl:answer $D/grounding/summedits_dev.jsonl:context \
        --benign-limit 3000 --benign-weight 0.3 --folds 5 --out guardrails/injection/model
"""

from __future__ import annotations

import argparse
import logging
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression

from guardrails.injection import crossval
from guardrails.injection.classifier import InjectionClassifier
from guardrails.injection.dataset import load_benign, load_rows, parse_benign_spec
from guardrails.injection.features import (
    CHAR_NGRAMS,
    WINDOW_CHARS,
    WORD_NGRAMS,
    LexicalFeaturizer,
    split_windows,
)
from guardrails.injection.metrics import injection_metrics
from guardrails.injection.model import InjectionModel, save_model
from guardrails.injection.rules import scan_rules
from models.embedder import Embedder
from models.embedding_cache import CachingEmbedder
from models.store import hash_file

log = logging.getLogger(__name__)

LEXICAL_C = 30.0
EMBEDDING_C = 0.3
EMBEDDING_WEIGHT = 0.35
UNTUNED_THRESHOLD = 0.5
UNTUNED_CASCADE_PROBABILITY = 0.05
SEED = 0


def _logistic(c: float) -> LogisticRegression:
    return LogisticRegression(C=c, class_weight="balanced", max_iter=10_000)


def fit_model(
    rows: list[dict[str, Any]], embedder: Embedder, *, raw_threshold: float, cascade_logit: float
) -> InjectionModel:
    """Fit both heads on whole texts (the embedder reads each text's first 256 word pieces).

    A row's optional `weight` scales its loss (public benign corpora count less than the
    labelled injection data).
    """
    texts = [row["text"] for row in rows]
    labels = np.array([row["label"] for row in rows])
    weights = np.array([float(row.get("weight", 1.0)) for row in rows])
    featurizer = LexicalFeaturizer.fit(texts)
    features = featurizer.transform(texts, [scan_rules(text) for text in texts])
    lexical = _logistic(LEXICAL_C).fit(features, labels, sample_weight=weights)
    embedding = _logistic(EMBEDDING_C).fit(embedder.embed(texts), labels, sample_weight=weights)
    return InjectionModel(
        featurizer=featurizer,
        lexical_coef=lexical.coef_[0].astype(np.float32).astype(np.float64),
        lexical_intercept=float(lexical.intercept_[0]),
        embedding_coef=embedding.coef_[0].astype(np.float32).astype(np.float64),
        embedding_intercept=float(embedding.intercept_[0]),
        embedding_weight=EMBEDDING_WEIGHT,
        raw_threshold=raw_threshold,
        cascade_logit=cascade_logit,
        embedder_id=embedder.model_id,
    )


def _describe_file(path: Path, rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "path": str(path),
        "sha256": hash_file(path),
        "rows": len(rows),
        "injections": sum(row["label"] for row in rows),
    }


@dataclass(frozen=True)
class TrainingInputs:
    """What one training run reads; `describe` goes into the manifest."""

    data: tuple[Path, ...]
    train_only: tuple[Path, ...] = ()
    benign: tuple[str, ...] = ()
    benign_limit: int = 1500
    benign_weight: float = 0.3
    folds: int = 5

    def load(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Rows scored in cross-validation, and rows that only ever train."""
        extra = load_rows(self.train_only)
        for spec in self.benign:
            extra += load_benign(
                spec, limit=self.benign_limit, seed=SEED, weight=self.benign_weight,
                window=split_windows,
            )  # fmt: skip
        return load_rows(self.data), extra

    def command(self) -> str:
        """The training command that reads these inputs (--out and --config left to the user)."""
        parts = ["python -m guardrails.injection.train", "--data", *map(str, self.data)]
        if self.train_only:
            parts += ["--train-only", *map(str, self.train_only)]
        if self.benign:
            parts += ["--benign", *self.benign, "--benign-limit", str(self.benign_limit)]
            parts += ["--benign-weight", str(self.benign_weight)]
        return " ".join([*parts, "--folds", str(self.folds), "--out", "DIR"])

    def describe(self) -> dict[str, Any]:
        """Files with their SHA-256 and row counts, and how benign corpora were sampled."""
        benign = []
        for spec in self.benign:
            path, field = parse_benign_spec(spec)
            rows = load_benign(
                spec, limit=self.benign_limit, seed=SEED, weight=0, window=split_windows
            )
            benign.append({**_describe_file(path, rows), "field": field})
        return {
            "command": self.command(),
            "training_data": [_describe_file(p, load_rows([p])) for p in self.data],
            "train_only_data": [_describe_file(p, load_rows([p])) for p in self.train_only],
            "benign_corpora": benign,
            "benign_sampling": {"limit_per_file": self.benign_limit, "weight": self.benign_weight},
        }


def _tune(
    rows: list[dict[str, Any]], extra: list[dict[str, Any]], embedder: Embedder, folds: int
) -> tuple[float, float, dict[str, Any]]:
    """Threshold, cascade bound and the cross-validated report (untuned when folds < 2)."""
    cascade = math.log(UNTUNED_CASCADE_PROBABILITY / (1 - UNTUNED_CASCADE_PROBABILITY))
    if folds < 2:
        return UNTUNED_THRESHOLD, cascade, {"folds": 0}

    def fit(part: list[dict[str, Any]]) -> InjectionModel:
        return fit_model(part, embedder, raw_threshold=0.5, cascade_logit=cascade)

    oof = crossval.out_of_fold(rows, extra, fit, embedder, folds=folds, seed=SEED)
    threshold = crossval.tune_threshold(rows, oof)
    cascade = crossval.tune_cascade(oof, threshold)
    options = {"threshold": threshold, "cascade_logit": cascade}
    report = {
        "folds": folds,
        "grouping": "injections by source|category, benign rows alone (StratifiedGroupKFold)",
        "note": "threshold tuned on these out-of-fold scores, so slightly optimistic",
        "metrics": crossval.cross_validated_metrics(rows, oof, embedder, **options),
        "leave_one_source_out": crossval.leave_one_source_out(
            rows, extra, fit, embedder, **options
        ),
    }
    return threshold, cascade, report


def train(inputs: TrainingInputs, out: Path, embedder: Embedder) -> dict[str, Any]:
    """Cross-validate, tune, fit on every row, write the model; return the manifest written."""
    rows, extra = inputs.load()
    cached = CachingEmbedder(embedder, max_entries=None, by_length=False)
    threshold, cascade, report = _tune(rows, extra, cached, inputs.folds)
    model = fit_model(rows + extra, cached, raw_threshold=threshold, cascade_logit=cascade)
    results = InjectionClassifier(model, cached).score_many([row["text"] for row in rows])
    manifest = {
        **inputs.describe(),
        "hyperparameters": {
            "lexical": {"char_ngrams": CHAR_NGRAMS, "word_ngrams": WORD_NGRAMS, "C": LEXICAL_C},
            "embedding": {"C": EMBEDDING_C, "weight": EMBEDDING_WEIGHT},
            "window_chars": WINDOW_CHARS,
            "seed": SEED,
        },
        "operating_point": {
            "raw_threshold": threshold,
            "cascade_logit": cascade if math.isfinite(cascade) else None,
            "score_threshold": 0.5,
            "meaning": "scores are shifted so the tuned raw threshold is 0.5",
        },
        "cross_validation": report,
        "in_sample": injection_metrics(rows, [r.score >= 0.5 for r in results], 0.5),
    }
    save_model(model, out, manifest)
    return manifest


def _parser() -> argparse.ArgumentParser:
    """The command line of `python -m guardrails.injection.train`."""
    parser = argparse.ArgumentParser(prog="python -m guardrails.injection.train")
    parser.add_argument("--data", type=Path, nargs="+", required=True, help="labelled JSONL")
    parser.add_argument(
        "--train-only",
        type=Path,
        nargs="*",
        default=[],
        help="JSONL used for training but never scored in cross-validation (authored rows)",
    )
    parser.add_argument(
        "--benign",
        nargs="*",
        default=[],
        metavar="FILE[:FIELD]",
        help="public benign corpora (tickets, FAQ answers, passages), sampled, train-only",
    )
    parser.add_argument("--benign-limit", type=int, default=1500, help="texts per benign file")
    parser.add_argument("--benign-weight", type=float, default=0.3, help="loss weight of those")
    parser.add_argument("--out", type=Path, required=True, help="model folder to write")
    parser.add_argument("--folds", type=int, default=5, help="cross-validation folds; 0: none")
    parser.add_argument("--config", type=Path, default=None, help="Airlock YAML settings")
    return parser


def main(argv: list[str] | None = None) -> None:
    """Command line: train and write DIR/injection.npz and DIR/manifest.json."""
    from airlock.config import load_settings
    from airlock.errors import AirlockError
    from airlock.offline import enforce_offline
    from models.embedder import load_embedder

    args = _parser().parse_args(argv)
    enforce_offline()
    try:
        embedder = load_embedder(load_settings(args.config))
        inputs = TrainingInputs(
            data=tuple(args.data),
            train_only=tuple(args.train_only),
            benign=tuple(args.benign),
            benign_limit=args.benign_limit,
            benign_weight=args.benign_weight,
            folds=args.folds,
        )
        manifest = train(inputs, args.out, embedder)
    except AirlockError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)
    cv = manifest["cross_validation"].get("metrics")
    print(f"wrote {args.out}; cross-validated: {cv}; in-sample: {manifest['in_sample']}")


if __name__ == "__main__":
    main()
