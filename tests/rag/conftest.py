"""Knowledge-base fixtures: the real embedder once per session, private knowledge bases."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import pytest

from airlock.config import load_settings
from airlock.datadir import ensure_data_dir
from airlock.db import build_engine, upgrade_database
from models.embedder import Embedder, load_embedder
from rag.registry import KnowledgeParts, open_knowledge_base

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "kb"


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """The built-in all-MiniLM-L6-v2, loaded once."""
    return load_embedder(load_settings())


@pytest.fixture
def open_kb(
    tmp_path: Path, embedder: Embedder
) -> Callable[..., AbstractContextManager[KnowledgeParts]]:
    """`with open_kb(**rag_overrides) as parts:` a knowledge base in its own data dir."""

    @contextmanager
    def opener(**rag: Any) -> Iterator[KnowledgeParts]:
        settings = load_settings(overrides={"data_dir": str(tmp_path / "data"), "rag": rag})
        ensure_data_dir(settings.data_dir)
        engine = build_engine(settings, create=True)
        upgrade_database(engine)
        try:
            with open_knowledge_base(settings, engine, None, embedder=embedder) as parts:
                yield parts
        finally:
            engine.dispose()

    return opener
