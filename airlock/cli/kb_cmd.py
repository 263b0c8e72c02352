"""`airlock kb ingest|search|delete|stats|eval|migrate`."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from airlock.cli.context import CliState, emit_json, local_actor, pass_state
from airlock.services import open_services
from models.embedder import load_embedder
from rag.evaluate import run_evaluation
from rag.ingest import DocumentReport, IngestTarget
from rag.loaders import iter_sources, load_source
from rag.migrate import migrate_collection
from rag.ray_ingest import connect_ray, ingest_with_ray
from rag.registry import KnowledgeParts, build_milvus_store, open_knowledge_base
from rag.types import AccessScope

KB_OPTION = click.option("--kb", "kb_name", help="Knowledge base [rag.default_kb].")
TENANT_OPTION = click.option("--tenant", default="default", show_default=True, help="Tenant.")


def _split(text: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in (text or "").split(",") if part.strip())


@contextmanager
def _open(state: CliState, kb_name: str | None) -> Iterator[KnowledgeParts]:
    with (
        open_services(state.settings) as services,
        open_knowledge_base(services.settings, services.engine, services.audit, kb=kb_name) as kb,
    ):
        yield kb


@click.group()
def kb() -> None:
    """The knowledge base: ingest documents, search, delete, evaluate retrieval."""


@kb.command("ingest")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path, exists=True))
@KB_OPTION
@TENANT_OPTION
@click.option("--acl", help="Groups allowed to see these documents, G1,G2 (default: public).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable report.")
@click.option(
    "--ray",
    "ray_address",
    is_flag=False,
    flag_value="",
    default=None,
    metavar="[ADDRESS]",
    help="Parse and embed as a Ray Data pipeline. Put it after the paths (or use "
    "--ray=ADDRESS): bare --ray uses a running local Ray or starts one; ADDRESS is e.g. "
    "ray://head:10001 or auto.",
)
@pass_state
def kb_ingest(
    state: CliState,
    *,
    paths: tuple[Path, ...],
    kb_name: str | None,
    tenant: str,
    acl: str | None,
    as_json: bool,
    ray_address: str | None,
) -> None:
    """Add new and changed documents; report each file (added, updated, unchanged, failed)."""
    try:
        target = IngestTarget(tenant, _split(acl))
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    if ray_address is not None:
        reports = _ingest_on_ray(state, kb_name, list(paths), target, ray_address)
    else:
        reports = _ingest_here(state, kb_name, list(paths), target, as_json)
    _print_reports(reports, as_json)
    sys.exit(1 if any(r.status == "failed" for r in reports) else 0)


def _ingest_on_ray(
    state: CliState, kb_name: str | None, paths: list[Path], target: IngestTarget, address: str
) -> list[DocumentReport]:
    click.echo("parsing and embedding on Ray Data ...", err=True)
    with connect_ray(address or None), _open(state, kb_name) as parts:
        reports, problems = ingest_with_ray(parts.kb, state.settings, paths, target, local_actor())
    failed = [DocumentReport(p.path, p.path, "failed", reason=p.reason) for p in problems]
    return failed + reports


def _ingest_here(
    state: CliState, kb_name: str | None, paths: list[Path], target: IngestTarget, quiet: bool
) -> list[DocumentReport]:
    sources = list(iter_sources(paths))
    reports: list[DocumentReport] = []
    with _open(state, kb_name) as parts, _progress(len(sources), quiet) as advance:
        for source in sources:
            loaded = load_source(source)
            reports += [
                DocumentReport(p.path, p.path, "failed", reason=p.reason) for p in loaded.problems
            ]
            reports += parts.kb.ingest(loaded.documents, target, local_actor())
            advance()
    return reports


@contextmanager
def _progress(total: int, quiet: bool) -> Iterator[Callable[[], None]]:
    if quiet:
        yield lambda: None
        return
    with click.progressbar(length=total, label="ingesting files", file=sys.stderr) as bar:
        yield lambda: bar.update(1)


def _print_reports(reports: list[DocumentReport], as_json: bool) -> None:
    counts = {s: sum(r.status == s for r in reports) for s in ("added", "updated", "unchanged")}
    counts["failed"] = sum(r.status == "failed" for r in reports)
    chunks = sum(r.chunks for r in reports)
    if as_json:
        emit_json(
            {"summary": {**counts, "chunks": chunks}, "documents": [vars(r) for r in reports]}
        )
        return
    for r in reports:
        detail = f"{r.chunks} chunks" if r.status in ("added", "updated") else r.reason
        click.echo(f"{r.status:<9} {r.doc_id}" + (f"  ({detail})" if detail else ""))
    click.echo(
        f"{counts['added']} added, {counts['updated']} updated, {counts['unchanged']} unchanged, "
        f"{counts['failed']} failed; {chunks} chunks written"
    )


@kb.command("search")
@click.argument("query")
@click.option("--top-k", type=click.IntRange(1, 100), help="Passages [rag.top_k].")
@TENANT_OPTION
@click.option("--groups", help="The caller's groups, G1,G2 (default: public documents only).")
@KB_OPTION
@click.option("--json", "as_json", is_flag=True, help="Machine-readable passages.")
@pass_state
def kb_search(
    state: CliState,
    *,
    query: str,
    top_k: int | None,
    tenant: str,
    groups: str | None,
    kb_name: str | None,
    as_json: bool,
) -> None:
    """Hybrid search within a tenant and the given groups."""
    try:
        scope = AccessScope(tenant=tenant, groups=_split(groups))
    except ValueError as exc:
        raise click.BadParameter(str(exc).splitlines()[0]) from None
    with _open(state, kb_name) as parts:
        k = top_k or state.settings.rag.top_k
        passages = parts.retriever.search(query, top_k=k, scope=scope)
    if as_json:
        emit_json([p.model_dump() for p in passages])
        return
    if not passages:
        click.echo("no passages found")
    for rank, p in enumerate(passages, 1):
        snippet = " ".join(p.text.split())[:160]
        click.echo(
            f"{rank}. {p.score:.3f}  {p.title}  [{p.source} {p.start}:{p.end}]\n   {snippet}"
        )


@kb.command("delete")
@click.argument("doc_id")
@TENANT_OPTION
@KB_OPTION
@pass_state
def kb_delete(state: CliState, doc_id: str, tenant: str, kb_name: str | None) -> None:
    """Remove a document and its chunks (exit 1 if there is no such document)."""
    with _open(state, kb_name) as parts:
        found = parts.kb.delete(tenant, doc_id, local_actor())
    click.echo(f"deleted {doc_id}" if found else f"no document {doc_id!r} for tenant {tenant!r}")
    sys.exit(0 if found else 1)


@kb.command("stats")
@KB_OPTION
@click.option("--json", "as_json", is_flag=True, help="Machine-readable JSON.")
@pass_state
def kb_stats(state: CliState, kb_name: str | None, as_json: bool) -> None:
    """Documents and chunks per tenant, and the collection's row count."""
    with _open(state, kb_name) as parts:
        records = parts.kb.catalog.list_documents()
        rows = parts.kb.store.count(parts.kb.collection)
        hidden = len(parts.kb.catalog.get_hidden_versions())
    tenants: dict[str, dict[str, int]] = {}
    for record in records:
        entry = tenants.setdefault(record.tenant, {"documents": 0, "chunks": 0})
        entry["documents"] += 1
        entry["chunks"] += record.chunk_count
    data = {
        "kb": parts.kb.catalog.kb,
        "collection": parts.kb.collection,
        "tenants": tenants,
        "milvus_rows": rows,
        "hidden_versions": hidden,
    }
    if as_json:
        emit_json(data)
        return
    click.echo(f"knowledge base {data['kb']} (collection {data['collection']}, {rows} rows)")
    for tenant, entry in sorted(tenants.items()):
        click.echo(f"  {tenant}: {entry['documents']} documents, {entry['chunks']} chunks")


@kb.command("eval")
@click.option(
    "--corpus", type=click.Path(path_type=Path, exists=True, dir_okay=False), required=True
)
@click.option(
    "--queries", type=click.Path(path_type=Path, exists=True, dir_okay=False), required=True
)
@click.option("--top-k", type=click.IntRange(1, 100), default=10, show_default=True)
@click.option("--rankings", type=click.Path(path_type=Path, dir_okay=False), help="JSONL out.")
@click.option("--json", "as_json", is_flag=True, help="Metrics as JSON.")
@pass_state
def kb_eval(
    state: CliState,
    *,
    corpus: Path,
    queries: Path,
    top_k: int,
    rankings: Path | None,
    as_json: bool,
) -> None:
    """Ingest CORPUS into a throwaway knowledge base, run QUERIES, print recall, MRR, nDCG."""
    report, lines = run_evaluation(state.settings, corpus, queries, top_k=top_k)
    if rankings is not None:
        rankings.write_text("".join(json.dumps(line) + "\n" for line in lines), "utf-8")
    if as_json:
        emit_json(report.to_dict())
        return
    for name, value in report.to_dict().items():
        click.echo(f"{name:<10} {value}")


@kb.command("migrate")
@KB_OPTION
@pass_state
def kb_migrate(state: CliState, kb_name: str | None) -> None:
    """Rebuild the collection for this build's schema and embedding model (old one kept)."""
    settings = state.settings
    alias = f"{settings.rag.collection_prefix}{kb_name or settings.rag.default_kb}"
    embedder = load_embedder(settings)
    store = build_milvus_store(settings)
    try:
        if not store.has(alias):
            click.echo(f"no collection {alias}: nothing to migrate")
            return
        with click.progressbar(
            length=store.count(alias), label=f"migrating {alias}", file=sys.stderr
        ) as bar:
            report = migrate_collection(store, alias, embedder, progress=bar.update)
    finally:
        store.close()
    if not report.changed:
        click.echo(f"{alias} is up to date ({report.old_collection}, {report.rows} rows)")
        return
    how = f"re-embedded with {embedder.model_id}" if report.reembedded else "vectors copied"
    click.echo(
        f"{alias} now points at {report.new_collection} ({report.rows} rows, {how}); the old "
        f"collection {report.old_collection} is kept: drop it with pymilvus once you are satisfied"
    )
