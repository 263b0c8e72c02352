"""`airlock kb migrate`: rebuild a collection for this build's schema or embedding model."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from models.embedder import Embedder
from rag.errors import SchemaMismatchError
from rag.store import ROW_FIELDS, SCHEMA_VERSION, MilvusStore

log = logging.getLogger(__name__)

BATCH = 256
_GENERATION = re.compile(r"_v(\d+)$")


@dataclass(frozen=True)
class MigrationReport:
    """What `migrate` did; the old collection is kept for the operator to drop."""

    alias: str
    old_collection: str
    new_collection: str
    rows: int
    changed: bool
    reembedded: bool = False


def migrate_collection(
    store: MilvusStore,
    alias: str,
    embedder: Embedder,
    progress: Callable[[int], None] | None = None,
) -> MigrationReport:
    """Copy every row into a new collection, then switch the alias.

    Vectors are copied when the embedding model is unchanged (a schema change) and computed
    again when it changed.
    """
    old = store.get_physical(alias)
    version, dim, model = store.describe(alias)  # refuses a collection Airlock did not create
    if (version, dim, model) == (SCHEMA_VERSION, embedder.dimension, embedder.model_id):
        return MigrationReport(alias, old, old, store.count(alias), changed=False)
    found = _GENERATION.search(old)
    new = f"{alias}_v{int(found[1]) + 1 if found else 2}"
    if store.has(new):
        raise SchemaMismatchError(
            f"collection {new} already exists (an earlier migration stopped half-way?)",
            remedy="check it, drop it if it is a leftover, and run `airlock kb migrate` again",
        )
    store.create_physical(new, embedder.dimension, embedder.model_id)
    reembed = (dim, model) != (embedder.dimension, embedder.model_id)
    fields = ROW_FIELDS if reembed else [*ROW_FIELDS, "dense"]
    copied = 0
    for rows in store.iter_rows(old, fields, BATCH):
        store.insert(new, _with_vectors(rows, embedder) if reembed else rows)
        copied += len(rows)
        if progress:
            progress(len(rows))
    store.point_alias(alias, new)
    log.info(
        "knowledge base migrated",
        extra={"from": old, "to": new, "rows": copied, "reembedded": reembed},
    )
    return MigrationReport(alias, old, new, copied, changed=True, reembedded=reembed)


def _with_vectors(rows: list[dict[str, Any]], embedder: Embedder) -> list[dict[str, Any]]:
    """Rows with fresh vectors: each entry's vector embeds its BM25 text (the chunk's embed
    text, or the title alone for a title entry)."""
    vectors = embedder.embed([row["bm25_text"] for row in rows])
    return [{**row, "dense": v.tolist()} for row, v in zip(rows, vectors, strict=True)]
