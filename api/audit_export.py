"""A tenant's audit events as a streamed ZIP of signed runs that verify offline.

All tenants share one hash chain, so a tenant's events are a chain with holes where other
tenants' (and tenant-less) events sit. Each unbroken run of the tenant's events is written
exactly as `airlock audit export` writes a file, with its signed manifest beside it: every
run verifies offline with `airlock audit verify --export FILE --public-key KEY.pem`
(`audit.export.verify_export`), and its first `prev_hash` and last `hash` tie it to the chain
that `GET /v1/audit/verify` checks. No other tenant's event content is ever included.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import json
import zipfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy import Engine

from audit import schema
from audit.chain import canonical_json
from audit.export import JSON_COLUMNS, ExportManifest
from audit.log import format_ts, utc_now
from audit.schema import EVENT_COLUMNS
from audit.signing import AuditSigner

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer

EXPORT_BATCH = 1000  # rows read per query (each batch on a fresh connection)
FLUSH_BYTES = 65536  # compressed bytes gathered before they are sent
EXPORT_DESCRIPTION = """\
A ZIP archive, streamed, of the token's tenant's events (tenant-less system events are not
included) with `since <= ts < until`, up to the newest event when the export started.

All tenants share one hash chain, so the tenant's events are cut into runs of consecutive
sequence numbers. Each run is a JSON Lines file `events-<first seq>.jsonl` (one canonical
event per line, as `airlock audit export` writes) with its Ed25519-signed manifest
`events-<first seq>.jsonl.manifest.json` beside it. To verify offline, unzip and run, for each
run, `airlock audit verify --export events-<seq>.jsonl --public-key audit-public.pem` with the
public key from `airlock audit public-key` (obtained from the operator out of band). A run's
manifest names the hash before its first event and its last hash, which tie it to the chain.
Every call is recorded as an `audit.exported` event.
"""
README = """\
Audit events of tenant {tenant}, exported {created} (events through seq {through}).
Each events-<seq>.jsonl is one run of consecutive events of the shared hash chain; its signed
manifest is beside it. Verify each run with the appliance's public key:

  airlock audit verify --export events-<seq>.jsonl --public-key audit-public.pem
"""


@dataclass(frozen=True)
class ExportWindow:
    """Whose events and which: tenant, [since, until) as log timestamps, up to a seq."""

    tenant: str
    since: str | None
    until: str | None
    through_seq: int


def select_events(
    tenant: str, *, after: int = 0, since: str | None = None, until: str | None = None
) -> sa.Select[Any]:
    """The tenant's events after seq `after` within [since, until), in seq order."""
    c = schema.events.c
    query = sa.select(*schema.events.columns).where(c.tenant == tenant, c.seq > after)
    if since is not None:
        query = query.where(c.ts >= since)
    if until is not None:
        query = query.where(c.ts < until)
    return query.order_by(c.seq)


def stream_export(engine: Engine, signer: AuditSigner, window: ExportWindow) -> Iterator[bytes]:
    """The ZIP's bytes as they are produced (blocking: iterate it in a worker thread)."""
    sink = _Sink()
    created = format_ts(utc_now())
    readme = README.format(tenant=window.tenant, created=created, through=window.through_seq)
    with zipfile.ZipFile(sink, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("README.txt", readme)
        rows = enumerate(_tenant_rows(engine, window))
        # Consecutive seqs keep seq - position constant: each group is one unbroken run.
        for _, run in itertools.groupby(rows, key=lambda pair: int(pair[1].seq) - pair[0]):
            yield from _write_run(archive, sink, (row for _, row in run), signer, window)
    yield sink.take()


def _tenant_rows(engine: Engine, window: ExportWindow) -> Iterator[sa.Row[Any]]:
    """The window's rows in seq order, read in batches (no connection held across yields)."""
    after = 0
    while True:
        query = select_events(window.tenant, after=after, since=window.since, until=window.until)
        query = query.where(schema.events.c.seq <= window.through_seq).limit(EXPORT_BATCH)
        with engine.connect() as conn:
            rows = conn.execute(query).all()
        yield from rows
        if len(rows) < EXPORT_BATCH:
            return
        after = int(rows[-1].seq)


def _write_run(
    archive: zipfile.ZipFile,
    sink: _Sink,
    run: Iterator[sa.Row[Any]],
    signer: AuditSigner,
    window: ExportWindow,
) -> Iterator[bytes]:
    """One run as an export file and its signed manifest, as `audit.export` writes them."""
    first = next(run)
    name = f"events-{int(first.seq):012d}.jsonl"
    digest, count, last = hashlib.sha256(), 0, first
    with archive.open(name, "w", force_zip64=True) as entry:
        for row in itertools.chain([first], run):
            line = _render(row).encode("utf-8")
            entry.write(line)
            digest.update(line)
            count, last = count + 1, row
            if sink.size() >= FLUSH_BYTES:
                yield sink.take()
    manifest = ExportManifest(
        format="jsonl",
        file=name,
        file_sha256=digest.hexdigest(),
        count=count,
        first_seq=int(first.seq),
        last_seq=int(last.seq),
        first_prev_hash=str(first.prev_hash),
        last_hash=str(last.hash),
        since=window.since,
        until=window.until,
        created_at=format_ts(utc_now()),
        key_id=signer.key_id,
    )
    signed = replace(manifest, signature=signer.sign(manifest.signed_bytes()))
    archive.writestr(f"{name}.manifest.json", json.dumps(asdict(signed), indent=2) + "\n")
    yield sink.take()


def _render(row: sa.Row[Any]) -> str:
    """One stored row as the canonical JSON line `airlock audit export` writes."""
    record = dict(zip(EVENT_COLUMNS, row, strict=True))
    for name in JSON_COLUMNS:
        record[name] = json.loads(record[name])
    return canonical_json(record) + "\n"


def stamp(moment: datetime | None) -> str | None:
    """A query's time as the log's timestamp format (None stays None)."""
    return format_ts(moment) if moment is not None else None


class _Sink(io.RawIOBase):
    """A write-only, unseekable buffer the ZIP writer fills and the response drains."""

    def __init__(self) -> None:
        super().__init__()
        self._buffer = bytearray()

    def writable(self) -> bool:
        """Always writable."""
        return True

    def write(self, data: ReadableBuffer, /) -> int:
        """Keep the bytes until `take`."""
        view = memoryview(data)
        self._buffer += view
        return view.nbytes

    def size(self) -> int:
        """Bytes waiting."""
        return len(self._buffer)

    def take(self) -> bytes:
        """The bytes written since the last call."""
        data = bytes(self._buffer)
        self._buffer.clear()
        return data
