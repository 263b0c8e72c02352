"""Loading an intent model folder: manifest checks, weight hashes, embedder match."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from helpdesk.errors import IntentModelError
from helpdesk.intents.features import LexicalFeaturizer
from helpdesk.intents.model import FORMAT, MANIFEST_FILE, WEIGHTS_FILE, IntentModel
from models.embedder import Embedder
from models.weights import weights_problem

RETRAIN = (
    "reinstall Airlock or retrain the model: python -m helpdesk.intents.train "
    "--data FILE [--val FILE] --out DIR (the manifest records the command used)"
)
_ARRAYS = ("word_terms", "word_idf", "char_terms", "char_idf", "coef", "intercept")
_INFO_SKIP = {"format", "labels", "oos_label", "oos_threshold", "embedder", "files", "provenance"}


def load_manifest(folder: Path) -> dict[str, Any]:
    """The manifest of an intent model folder, checked for its format."""
    path = folder / MANIFEST_FILE
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise IntentModelError(
            f"intent model manifest {path} is missing (is {folder} an intent model folder?)",
            remedy=RETRAIN,
        ) from None
    except (OSError, ValueError) as exc:
        raise IntentModelError(
            f"intent model manifest {path} cannot be read ({exc})", remedy=RETRAIN
        ) from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        found = manifest.get("format") if isinstance(manifest, dict) else None
        raise IntentModelError(
            f"intent model manifest {path} has format {found!r}; this code reads {FORMAT!r}",
            remedy=RETRAIN,
        )
    return manifest


def load_intent_model(folder: Path, embedder: Embedder) -> IntentModel:
    """The verified model in `folder`; refuses damaged files or another embedder's model."""
    manifest = load_manifest(folder)
    _check_embedder(folder, manifest, embedder)
    arrays = _load_arrays(folder, manifest)
    labels = tuple(str(label) for label in manifest.get("labels", []))
    featurizer = LexicalFeaturizer.from_arrays(arrays)
    if arrays["coef"].shape != (featurizer.size + embedder.dimension, len(labels)):
        raise IntentModelError(
            f"intent model in {folder} is inconsistent: weights of shape "
            f"{arrays['coef'].shape} for {len(labels)} labels and {featurizer.size} "
            "lexical features",
            remedy=RETRAIN,
        )
    return IntentModel(
        labels=labels,
        featurizer=featurizer,
        coef=arrays["coef"],
        intercept=arrays["intercept"],
        oos_threshold=float(manifest["oos_threshold"]),
        embedder=embedder,
        info={k: v for k, v in manifest.items() if k not in _INFO_SKIP},
    )


def _check_embedder(folder: Path, manifest: dict[str, Any], embedder: Embedder) -> None:
    trained = manifest.get("embedder", {})
    loaded = {"model_id": embedder.model_id, "dimension": embedder.dimension}
    if trained != loaded:
        raise IntentModelError(
            f"intent model in {folder} was trained with embedder {trained.get('model_id')!r} "
            f"({trained.get('dimension')}-d), but {embedder.model_id!r} "
            f"({embedder.dimension}-d) is loaded",
            remedy="set models.embedding_model to the model's embedder, or retrain the intent "
            f"model with the current one ({RETRAIN.split(': ', 1)[1]})",
        )


def _load_arrays(folder: Path, manifest: dict[str, Any]) -> dict[str, np.ndarray]:
    weights = folder / WEIGHTS_FILE
    problem = weights_problem(
        weights, manifest.get("files", {}).get(WEIGHTS_FILE, {}).get("sha256")
    )
    if problem:
        raise IntentModelError(f"intent model file {problem}", remedy=RETRAIN)
    try:
        with np.load(weights, allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in _ARRAYS}
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
        raise IntentModelError(
            f"intent model file {weights} cannot be read ({exc})", remedy=RETRAIN
        ) from None
    return arrays
