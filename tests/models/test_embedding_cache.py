"""The caching embedder: each distinct text embedded once, bounded, no text kept."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from models.embedding_cache import CachingEmbedder


class CountingEmbedder:
    """A deterministic embedder that records what it was asked to embed."""

    model_id = "counting"
    dimension = 3

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.calls.append(list(texts))
        return np.array([[len(t), t.count("a"), 1.0] for t in texts], dtype=np.float32)


def test_each_distinct_text_is_embedded_once_in_input_order() -> None:
    inner = CountingEmbedder()
    cache = CachingEmbedder(inner, by_length=False)
    first = cache.embed(["banana", "kiwi", "banana"])
    second = cache.embed(["kiwi", "apple"])
    assert inner.calls == [["banana", "kiwi"], ["apple"]]
    assert first[:, 0].tolist() == [6, 4, 6] and second[:, 0].tolist() == [4, 5]


def test_least_recently_used_texts_are_evicted_beyond_the_bound() -> None:
    inner = CountingEmbedder()
    cache = CachingEmbedder(inner, max_entries=2, by_length=False)
    cache.embed(["a", "bb"])
    cache.embed(["a"])  # "a" is now the most recent
    cache.embed(["ccc"])  # evicts "bb"
    cache.embed(["a", "bb"])
    assert inner.calls[-1] == ["bb"]


def test_the_cache_holds_digests_not_texts() -> None:
    cache = CachingEmbedder(CountingEmbedder())
    cache.embed(["my card number is 4111 1111 1111 1111"])
    keys = list(cache._cache)
    assert all(isinstance(key, bytes) and len(key) == 16 for key in keys)
    assert b"4111" not in b"".join(keys)


def test_no_texts_give_an_empty_matrix_of_the_right_width() -> None:
    assert CachingEmbedder(CountingEmbedder()).embed([]).shape == (0, 3)
