"""An embedder that remembers the vectors of texts it has seen (bounded, thread-safe)."""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Sequence

import numpy as np

from models.embedder import Embedder

# Texts per embedding batch: a batch is padded to its longest text, so similar lengths go
# together; on one core, small batches of similar length cost less than one padded batch.
LENGTH_BATCH = 4


def embed_by_length(embedder: Embedder, texts: Sequence[str]) -> list[np.ndarray]:
    """Vectors for the texts, embedded in batches of similar length (less padding to compute)."""
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    vectors: list[np.ndarray] = [np.empty(0, dtype=np.float32)] * len(texts)
    for start in range(0, len(order), LENGTH_BATCH):
        chunk = order[start : start + LENGTH_BATCH]
        for i, vector in zip(chunk, embedder.embed([texts[i] for i in chunk]), strict=True):
            vectors[i] = vector
    return vectors


class CachingEmbedder:
    """Embeds only texts not cached, least recently used evicted first.

    Texts are kept as 16-byte digests, not as text (a worker's cache holds no ticket words).
    `max_entries` None keeps everything (training runs re-using windows and folds);
    `by_length` embeds the missing texts in small batches of similar length instead of in
    one call (faster for mixed lengths; one call keeps a training run's vectors as they were).
    """

    def __init__(
        self, embedder: Embedder, max_entries: int | None = 8192, *, by_length: bool = True
    ) -> None:
        self._embedder = embedder
        self._cache: OrderedDict[bytes, np.ndarray] = OrderedDict()
        self._max_entries = max_entries
        self._by_length = by_length
        self._lock = threading.Lock()
        self.model_id = embedder.model_id
        self.dimension = embedder.dimension

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors for the texts, computing only those not cached."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        keys = [_digest(text) for text in texts]
        with self._lock:
            missing = dict.fromkeys(k for k in keys if k not in self._cache)
            for key in keys:
                if key in self._cache:
                    self._cache.move_to_end(key)  # used now: evicted last
        if missing:
            wanted = {key: text for key, text in zip(keys, texts, strict=True) if key in missing}
            fresh = self._compute(list(wanted.values()))
            with self._lock:
                for key, vector in zip(wanted, fresh, strict=True):
                    self._cache[key] = vector
                    self._cache.move_to_end(key)
                while self._max_entries is not None and len(self._cache) > self._max_entries:
                    self._cache.popitem(last=False)
        with self._lock:
            rows = [self._cache.get(key) for key in keys]
        if any(row is None for row in rows):  # evicted meanwhile by a concurrent caller
            return self._embedder.embed(list(texts))
        return np.stack([r for r in rows if r is not None]).astype(np.float32, copy=False)

    def _compute(self, texts: list[str]) -> list[np.ndarray]:
        if self._by_length:
            return embed_by_length(self._embedder, texts)
        return list(self._embedder.embed(texts))


def _digest(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()
