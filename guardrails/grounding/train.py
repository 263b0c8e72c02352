"""Fit the claim-support model on labelled rows, with grouped cross-validation."""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from guardrails.grounding.evaluate import binary_metrics, get_auc, get_passages, load_rows
from guardrails.grounding.features import FEATURE_NAMES
from guardrails.grounding.model import (
    HARD_FAIL_SUPPORT,
    MODEL_FILE,
    ClaimSupportModel,
    expand,
)
from guardrails.grounding.scorer import featurize
from guardrails.grounding.synthetic import extractive_rows, get_group, mismatched_rows
from models.embedder import Embedder


@dataclass(frozen=True)
class Sample:
    """One labelled answer: its claims' features and which claims fail a hard check."""

    dataset: str
    group: str
    label: int
    features: np.ndarray
    hard: np.ndarray
    origins: tuple[str, ...] = ()


# Which way each feature may push the odds of a hallucination (+1 up, -1 down, 0 either):
# more evidence never lowers a claim's support, whatever quirks the training sets have.
FEATURE_SIGNS = {
    "coverage": -1,
    "novel": 1,
    "best_coverage": -1,
    "bigram_coverage": -1,
    "similarity": -1,
    "window_similarity": -1,
    "missing_hard": 1,
    "missing_entities": 1,
    "negation_flips": 1,
    "antonyms": 1,
    "class_swaps": 1,
    "novel_run": 1,
    "window_novel": 1,
    "length": 0,
    "factoid": 0,
}


def fit_logistic(
    inputs: np.ndarray,
    labels: np.ndarray,
    weights: np.ndarray,
    *,
    c: float,
    signs: np.ndarray,
    steps: int = 3000,
) -> tuple[np.ndarray, float]:
    """Weighted L2 logistic regression whose weights keep the given signs (projected Adam)."""
    coef, intercept = np.zeros(inputs.shape[1]), 0.0
    moment, velocity = np.zeros(inputs.shape[1] + 1), np.zeros(inputs.shape[1] + 1)
    total = weights.sum()
    for step in range(1, steps + 1):
        error = weights * (1.0 / (1.0 + np.exp(-(inputs @ coef + intercept))) - labels)
        gradient = np.append(error @ inputs / total + coef / (c * total), error.sum() / total)
        moment = 0.9 * moment + 0.1 * gradient
        velocity = 0.999 * velocity + 0.001 * gradient**2
        update = 0.05 * (moment / (1 - 0.9**step)) / (np.sqrt(velocity / (1 - 0.999**step)) + 1e-8)
        coef -= update[:-1]
        intercept -= float(update[-1])
        coef = np.where(signs > 0, np.maximum(coef, 0), coef)
        coef = np.where(signs < 0, np.minimum(coef, 0), coef)
    return coef, intercept


def collect_samples(rows: list[dict[str, Any]], dataset: str, embedder: Embedder) -> list[Sample]:
    """Features of every row's claims (rows without claims are kept with none)."""
    samples = []
    for number, row in enumerate(rows):
        _, _, features = featurize(
            str(row["answer"]), get_passages(row), str(row.get("question", "")), embedder
        )
        values = np.array([f.values for f in features]).reshape(len(features), len(FEATURE_NAMES))
        hard = np.array([f.hard_failure for f in features], dtype=bool)
        label = int(row["label_hallucinated"])
        origins = tuple(row.get("origins", ()))
        samples.append(Sample(dataset, get_group(row, number), label, values, hard, origins))
    return samples


def answer_scores(model: ClaimSupportModel, samples: Sequence[Sample]) -> np.ndarray:
    """Each answer's score: the support of its weakest claim (1.0 without claims)."""
    scores = []
    for sample in samples:
        if not len(sample.features):
            scores.append(1.0)
            continue
        support = model.support(sample.features)
        support = np.where(sample.hard, np.minimum(support, HARD_FAIL_SUPPORT), support)
        scores.append(float(support.min()))
    return np.asarray(scores)


def tune_threshold(samples: Sequence[Sample], scores: np.ndarray) -> float:
    """The cut-off maximising the mean balanced accuracy over the datasets present."""
    labels = np.array([s.label for s in samples])
    datasets = np.array([s.dataset for s in samples])
    candidates = np.unique(np.quantile(scores, np.linspace(0.01, 0.99, 197)))

    def quality(threshold: float) -> float:
        """Mean balanced accuracy at this cut-off."""
        flagged = scores < threshold
        return float(
            np.mean(
                [
                    binary_metrics(labels[datasets == d], flagged[datasets == d])[
                        "balanced_accuracy"
                    ]
                    for d in np.unique(datasets)
                ]
            )
        )

    return float(max(candidates, key=quality))


# Weight of a synthetic (mismatched or extracted) set's class against a real dataset's; chosen
# by cross-validation (1.0 cost SummEdits 0.02, 0.25 let short quoted clauses fail).
SYNTHETIC_WEIGHT = 0.5


def _training_rows(samples: Sequence[Sample]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Claim rows, their answers' labels and weights (each dataset and class weigh the same)."""
    totals: dict[tuple[str, int], int] = {}
    for s in samples:
        if len(s.features):
            totals[(s.dataset, s.label)] = totals.get((s.dataset, s.label), 0) + 1
    rows, labels, weights = [], [], []
    for s in samples:
        if not len(s.features):
            continue
        rows.append(s.features)
        labels.extend([s.label] * len(s.features))
        share = SYNTHETIC_WEIGHT if s.origins else 1.0
        weights.extend([share / (len(s.features) * totals[(s.dataset, s.label)])] * len(s.features))
    weight = np.asarray(weights)
    return np.vstack(rows), np.asarray(labels), weight * len(weight) / weight.sum()


def fit_model(
    samples: Sequence[Sample], c: float = 1.0, extra: Sequence[Sample] = ()
) -> ClaimSupportModel:
    """Sign-constrained logistic regression on claims, its cut-off moved to 0.5."""
    # `extra` samples (synthetic rows) only train; the cut-off is tuned on `samples`.
    features, labels, weights = _training_rows([*samples, *extra])
    inputs = expand(features)
    mean, scale = inputs.mean(axis=0), inputs.std(axis=0)
    scale[scale == 0] = 1.0
    signs = np.array([FEATURE_SIGNS[n] for n in FEATURE_NAMES] * 2)
    coef, intercept = fit_logistic((inputs - mean) / scale, labels, weights, c=c, signs=signs)
    model = ClaimSupportModel(mean, scale, coef, intercept, 0.5, {})
    threshold = min(max(tune_threshold(samples, answer_scores(model, samples)), 1e-4), 1 - 1e-4)
    shift = math.log(threshold / (1 - threshold))
    return ClaimSupportModel(
        mean, scale, coef, intercept + shift, 0.5, {"raw_threshold": round(threshold, 4)}
    )


def cross_validate(
    samples: Sequence[Sample], folds: int = 5, c: float = 1.0, extra: Sequence[Sample] = ()
) -> dict[str, Any]:
    """Grouped k-fold metrics per dataset (no document is in both a train and a test fold)."""
    # A synthetic row trains a fold only when every document it was made from is in that fold.
    from sklearn.model_selection import GroupKFold

    groups = [f"{s.dataset}/{s.group}" for s in samples]
    scores = np.zeros(len(samples))
    for train, test in GroupKFold(folds).split(np.zeros(len(samples)), groups=groups):
        seen = {groups[i] for i in train}
        fold_extra = [e for e in extra if all(o in seen for o in e.origins)]
        model = fit_model([samples[i] for i in train], c, fold_extra)
        scores[test] = answer_scores(model, [samples[i] for i in test])
    report = {}
    for dataset in sorted({s.dataset for s in samples}):
        idx = [i for i, s in enumerate(samples) if s.dataset == dataset]
        labels = np.array([samples[i].label for i in idx])
        report[dataset] = binary_metrics(labels, scores[idx] < 0.5) | {
            "auc": round(get_auc(labels, 1 - scores[idx]) or 0.0, 4),
        }
    return report


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m guardrails.grounding.train FILE...`: cross-validate, fit on all, write JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("files", nargs="+", type=Path, help="labelled JSON Lines files")
    parser.add_argument("--out", type=Path, default=MODEL_FILE, help="model file to write")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--c", type=float, default=1.0, help="inverse L2 regularisation")
    args = parser.parse_args(argv)
    from airlock.config import load_settings
    from models.embedder import load_embedder
    from models.embedding_cache import CachingEmbedder

    embedder = CachingEmbedder(load_embedder(load_settings()), max_entries=200_000)
    samples: list[Sample] = []
    extra: list[Sample] = []
    for path in args.files:
        rows = load_rows(path)
        samples += collect_samples(rows, path.stem, embedder)
        for name, make in (("mismatched", mismatched_rows), ("extracted", extractive_rows)):
            extra += collect_samples(make(rows, path.stem), name, embedder)
    report = cross_validate(samples, args.folds, args.c, extra)
    model = fit_model(samples, args.c, extra)
    info = model.info | {"trained_on": [p.name for p in args.files], "cross_validated": report}
    final = ClaimSupportModel(model.mean, model.scale, model.coef, model.intercept, 0.5, info)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(final.to_json(), indent=1) + "\n", encoding="utf-8")
    json.dump(report, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
