"""The injection classifier's weights: one .npz plus a manifest that pins its SHA-256."""

from __future__ import annotations

import json
import math
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse  # type: ignore[import-untyped]

from guardrails.errors import GuardModelError
from guardrails.injection.features import LexicalFeaturizer, Vocabulary
from guardrails.injection.patterns import FAMILIES
from models.store import hash_file
from models.weights import weights_problem, write_npz

MODEL_DIR = Path(__file__).resolve().parent / "model"
WEIGHTS_FILE = "injection.npz"
MANIFEST_FILE = "manifest.json"
FORMAT = "airlock-injection/1"
RETRAIN = (
    "reinstall Airlock, or rebuild the model: python -m guardrails.injection.train "
    "--data FILE... --out DIR (see guardrails/injection/model/manifest.json for the command)"
)
# A fixed zip timestamp makes the weights file byte-identical when training is repeated.


@dataclass(frozen=True)
class InjectionModel:
    """A lexical logistic head, an embedding logistic head and how their logits combine."""

    featurizer: LexicalFeaturizer
    lexical_coef: np.ndarray
    lexical_intercept: float
    embedding_coef: np.ndarray
    embedding_intercept: float
    embedding_weight: float
    raw_threshold: float
    cascade_logit: float
    embedder_id: str

    def lexical_logits(self, features: sparse.csr_matrix) -> np.ndarray:
        """Logit of the lexical head for each feature row."""
        logits: np.ndarray = np.asarray(features @ self.lexical_coef, dtype=np.float64)
        return logits + self.lexical_intercept

    def embedding_logits(self, vectors: np.ndarray) -> np.ndarray:
        """Logit of the embedding head for each embedding row."""
        logits: np.ndarray = vectors.astype(np.float64) @ self.embedding_coef
        return logits + self.embedding_intercept

    def to_score(self, logits: np.ndarray) -> np.ndarray:
        """Scores in [0, 1], shifted so the tuned operating point lands on 0.5."""
        shift = math.log(self.raw_threshold / (1.0 - self.raw_threshold))
        return np.asarray(1.0 / (1.0 + np.exp(-(logits - shift))), dtype=np.float64)


def _arrays(model: InjectionModel) -> dict[str, np.ndarray]:
    return {
        "char_terms": model.featurizer.char.terms,
        "char_idf": model.featurizer.char.idf,
        "word_terms": model.featurizer.word.terms,
        "word_idf": model.featurizer.word.idf,
        "lexical_coef": model.lexical_coef.astype(np.float32),
        "embedding_coef": model.embedding_coef.astype(np.float32),
        "scalars": np.array(
            [
                model.lexical_intercept,
                model.embedding_intercept,
                model.embedding_weight,
                model.raw_threshold,
                model.cascade_logit,
            ],
            dtype=np.float64,
        ),
    }


def save_model(model: InjectionModel, folder: Path, manifest: dict[str, Any]) -> Path:
    """Write the weights and a manifest (given fields plus format, embedder and SHA-256)."""
    folder.mkdir(parents=True, exist_ok=True)
    weights = folder / WEIGHTS_FILE
    write_npz(weights, _arrays(model))
    full = {
        "format": FORMAT,
        "embedder": {"model_id": model.embedder_id, "dimension": len(model.embedding_coef)},
        "rule_families": list(FAMILIES),
        **manifest,
        "files": {WEIGHTS_FILE: {"sha256": hash_file(weights), "size": weights.stat().st_size}},
    }
    path = folder / MANIFEST_FILE
    path.write_text(json.dumps(full, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def load_manifest(folder: Path = MODEL_DIR) -> dict[str, Any]:
    """The manifest of a model folder, checked for format and rule families."""
    path = folder / MANIFEST_FILE
    try:
        manifest: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise GuardModelError(
            f"injection model manifest {path} is missing", remedy=RETRAIN
        ) from None
    except (OSError, ValueError) as exc:
        raise GuardModelError(
            f"injection model manifest {path} cannot be read ({exc})", remedy=RETRAIN
        ) from None
    if manifest.get("format") != FORMAT or manifest.get("rule_families") != list(FAMILIES):
        raise GuardModelError(
            f"injection model manifest {path} is for another format or rule set "
            f"({manifest.get('format')!r}); this code reads {FORMAT!r}",
            remedy=RETRAIN,
        )
    return manifest


def _verified_weights(folder: Path, manifest: dict[str, Any]) -> Path:
    weights = folder / WEIGHTS_FILE
    expected = manifest.get("files", {}).get(WEIGHTS_FILE, {}).get("sha256")
    problem = weights_problem(weights, expected)
    if problem:
        raise GuardModelError(f"injection model file {problem}", remedy=RETRAIN)
    return weights


def load_model(folder: Path = MODEL_DIR) -> tuple[InjectionModel, dict[str, Any]]:
    """The model of a folder once its weights match the manifest's SHA-256."""
    manifest = load_manifest(folder)
    weights = _verified_weights(folder, manifest)
    try:
        with np.load(weights, allow_pickle=False) as data:
            arrays = {name: data[name] for name in data.files}
        char = Vocabulary(arrays["char_terms"], arrays["char_idf"])
        word = Vocabulary(arrays["word_terms"], arrays["word_idf"])
        scalars = arrays["scalars"].tolist()
        model = InjectionModel(
            featurizer=LexicalFeaturizer(char, word),
            lexical_coef=arrays["lexical_coef"].astype(np.float64),
            lexical_intercept=scalars[0],
            embedding_coef=arrays["embedding_coef"].astype(np.float64),
            embedding_intercept=scalars[1],
            embedding_weight=scalars[2],
            raw_threshold=scalars[3],
            cascade_logit=scalars[4],
            embedder_id=str(manifest["embedder"]["model_id"]),
        )
    except (KeyError, ValueError, IndexError, zipfile.BadZipFile) as exc:
        raise GuardModelError(
            f"injection model file {weights} is invalid ({exc})", remedy=RETRAIN
        ) from None
    if model.featurizer.size != len(model.lexical_coef):
        raise GuardModelError(
            f"injection model file {weights} is invalid (feature count mismatch)", remedy=RETRAIN
        )
    return model, manifest
