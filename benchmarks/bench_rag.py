"""RAG benchmark: ingestion throughput against raw embedding, query latency, ingestion memory.

Targets (issue 4): ingestion >= 0.8 x the raw embedding throughput of the same chunks; on a
10,000-chunk Milvus Lite collection, hybrid top-5 query latency (query embedding included)
p50 <= 20 ms and p95 <= 40 ms on 2 cores; ingesting 10,000 chunks stays under 2 GiB resident.

Run from the repository root (on an otherwise idle machine):

    .venv/bin/python benchmarks/bench_rag.py

A synthetic support corpus of about --chunks chunks is generated from --source (the sample
knowledge base by default; see rag_workload.py). "raw" embeds exactly the texts the pipeline
embeds (every chunk's embed_text plus one title entry per document) with the same embedder, in
the pipeline's groups. "pipeline" is KnowledgeBase.ingest of the same documents into a fresh
Milvus Lite collection and SQLite catalog with the audit log (as `airlock kb ingest`), after a
warm-up ingest into another collection. Queries run MilvusRetriever.search(top_k=5) twice: on
the collection as the ingesting process left it, and after the Milvus Lite server was stopped
and the collection reopened (what a new process, such as `airlock serve`, sees). Memory is
measured in a child process that only generates and ingests.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCHMARKS = Path(__file__).resolve().parent
REPO = BENCHMARKS.parent
for _folder in (REPO, BENCHMARKS):  # the project's packages, then the sibling benchmark module
    if str(_folder) not in sys.path:
        sys.path.insert(0, str(_folder))

from measure import (  # noqa: E402
    cpu_seconds,
    descendants,
    load_average,
    mib,
    percentile,
    print_table,
    proc_status,
)
from rag_latency import instrument, query_latency  # noqa: E402
from rag_workload import (  # noqa: E402
    Corpus,
    StageClock,
    build_corpus,
    embed_groups,
    machine_info,
    make_queries,
    patched,
    words_per_chunk,
)

import rag.ingest  # noqa: E402
from airlock.offline import enforce_offline  # noqa: E402
from airlock.services import Services, open_services  # noqa: E402
from airlock.settings import (  # noqa: E402
    AirlockSettings,
    AuditSettings,
    ModelsSettings,
    RagSettings,
    StorageSettings,
)
from audit.events import Actor  # noqa: E402
from models.embedder import Embedder, load_embedder  # noqa: E402
from rag.catalog import DocumentCatalog  # noqa: E402
from rag.registry import KnowledgeParts, open_knowledge_base  # noqa: E402

TARGET_RATIO, TARGET_P50_MS, TARGET_P95_MS, TARGET_RSS_MIB = 0.8, 20.0, 40.0, 2048.0
TENANT = "bench"
ACTOR = Actor("local:bench-rag", "bench-rag")
# (label, owner, attribute) of the timed steps of KnowledgeBase.ingest; none calls another.
INGEST_STAGES = (
    ("content hash", "kb", "get_content_hash"),
    ("catalog lookup", "catalog", "get"),
    ("catalog begin", "catalog", "begin"),
    ("embedding", "embedder", "embed"),
    ("milvus insert", "store", "insert"),
    ("catalog publish", "catalog", "publish"),
    ("cleanup", "kb", "cleanup"),
    ("audit", "audit", "append_many"),
)


def bench_settings(folder: Path, threads: int) -> AirlockSettings:
    """Default settings over a private data dir (SQLite + Milvus Lite file), fixed threads."""
    return AirlockSettings(
        data_dir=folder,
        storage=StorageSettings(),
        audit=AuditSettings(),
        rag=RagSettings(),
        models=ModelsSettings(cpu_threads=threads),
    )


@contextmanager
def open_kb(services: Services, embedder: Embedder) -> Iterator[KnowledgeParts]:
    """The benchmark knowledge base, opened as the CLI opens it."""
    with open_knowledge_base(
        services.settings, services.engine, services.audit, kb="bench", embedder=embedder
    ) as parts:
        yield parts


def warm_up(parts: KnowledgeParts, corpus: Corpus, groups: Sequence[list[str]]) -> None:
    """Embed once and ingest a few documents into another collection of the same store."""
    parts.kb.embedder.embed(groups[0][:64])
    other = DocumentCatalog(parts.kb.catalog.engine, "warmup")
    warm = rag.ingest.KnowledgeBase(parts.kb.store, other, parts.kb.embedder, parts.kb.settings)
    warm.open().ingest(corpus.documents[:4], rag.ingest.IngestTarget("warmup"), ACTOR)


def time_raw(embedder: Embedder, groups: Sequence[list[str]]) -> list[float]:
    """Seconds per group for embedding the pipeline's texts directly."""
    seconds = []
    for texts in groups:
        start = time.perf_counter()
        embedder.embed(texts)
        seconds.append(time.perf_counter() - start)
    return seconds


def time_pipeline(parts: KnowledgeParts, corpus: Corpus) -> tuple[float, list[float], StageClock]:
    """KnowledgeBase.ingest of the corpus: total seconds, seconds per group, stage times."""
    kb, clock, ends = parts.kb, StageClock(), []
    owners = {"kb": kb, "catalog": kb.catalog, "embedder": kb.embedder, "store": kb.store}
    write = kb._write

    def timed_write(*args: Any, **kwargs: Any) -> Any:
        result = write(*args, **kwargs)
        ends.append(time.perf_counter())
        return result

    with ExitStack() as stack:
        chunker = clock.wrap("chunking", rag.ingest.chunk_document)
        stack.enter_context(patched(rag.ingest, "chunk_document", chunker))
        instrument(stack, clock, owners | {"audit": kb.audit}, INGEST_STAGES)
        stack.enter_context(patched(kb, "_write", timed_write))
        start = time.perf_counter()
        reports = kb.ingest(corpus.documents, rag.ingest.IngestTarget(TENANT), ACTOR)
        total = time.perf_counter() - start
    if sum(r.chunks for r in reports) != corpus.chunk_count:
        raise SystemExit("the pipeline wrote a different number of chunks than were generated")
    return total, [b - a for a, b in zip([start, *ends], ends, strict=False)], clock


def ingestion(parts: KnowledgeParts, corpus: Corpus, groups: list[list[str]]) -> dict[str, Any]:
    """Raw embedding, then the pipeline, of the same texts in the same groups."""
    warm_up(parts, corpus, groups)
    chunks, texts = corpus.chunk_count, sum(map(len, groups))
    load_raw, cpu_start = load_average(), cpu_seconds()
    print(f"raw embedding: {texts} texts, {len(groups)} groups ...", flush=True)
    raw = time_raw(parts.kb.embedder, groups)
    load_pipeline, cpu_raw = load_average(), cpu_seconds()
    print(f"pipeline: ingest {len(corpus.documents)} documents ...", flush=True)
    total, per_group, clock = time_pipeline(parts, corpus)
    cpu_pipeline, cpu_raw = cpu_seconds() - cpu_raw, cpu_raw - cpu_start
    stages = {k: round(v, 3) for k, v in clock.seconds.items()}
    stages["other (rows, records, loop)"] = round(total - sum(clock.seconds.values()), 3)
    paired = [r / p for r, p in zip(raw, per_group, strict=True)]
    embedding = clock.history.get("embedding", [])
    paired_embedding = [r / e for r, e in zip(raw, embedding, strict=False)]
    return {
        "chunks": chunks,
        "embedded_texts": texts,
        "groups": len(groups),
        "raw_seconds": round(sum(raw), 3),
        "raw_chunks_per_s": round(chunks / sum(raw), 2),
        "raw_texts_per_s": round(texts / sum(raw), 2),
        "pipeline_seconds": round(total, 3),
        "pipeline_chunks_per_s": round(chunks / total, 2),
        "ratio": round(sum(raw) / total, 4),
        "paired_group_ratio_median": round(percentile(paired, 50), 4),
        "paired_group_embedding_ratio_median": round(percentile(paired_embedding, 50), 4),
        "raw_cpu_seconds": round(cpu_raw, 2),
        "pipeline_cpu_seconds": round(cpu_pipeline, 2),
        "cpu_ratio": round(cpu_raw / cpu_pipeline, 4),
        "pipeline_stage_seconds": stages,
        "stage_calls": clock.calls,
        "collection_rows": parts.kb.store.count(parts.kb.collection),
        "load_average_before_raw": load_raw,
        "load_average_before_pipeline": load_pipeline,
        "load_average_after": load_average(),
        "raw_group_seconds": [round(x, 3) for x in raw],
        "pipeline_group_seconds": [round(x, 3) for x in per_group],
        "pipeline_group_embedding_seconds": [round(x, 3) for x in embedding],
    }


def queries_phase(
    services: Services, parts: KnowledgeParts, corpus: Corpus, args: argparse.Namespace
) -> dict[str, Any]:
    """Latency as the ingesting process left the collection, then after a reopen."""
    queries = make_queries(corpus, args.warmup_queries + args.queries, args.seed)
    print(f"queries: {args.queries} as ingested ...", flush=True)
    result = {"as_ingested": query_latency(parts.retriever, queries, args.warmup_queries, TENANT)}
    start = time.perf_counter()
    parts.kb.store.close()  # stops Milvus Lite's server, which flushes and builds indexes
    result["release_seconds"] = round(time.perf_counter() - start, 3)
    print(f"queries: {args.queries} after reopen ...", flush=True)
    with open_kb(services, parts.kb.embedder) as reopened:
        result["after_reopen"] = query_latency(
            reopened.retriever, queries, args.warmup_queries, TENANT
        )
    return result


def memory_child(args: argparse.Namespace) -> int:
    """In a fresh process: generate, load, ingest, close; print peak RSS figures as JSON."""
    enforce_offline()
    with tempfile.TemporaryDirectory(prefix="airlock-rag-mem-") as scratch:
        settings = bench_settings(Path(scratch), args.threads)
        corpus = generate(args, settings)
        embedder = load_embedder(settings)
        with open_services(settings) as services, open_kb(services, embedder) as parts:
            before = proc_status()
            start = time.perf_counter()
            parts.kb.ingest(corpus.documents, rag.ingest.IngestTarget(TENANT), ACTOR)
            seconds = time.perf_counter() - start
            after, children = proc_status(), descendants(os.getpid())
            parts.kb.store.close()
            closed = proc_status()
        from models.language import detect_language  # what the loaders add (`airlock kb ingest`)

        for doc in corpus.documents[:50]:
            detect_language(doc.text)
        result = {
            "chunks": corpus.chunk_count,
            "ingest_seconds": round(seconds, 2),
            "rss_before_ingest_mib": mib(before["VmRSS"]),
            "peak_rss_before_ingest_mib": mib(before["VmHWM"]),
            "rss_after_ingest_mib": mib(after["VmRSS"]),
            "peak_rss_mib": mib(after["VmHWM"]),
            "peak_rss_with_flush_on_close_mib": mib(closed["VmHWM"]),
            "peak_rss_with_language_detector_mib": mib(proc_status()["VmHWM"]),
            "threads_after_ingest": after.get("Threads"),
            "child_processes": children,
        }
    print(json.dumps(result))
    return 0


def memory(args: argparse.Namespace) -> dict[str, Any]:
    """Run the memory child and read its peak from its report and from getrusage."""
    command = [sys.executable, str(Path(__file__).resolve()), "--memory-child"]
    command += ["--chunks", str(args.chunks), "--threads", str(args.threads)]
    command += ["--seed", str(args.seed), "--source", *map(str, args.source)]
    load = load_average()
    print("memory: ingest in a child process ...", flush=True)
    done = subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True)
    # Not getrusage(RUSAGE_CHILDREN): Linux carries the parent's peak into the child at exec.
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result | {"load_before": load}


def generate(args: argparse.Namespace, settings: AirlockSettings) -> Corpus:
    """The corpus for these arguments, chunked with the settings' chunking."""
    rag_settings = settings.rag
    return build_corpus(
        args.source,
        args.chunks,
        args.seed,
        chunk_size=rag_settings.chunk_size,
        chunk_overlap=rag_settings.chunk_overlap,
    )


def verdict(ok: bool) -> str:
    """The result column."""
    return "met" if ok else "NOT met"


def result_rows(results: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """The results table: metric, value, target, met or not."""
    ing = results["ingestion"]
    raw = f"{ing['raw_chunks_per_s']:.1f} chunks/s ({ing['raw_texts_per_s']:.1f} texts/s)"
    ratio = f"{ing['ratio']:.3f} (per-group median {ing['paired_group_ratio_median']:.3f})"
    embed = f"{ing['paired_group_embedding_ratio_median']:.3f}"
    cpu_s = f"{ing['raw_cpu_seconds']:.0f} s / {ing['pipeline_cpu_seconds']:.0f} s"
    cpu = f"{cpu_s} = {ing['cpu_ratio']:.3f}"
    rows = [
        ("raw embedding", raw, "", ""),
        ("ingestion pipeline", f"{ing['pipeline_chunks_per_s']:.1f} chunks/s", "", ""),
        ("pipeline / raw", ratio, f">= {TARGET_RATIO}", verdict(ing["ratio"] >= TARGET_RATIO)),
        ("CPU time raw / pipeline", cpu, "", ""),
        ("raw / in-pipeline embedding, per group", f"median {embed}", "", ""),
    ]
    for state in ("as_ingested", "after_reopen"):
        total = results["queries"][state]["ms"]["total"]
        for q, target in (("p50", TARGET_P50_MS), ("p95", TARGET_P95_MS), ("p99", None)):
            goal = f"<= {target:.0f} ms" if target else ""
            met = verdict(total[q] <= target) if target else ""
            rows.append((f"query {q}, {state.replace('_', ' ')}", f"{total[q]:.1f} ms", goal, met))
    if mem := results.get("memory"):
        peak, kids = mem["peak_rss_mib"], mem["child_processes"]
        goal, met = f"< {TARGET_RSS_MIB:.0f} MiB", verdict(peak < TARGET_RSS_MIB)
        rows.append(("peak RSS, ingesting process", f"{peak:.0f} MiB", goal, met))
        closed = mem["peak_rss_with_flush_on_close_mib"]
        rows.append(("  ... incl. Milvus Lite flush on close", f"{closed:.0f} MiB", "", ""))
        value = f"{sum(c['peak_rss_mib'] for c in kids):.0f} MiB in {len(kids)} processes"
        rows.append(("separate Milvus Lite process", value, "", "" if kids else "(in-process)"))
    return rows


def report(results: dict[str, Any]) -> None:
    """Machine, command, the corpus and the results tables."""
    print("\nMachine:", json.dumps(results["machine"], indent=1))
    print("Command:", results["command"])
    print("Corpus:", json.dumps(results["corpus"]))
    print_table(["metric", "value", "target", "result"], result_rows(results))
    stages = results["ingestion"]["pipeline_stage_seconds"]
    print("\nPipeline time by stage (s):", json.dumps(stages))
    for state in ("as_ingested", "after_reopen"):
        print(f"\nQuery split, {state.replace('_', ' ')} (ms):")
        split = results["queries"][state]["ms"]
        print_table(["part", "p50", "p95", "p99"], [(k, *v.values()) for k, v in split.items()])
    if mem := results.get("memory"):
        print("\nMemory:", json.dumps({k: v for k, v in mem.items() if k != "child_processes"}))


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--source", type=Path, nargs="+", default=[REPO / "examples" / "kb"])
    parser.add_argument("--chunks", type=int, default=10_000, help="chunks to generate")
    parser.add_argument("--queries", type=int, default=300, help="timed queries per state")
    parser.add_argument("--warmup-queries", type=int, default=30)
    parser.add_argument("--threads", type=int, default=2, help="torch threads")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=BENCHMARKS / "out" / "bench_rag.json")
    parser.add_argument("--skip-memory", action="store_true", help="no memory child process")
    parser.add_argument("--memory-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.chunks < 1 or args.queries < 1 or args.threads < 1 or args.warmup_queries < 0:
        parser.error("--chunks, --queries and --threads need >= 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Generate the corpus, measure ingestion and queries, then memory; print and write JSON."""
    args = parse_args(argv)
    if args.memory_child:
        return memory_child(args)
    enforce_offline()
    results: dict[str, Any] = {
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": shlex.join([os.path.relpath(sys.executable), *sys.argv]),
        "machine": machine_info(),
    }
    with tempfile.TemporaryDirectory(prefix="airlock-rag-bench-") as scratch:
        settings = bench_settings(Path(scratch), args.threads)
        corpus = generate(args, settings)
        groups = embed_groups(corpus, rag.ingest.EMBED_GROUP_CHUNKS, settings.rag.title_vectors)
        results["corpus"] = {
            "sources": corpus.sources,
            "seed": args.seed,
            "documents": len(corpus.documents),
            "chunks": corpus.chunk_count,
            "chunk_words": words_per_chunk(corpus),
            "chunk_size": settings.rag.chunk_size,
        }
        embedder = load_embedder(settings)
        with open_services(settings) as services, open_kb(services, embedder) as parts:
            results["ingestion"] = ingestion(parts, corpus, groups)
            results["queries"] = queries_phase(services, parts, corpus, args)
    results["main_process_peak_rss_mib"] = mib(proc_status()["VmHWM"])
    if not args.skip_memory:
        results["memory"] = memory(args)
    results["load_average_at_end"] = load_average()
    results["finished"] = datetime.now(UTC).isoformat(timespec="seconds")
    report(results)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nresults written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
