"""The Milvus collection of one knowledge base: dense vectors, Milvus's BM25, metadata."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from pymilvus import DataType, Function, FunctionType, MilvusClient, MilvusException

from rag.errors import SchemaMismatchError, VectorStoreUnavailableError

log = logging.getLogger(__name__)

SCHEMA_VERSION = 2  # 2: English stop words removed from the BM25 field
ROW_FIELDS = [
    "id", "doc_id", "chunk_index", "version", "text", "bm25_text", "title", "source", "tenant",
    "acl", "visibility", "language", "subject_ids", "content_hash", "updated_at", "start", "end",
]  # fmt: skip
OUTPUT_FIELDS = [
    "doc_id", "version", "chunk_index", "text", "title", "source", "start", "end", "language",
]  # fmt: skip
INSERT_BATCH = 512
_SAFE_VALUE = re.compile(r"^[A-Za-z0-9._:@/+=-]{1,255}$")


def quote(value: str) -> str:
    """A Milvus string literal of a value from a restricted alphabet (ids, groups, versions)."""
    if not _SAFE_VALUE.match(value):
        raise ValueError(f"{value!r} is not a valid tenant, group or version name")
    return json.dumps(value)


@contextmanager
def milvus_errors(action: str, uri: str) -> Iterator[None]:
    """Turn pymilvus failures into our typed error (the API maps it to 503, the CLI to 3)."""
    try:
        yield
    except MilvusException as exc:
        raise VectorStoreUnavailableError(
            f"Milvus at {uri} failed to {action}: {exc.message}",
            remedy="check that Milvus is running and rag.uri / rag.token are right",
        ) from None


class MilvusStore:
    """One collection per knowledge base (reached by alias), never dropped or overwritten."""

    def __init__(self, uri: str, token: str = "", timeout_s: float = 10.0) -> None:
        self.uri = uri
        self.timeout_s = timeout_s
        with milvus_errors("connect", uri):
            try:
                self.client = MilvusClient(uri=uri, token=token, timeout=timeout_s)
            except MilvusException:
                raise
            except Exception as exc:  # the client raises plain errors for unreachable hosts
                raise MilvusException(message=f"{type(exc).__name__}: {exc}") from None

    def close(self) -> None:
        """Release the connection; for Milvus Lite also stop its in-process server.

        The server flushes its data when it stops; left running, it would do so at interpreter
        exit, into a folder that may be gone by then (a temporary evaluation store).
        """
        self.client.close()
        if self.uri.startswith(("http://", "https://", "tcp://", "unix:")):
            return
        from milvus_lite.server_manager import server_manager_instance

        server_manager_instance.release_server(self.uri)

    def has(self, name: str) -> bool:
        """Whether the collection (or alias) exists."""
        with milvus_errors("list collections", self.uri):
            return bool(self.client.has_collection(name))

    def ensure(self, name: str, dim: int, embedder: str) -> None:
        """Create the collection if missing; refuse an existing one built differently."""
        if self.has(name):
            self.check(name, dim, embedder)
            with milvus_errors(f"load {name}", self.uri):
                self.client.load_collection(name)
            return
        physical = f"{name}_v1"
        self.create_physical(physical, dim, embedder)
        with milvus_errors(f"create alias {name}", self.uri):
            self.client.create_alias(physical, name)

    def create_physical(self, physical: str, dim: int, embedder: str) -> None:
        """Create a collection of this build's schema (the alias is pointed at it separately)."""
        with milvus_errors(f"create collection {physical}", self.uri):
            self.client.create_collection(
                physical,
                schema=_schema(dim, embedder),
                index_params=_index_params(self.client),
                consistency_level="Strong",
                properties={
                    "airlock.schema": str(SCHEMA_VERSION),
                    "airlock.dim": str(dim),
                    "airlock.embedder": embedder,
                },
            )
        log.info("knowledge-base collection created", extra={"collection": physical})

    def get_physical(self, name: str) -> str:
        """The collection an alias points at."""
        with milvus_errors(f"describe alias {name}", self.uri):
            return str(self.client.describe_alias(name)["collection_name"])

    def point_alias(self, name: str, physical: str) -> None:
        """Switch the alias to another collection in one step (readers follow at once)."""
        with milvus_errors(f"alter alias {name}", self.uri):
            self.client.alter_alias(physical, name)

    def iter_rows(self, name: str, fields: Sequence[str], batch: int) -> Iterator[list[Any]]:
        """Every row of a collection, in batches."""
        with milvus_errors(f"read {name}", self.uri):
            self.client.load_collection(name)
            iterator = self.client.query_iterator(name, batch_size=batch, output_fields=fields)
            try:
                while rows := iterator.next():
                    yield rows
            finally:
                iterator.close()

    def describe(self, name: str) -> tuple[int, int, str]:
        """(schema version, dimension, embedder id) recorded on the collection."""
        with milvus_errors(f"describe {name}", self.uri):
            properties = self.client.describe_collection(name).get("properties") or {}
        try:
            return (
                int(properties["airlock.schema"]),
                int(properties["airlock.dim"]),
                str(properties["airlock.embedder"]),
            )
        except (KeyError, ValueError):
            raise SchemaMismatchError(
                f"collection {name} in {self.uri} was not created by Airlock",
                remedy="choose another rag.default_kb or collection_prefix",
            ) from None

    def check(self, name: str, dim: int, embedder: str) -> None:
        """Refuse a collection of another schema version or embedding model."""
        version, have_dim, have_embedder = self.describe(name)
        if (version, have_dim, have_embedder) != (SCHEMA_VERSION, dim, embedder):
            raise SchemaMismatchError(
                f"collection {name} has schema {version}, {have_dim}-dim vectors of "
                f"{have_embedder}; this build needs schema {SCHEMA_VERSION}, {dim}-dim {embedder}",
                remedy="run `airlock kb migrate` to rebuild it (the old one is kept)",
            )

    def insert(self, name: str, rows: Sequence[dict[str, Any]]) -> None:
        """Insert chunk rows in batches."""
        with milvus_errors(f"insert into {name}", self.uri):
            for start in range(0, len(rows), INSERT_BATCH):
                self.client.insert(name, list(rows[start : start + INSERT_BATCH]))

    def flush(self, name: str) -> None:
        """Seal what was inserted, so searches use its indexes.

        Milvus Lite searches unsealed rows by brute force and rebuilds their BM25 statistics on
        every query (over a second for 10,000 new chunks); a server seals on its own.
        """
        with milvus_errors(f"flush {name}", self.uri):
            self.client.flush(name)

    def delete_versions(self, name: str, versions: Sequence[str]) -> None:
        """Delete every chunk of the given document versions."""
        if not versions:
            return
        expr = f"version in [{', '.join(quote(v) for v in versions)}]"
        with milvus_errors(f"delete from {name}", self.uri):
            self.client.delete(name, filter=expr)

    def count(self, name: str, expr: str = "") -> int:
        """Chunks matching an expression (all when empty)."""
        with milvus_errors(f"count {name}", self.uri):
            result = self.client.query(name, filter=expr, output_fields=["count(*)"])
        return int(result[0]["count(*)"])

    def search(
        self, name: str, field: str, query: list[float] | str, expr: str, limit: int
    ) -> list[dict[str, Any]]:
        """Top `limit` rows by one field (dense: inner product; sparse: BM25), filtered."""
        metric = "IP" if field == "dense" else "BM25"
        with milvus_errors(f"search {name}", self.uri):
            hits = self.client.search(
                name,
                data=[query],
                anns_field=field,
                search_params={"metric_type": metric},
                filter=expr,
                limit=limit,
                output_fields=OUTPUT_FIELDS,
            )
        # BM25 scores are never negative; Milvus Lite reports them negated (best first).
        fix = abs if field == "sparse" else float
        return [{"id": h["id"], "score": fix(float(h["distance"])), **h["entity"]} for h in hits[0]]


def bm25_analyzer() -> dict[str, Any]:
    """Analyzer of the BM25 field: standard tokens, lowercased, without English stop words.

    Stop words carry almost no BM25 weight but have the longest posting lists, which Milvus
    Lite scores in Python; dropping them halves its BM25 search time. The list is NLTK's,
    shipped inside llama-index-core (no download); it is stored in the collection's schema, so
    a later list changes only collections created later.
    """
    from llama_index.core.utils import globals_helper

    stop = {"type": "stop", "stop_words": sorted(globals_helper.stopwords)}
    return {"tokenizer": "standard", "filter": ["lowercase", stop]}


def _schema(dim: int, embedder: str) -> Any:
    schema = MilvusClient.create_schema(
        auto_id=False,
        enable_dynamic_field=False,
        description=f"Airlock knowledge base ({embedder})",
    )
    varchar = DataType.VARCHAR
    schema.add_field("id", varchar, is_primary=True, max_length=64)
    schema.add_field("doc_id", varchar, max_length=1024)
    schema.add_field("chunk_index", DataType.INT64)
    schema.add_field("version", varchar, max_length=32)
    schema.add_field("text", varchar, max_length=16384)
    schema.add_field(
        "bm25_text",
        varchar,
        max_length=20000,
        enable_analyzer=True,
        analyzer_params=bm25_analyzer(),
    )
    schema.add_field("title", varchar, max_length=1024)
    schema.add_field("source", varchar, max_length=2048)
    schema.add_field("tenant", varchar, max_length=255)
    schema.add_field("acl", DataType.ARRAY, element_type=varchar, max_capacity=64, max_length=255)
    schema.add_field("visibility", varchar, max_length=16)
    schema.add_field("language", varchar, max_length=16)
    schema.add_field(
        "subject_ids", DataType.ARRAY, element_type=varchar, max_capacity=64, max_length=255
    )
    schema.add_field("content_hash", varchar, max_length=64)
    schema.add_field("updated_at", varchar, max_length=32)
    schema.add_field("start", DataType.INT64)
    schema.add_field("end", DataType.INT64)
    schema.add_field("dense", DataType.FLOAT_VECTOR, dim=dim)
    schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
    schema.add_function(
        Function(
            name="bm25",
            function_type=FunctionType.BM25,
            input_field_names=["bm25_text"],
            output_field_names=["sparse"],
        )
    )
    return schema


def _index_params(client: MilvusClient) -> Any:
    params = client.prepare_index_params()
    params.add_index("dense", index_type="AUTOINDEX", metric_type="IP")
    params.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25")
    return params
