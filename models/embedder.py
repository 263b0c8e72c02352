"""The `Embedder` interface and its sentence-transformers implementation, loaded verified."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from airlock.settings import AirlockSettings
from models.builtin import BUILTIN_EMBEDDING_ID, load_builtin_embedding
from models.errors import ModelError, ModelNotFoundError
from models.manifest import MANIFEST_NAME, MODEL_ID, ModelManifest
from models.registry import build_model_store

log = logging.getLogger(__name__)


class Embedder(Protocol):
    """Turns texts into unit-length float32 vectors, one row per text."""

    model_id: str
    dimension: int

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors of shape (len(texts), dimension), float32, L2-normalised."""
        ...


class SentenceTransformerEmbedder:
    """A sentence-transformers model folder run on the CPU, never fetched from a hub."""

    def __init__(
        self,
        folder: Path,
        *,
        model_id: str,
        batch_size: int = 32,
        cpu_threads: int | None = None,
    ) -> None:
        import torch
        from sentence_transformers import SentenceTransformer

        if cpu_threads is not None:
            # Process-wide in torch: the configured budget for every local model.
            torch.set_num_threads(cpu_threads)
        try:
            self._model = SentenceTransformer(str(folder), device="cpu", local_files_only=True)
        except (OSError, ValueError, KeyError) as exc:
            raise ModelError(
                f"embedding model {model_id!r} in {folder} cannot be loaded ({exc})",
                remedy="check that the folder holds a sentence-transformers model",
            ) from None
        dimension = self._model.get_embedding_dimension()
        if dimension is None:
            raise ModelError(
                f"embedding model {model_id!r} does not state its vector size",
                remedy="use a sentence-transformers model with a pooling layer",
            )
        self.model_id = model_id
        self.dimension = int(dimension)
        self.batch_size = batch_size
        log.info(
            "embedding model loaded",
            extra={"model_id": model_id, "dimension": self.dimension, "threads": cpu_threads},
        )

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors of shape (len(texts), dimension), float32, L2-normalised."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self._model.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)


def load_embedder(settings: AirlockSettings) -> Embedder:
    """The configured embedding model: an imported one re-hashed, or the pinned built-in."""
    manifest, folder = _load_verified_embedding(settings)
    return SentenceTransformerEmbedder(
        folder,
        model_id=manifest.id,
        batch_size=settings.models.embed_batch_size,
        cpu_threads=settings.models.cpu_threads,
    )


def _load_verified_embedding(settings: AirlockSettings) -> tuple[ModelManifest, Path]:
    """Manifest and folder of models.embedding_model after its files were checked."""
    model_id = settings.models.embedding_model
    store = build_model_store(settings)
    if MODEL_ID.match(model_id) and (store.get_model_dir(model_id) / MANIFEST_NAME).is_file():
        manifest, folder = store.load_verified(model_id)
        if manifest.task != "embedding":
            raise ModelError(
                f"model {model_id!r} is a {manifest.task} model, not an embedding model",
                remedy="set models.embedding_model to a model imported with --task embedding",
            )
        return manifest, folder
    if model_id == BUILTIN_EMBEDDING_ID:
        return load_builtin_embedding()
    raise ModelNotFoundError(
        f"embedding model {model_id!r} is neither in {store.root} nor built in",
        remedy=f"import it with `airlock models import DIR --id {model_id} --task embedding`, "
        f"or set models.embedding_model to {BUILTIN_EMBEDDING_ID}",
    )
