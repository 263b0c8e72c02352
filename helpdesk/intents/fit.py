"""Training an intent model: one embedding pass, a logistic head, a calibrated OOS cut."""

from __future__ import annotations

import logging
import warnings
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

from helpdesk.intents.calibrate import DEFAULT_REJECTION, choose_threshold
from helpdesk.intents.data import check_rows, check_trainable, clip_text, describe_rows
from helpdesk.intents.features import (
    CHAR_MIN_DF,
    CHAR_NGRAMS,
    EMBEDDING_WEIGHT,
    WORD_NGRAMS,
    LexicalFeaturizer,
    combine,
)
from helpdesk.intents.metrics import score_predictions
from helpdesk.intents.model import IntentModel, decide
from models.embedder import Embedder

log = logging.getLogger(__name__)

# Inverse L2 strength of the head; 10 was best of {1, 3, 10, 30} on a Banking77 80/20 split.
HEAD_C = 10.0
MAX_ITER = 500
CALIBRATION_FOLDS = 3


def train_intent_model(
    train_rows: Sequence[dict[str, str]],
    val_rows: Sequence[dict[str, str]] | None,
    embedder: Embedder,
    *,
    seed: int = 0,
) -> IntentModel:
    """Fit the head on `train_rows`; calibrate OOS on `val_rows`, or by cross-validation."""
    check_rows(train_rows, "training")
    rows = [r for r in train_rows if clip_text(r["text"])]
    check_trainable(rows)
    texts = [clip_text(r["text"]) for r in rows]
    gold = [r["label"].strip() for r in rows]
    vectors = _embed_distinct(embedder, texts)
    model = fit_head(texts, gold, vectors, embedder, threshold=0.0)
    if val_rows:
        check_rows(val_rows, "validation")
        val_rows = [r for r in val_rows if clip_text(r["text"])]
        cal_gold = [r["label"].strip() for r in val_rows]
        probs = model.probabilities([clip_text(r["text"]) for r in val_rows])
        source = "validation"
    else:
        cal_gold, source = gold, f"{CALIBRATION_FOLDS}-fold cross-validation"
        probs = out_of_fold(texts, gold, vectors, embedder, model.labels, seed=seed)
    threshold = choose_threshold(probs, model.labels, cal_gold)
    predicted = [decide(p, model.labels, threshold).label for p in probs]
    info = _info(rows, val_rows, seed, source, score_predictions(cal_gold, predicted))
    log.info("intent model trained", extra={"labels": len(model.labels), "rows": len(rows)})
    return replace(model, oos_threshold=threshold, info=info)


def fit_head(
    texts: Sequence[str],
    gold: Sequence[str],
    vectors: np.ndarray,
    embedder: Embedder,
    *,
    threshold: float,
) -> IntentModel:
    """A model whose featurizer and logistic head are fitted on these texts."""
    featurizer = LexicalFeaturizer.fit(texts)
    features = combine(featurizer.transform(texts), vectors)
    head = LogisticRegression(C=HEAD_C, max_iter=MAX_ITER)
    with warnings.catch_warnings():
        # The optimum is flat near convergence; accuracy does not move past 300 iterations.
        warnings.simplefilter("ignore", ConvergenceWarning)
        head.fit(features, np.array(gold))
    labels = tuple(str(label) for label in head.classes_)
    coef, intercept = head.coef_.T, head.intercept_
    if len(labels) == 2:
        # scikit-learn keeps one weight vector for two classes; make it a 2-way softmax.
        coef, intercept = np.hstack([-coef / 2, coef / 2]), np.array([-1, 1]) * intercept / 2
    return IntentModel(
        labels=labels,
        featurizer=featurizer,
        coef=np.ascontiguousarray(coef, dtype=np.float32),
        intercept=np.asarray(intercept, dtype=np.float32),
        oos_threshold=threshold,
        embedder=embedder,
    )


def out_of_fold(
    texts: Sequence[str],
    gold: Sequence[str],
    vectors: np.ndarray,
    embedder: Embedder,
    labels: Sequence[str],
    *,
    seed: int,
) -> np.ndarray:
    """Probabilities over `labels` for each text from a head that did not see it."""
    probs = np.zeros((len(texts), len(labels)))
    folds = max(2, min(CALIBRATION_FOLDS, *Counter(gold).values()))
    split = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # labels rarer than the fold count
        parts = list(split.split(np.zeros(len(gold)), gold))
    for fit_idx, held_idx in parts:
        part = fit_head(
            [texts[i] for i in fit_idx],
            [gold[i] for i in fit_idx],
            vectors[fit_idx],
            embedder,
            threshold=0.0,
        )
        columns = [labels.index(label) for label in part.labels]
        probs[np.ix_(held_idx, columns)] = part.probabilities_from(
            [texts[i] for i in held_idx], vectors[held_idx]
        )
    return probs


def _embed_distinct(embedder: Embedder, texts: Sequence[str]) -> np.ndarray:
    """Vectors for `texts`, embedding each distinct text once, in first-seen order."""
    distinct = list(dict.fromkeys(texts))
    vectors = embedder.embed(distinct)
    index = {text: i for i, text in enumerate(distinct)}
    return np.asarray(vectors[[index[text] for text in texts]], dtype=np.float32)


def _info(
    rows: Sequence[dict[str, str]],
    val_rows: Sequence[dict[str, str]] | None,
    seed: int,
    source: str,
    metrics: dict[str, Any],
) -> dict[str, Any]:
    """The training record kept in the manifest."""
    return {
        "training_data": describe_rows(rows),
        "validation_data": describe_rows(val_rows) if val_rows else None,
        "seed": seed,
        "hyperparameters": {
            "head": "multinomial logistic regression (lbfgs)",
            "C": HEAD_C,
            "max_iter": MAX_ITER,
            "word_ngrams": list(WORD_NGRAMS),
            "char_wb_ngrams": list(CHAR_NGRAMS),
            "char_min_df": CHAR_MIN_DF,
            "embedding_weight": EMBEDDING_WEIGHT,
            "calibration_folds": CALIBRATION_FOLDS,
            "rejection_without_oos": DEFAULT_REJECTION,
        },
        "calibration": {"source": source, "metrics": metrics},
    }
