"""A trained intent model: the head's weights in one .npz plus a manifest pinning its SHA-256."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from helpdesk.intents.data import OOS_LABEL, clip_text
from helpdesk.intents.features import EMBEDDING_WEIGHT, LexicalFeaturizer
from models.embedder import Embedder
from models.store import hash_file
from models.weights import write_npz

DEFAULT_MODEL_DIR = Path(__file__).resolve().parent / "model"
WEIGHTS_FILE = "intents.npz"
MANIFEST_FILE = "manifest.json"
FORMAT = "airlock-intents/1"
# A fixed zip timestamp makes the weights file byte-identical when training is repeated.


@dataclass(frozen=True)
class IntentPrediction:
    """One text's intent (`oos` when out of scope) and a confidence in [0, 1]."""

    label: str
    confidence: float


@dataclass(frozen=True, eq=False)
class IntentModel:
    """A multinomial logistic head over TF-IDF n-grams and a sentence vector, plus OOS cut."""

    labels: tuple[str, ...]
    featurizer: LexicalFeaturizer
    coef: np.ndarray  # (features, labels), float32
    intercept: np.ndarray  # (labels,), float32
    oos_threshold: float
    embedder: Embedder
    info: dict[str, Any] = field(default_factory=dict)

    def probabilities(self, texts: Sequence[str]) -> np.ndarray:
        """Softmax over `labels` for each (already clipped, non-empty) text."""
        if not texts:
            return np.zeros((0, len(self.labels)))
        return self.probabilities_from(texts, self.embedder.embed(texts))

    def probabilities_from(self, texts: Sequence[str], vectors: np.ndarray) -> np.ndarray:
        """Softmax over `labels` for texts whose sentence vectors are already known."""
        lexical = np.zeros((len(texts), len(self.labels)), dtype=np.float32)
        for row, text in enumerate(texts):
            # Gathering the rows of the few n-grams present beats a sparse product per ticket.
            columns, values = self.featurizer.weights(text)
            lexical[row] = values @ self.coef[columns]
        size = self.featurizer.size
        dense = np.asarray(vectors, dtype=np.float32) * np.float32(EMBEDDING_WEIGHT)
        scores = lexical + dense @ self.coef[size:]
        logits = np.asarray(scores, dtype=np.float64) + self.intercept
        logits -= logits.max(axis=1, keepdims=True)
        weights = np.exp(logits)
        return np.asarray(weights / weights.sum(axis=1, keepdims=True))

    def predict(
        self, texts: Sequence[str], vectors: np.ndarray | None = None
    ) -> list[IntentPrediction]:
        """Label and confidence per text; empty texts are `oos` with confidence 0.

        `vectors`: the embeddings of `clip_text(text)` for each text, when the caller has them.
        """
        clipped = [clip_text(text) for text in texts]
        filled = [i for i, text in enumerate(clipped) if text]
        chosen = [clipped[i] for i in filled]
        if vectors is None:
            probs = self.probabilities(chosen)
        else:
            probs = self.probabilities_from(chosen, np.asarray(vectors)[filled])
        results = [IntentPrediction(OOS_LABEL, 0.0)] * len(texts)
        for row, index in enumerate(filled):
            results[index] = decide(probs[row], self.labels, self.oos_threshold)
        return results

    def save(self, folder: Path, *, provenance: dict[str, Any] | None = None) -> Path:
        """Write weights and manifest (with `provenance`, e.g. the command) into `folder`."""
        folder.mkdir(parents=True, exist_ok=True)
        weights = folder / WEIGHTS_FILE
        write_npz(weights, self._arrays())
        manifest = {
            "format": FORMAT,
            "labels": list(self.labels),
            "oos_label": OOS_LABEL,
            "oos_threshold": self.oos_threshold,
            "embedder": {"model_id": self.embedder.model_id, "dimension": self.embedder.dimension},
            **self.info,
            "provenance": provenance or {},
            "files": {WEIGHTS_FILE: {"sha256": hash_file(weights), "size": weights.stat().st_size}},
        }
        path = folder / MANIFEST_FILE
        path.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        return path

    def _arrays(self) -> dict[str, np.ndarray]:
        return {
            **self.featurizer.arrays(),
            "coef": self.coef.astype(np.float32),
            "intercept": self.intercept.astype(np.float32),
        }


def in_scope_top(probs: np.ndarray, labels: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Index and probability of the most likely in-scope label for each probability row."""
    masked = np.array(probs, dtype=np.float64, ndmin=2)
    masked[:, [i for i, label in enumerate(labels) if label == OOS_LABEL]] = -1.0
    best = masked.argmax(axis=1)
    return best, masked[np.arange(len(masked)), best]


def decide(probs: np.ndarray, labels: Sequence[str], threshold: float) -> IntentPrediction:
    """The top in-scope label if its probability reaches `threshold` and beats `oos`."""
    best, top = in_scope_top(probs, labels)
    score = float(top[0])
    oos_wins = OOS_LABEL in labels and float(probs[labels.index(OOS_LABEL)]) > score
    if score >= threshold and not oos_wins:
        return IntentPrediction(labels[int(best[0])], round(score, 6))
    return IntentPrediction(OOS_LABEL, round(1.0 - score, 6))
