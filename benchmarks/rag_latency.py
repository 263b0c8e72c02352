"""Timing retrieval by stage: query embedding, catalog lookups, each Milvus search."""

from __future__ import annotations

import time
from collections.abc import Sequence
from contextlib import ExitStack
from typing import Any

from measure import load_average, percentile
from rag_workload import StageClock, patched

from rag.retriever import MilvusRetriever
from rag.types import AccessScope

QUERY_STAGES = (
    ("query embedding", "embedder", "embed"),
    ("hidden versions", "catalog", "get_hidden_versions"),
    ("live versions", "catalog", "get_live_versions"),
)


def instrument(stack: ExitStack, clock: StageClock, owners: dict[str, Any], stages: Any) -> None:
    """Time each (label, owner, attribute) that exists, until the stack closes."""
    for label, owner, name in stages:
        target = owners.get(owner)
        if target is not None and hasattr(target, name):
            stack.enter_context(patched(target, name, clock.wrap(label, getattr(target, name))))


def query_latency(
    retriever: MilvusRetriever, queries: list[str], warmup: int, tenant: str
) -> dict[str, Any]:
    """Warm up, then time each search and its parts (embedding, catalog, Milvus searches)."""
    clock, scope = StageClock(), AccessScope(tenant=tenant)
    for query in queries[:warmup]:
        retriever.search(query, top_k=5, scope=scope)
    search = retriever.store.search

    def split_search(name: str, field: str, *args: Any, **kwargs: Any) -> Any:
        return clock.wrap(f"milvus {field} search", search)(name, field, *args, **kwargs)

    rows: list[dict[str, float]] = []
    load = load_average()
    with ExitStack() as stack:
        owners = {"embedder": retriever.embedder, "catalog": retriever.catalog}
        instrument(stack, clock, owners, QUERY_STAGES)
        stack.enter_context(patched(retriever.store, "search", split_search))
        for query in queries[warmup:]:
            clock.current.clear()
            start = time.perf_counter()
            found = retriever.search(query, top_k=5, scope=scope)
            row = {"total": time.perf_counter() - start, **clock.current}
            row["rest (filter, fusion, passages)"] = row["total"] - sum(clock.current.values())
            row["all but query embedding"] = row["total"] - row["query embedding"]
            rows.append(row | {"passages": len(found)})
    ms = {key: summary_ms([r.get(key, 0.0) for r in rows]) for key in rows[0] if key != "passages"}
    totals = [r["total"] * 1000 for r in rows]
    return {
        "queries": len(rows),
        "warmup": warmup,
        "load_average_before": load,
        "load_average_after": load_average(),
        "ms": ms,
        "p50_first_half_ms": round(percentile(totals[: len(rows) // 2], 50), 2),
        "p50_second_half_ms": round(percentile(totals[len(rows) // 2 :], 50), 2),
        "min_passages": min(int(r["passages"]) for r in rows),
        "samples_ms": {
            key: [round(r.get(key, 0.0) * 1000, 2) for r in rows]
            for key in ("total", "query embedding")
        },
    }


def summary_ms(seconds: Sequence[float]) -> dict[str, float]:
    """p50, p95 and p99 in milliseconds."""
    return {f"p{q}": round(percentile([s * 1000 for s in seconds], q), 2) for q in (50, 95, 99)}
