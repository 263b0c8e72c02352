"""Signed exports of the audit log that an auditor verifies offline with the public key alone."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import Connection, Engine

from audit.chain import HASHED_FIELDS, canonical_json, hash_fields
from audit.errors import AuditExportError
from audit.log import format_ts, utc_now
from audit.reader import get_row, get_seq_window, iter_rows
from audit.schema import EVENT_COLUMNS
from audit.signing import AuditSigner, get_key_id, verify_signature

ExportFormat = Literal["jsonl", "csv"]
JSON_COLUMNS = ("roles", "details")


@dataclass(frozen=True)
class ExportManifest:
    """What an export holds, signed over all fields but `signature`."""

    format: str
    file: str
    file_sha256: str
    count: int
    first_seq: int | None
    last_seq: int | None
    first_prev_hash: str | None
    last_hash: str | None
    since: str | None
    until: str | None
    created_at: str
    key_id: str
    signature: str = ""

    def signed_bytes(self) -> bytes:
        """The bytes the signature covers."""
        return canonical_json({k: v for k, v in asdict(self).items() if k != "signature"}).encode()


@dataclass(frozen=True)
class ExportCheck:
    """Outcome of verifying an export offline."""

    ok: bool
    count: int
    problem: str | None

    def to_dict(self) -> dict[str, Any]:
        """JSON data for `--json`."""
        return asdict(self)


def get_manifest_path(path: Path) -> Path:
    """The manifest written beside an export."""
    return path.with_name(path.name + ".manifest.json")


def export_events(
    engine: Engine,
    signer: AuditSigner,
    out: Path,
    *,
    fmt: ExportFormat = "jsonl",
    since: str | None = None,
    until: str | None = None,
    seq_range: tuple[int, int] | None = None,
) -> ExportManifest:
    """Write events (by time window or seq range) and a signed manifest; atomic per file."""
    with engine.connect() as conn:
        window = seq_range or get_seq_window(conn, since, until)
        tmp = out.with_name(f".{out.name}.partial")
        digest = hashlib.sha256()
        count, first_prev, last_hash = 0, None, None
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
            with tmp.open("w", encoding="utf-8", newline="") as handle:
                rows = (
                    iter_rows(conn, first_seq=window[0], last_seq=window[1]) if window else iter([])
                )
                for chunk in _render(rows, fmt):
                    handle.write(chunk)
                    digest.update(chunk.encode("utf-8"))
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, out)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise AuditExportError(
                f"export {out} cannot be written ({exc.strerror})",
                remedy="choose a writable --out path with free space",
            ) from None
        if window:
            count = window[1] - window[0] + 1
            first_prev = _get_field(conn, window[0], "prev_hash")
            last_hash = _get_field(conn, window[1], "hash")
    manifest = ExportManifest(
        format=fmt,
        file=out.name,
        file_sha256=digest.hexdigest(),
        count=count,
        first_seq=window[0] if window else None,
        last_seq=window[1] if window else None,
        first_prev_hash=first_prev,
        last_hash=last_hash,
        since=since,
        until=until,
        created_at=format_ts(utc_now()),
        key_id=signer.key_id,
    )
    signed = ExportManifest(
        **{**asdict(manifest), "signature": signer.sign(manifest.signed_bytes())}
    )
    _write_atomic(get_manifest_path(out), json.dumps(asdict(signed), indent=2) + "\n")
    return signed


def _get_field(conn: Connection, seq: int, name: str) -> str:
    row = get_row(conn, seq)
    if row is None:
        raise AuditExportError(f"event {seq} vanished during the export", remedy="run it again")
    return str(getattr(row, name))


def _render(rows: Iterator[Any], fmt: ExportFormat) -> Iterator[str]:
    if fmt == "jsonl":
        for row in rows:
            record = dict(zip(EVENT_COLUMNS, row, strict=True))
            for name in JSON_COLUMNS:
                record[name] = json.loads(record[name])
            yield canonical_json(record) + "\n"
        return
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(EVENT_COLUMNS)
    for row in rows:
        writer.writerow(["" if value is None else value for value in row])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    if buffer.getvalue():
        yield buffer.getvalue()


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.partial")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def verify_export(path: Path, public_key: Ed25519PublicKey) -> ExportCheck:
    """Check an export against its manifest and signature, and re-verify its chain links."""
    try:
        manifest = ExportManifest(**json.loads(get_manifest_path(path).read_text("utf-8")))
        data = path.read_bytes()
    except (OSError, ValueError, TypeError) as exc:
        raise AuditExportError(
            f"export {path} or its manifest cannot be read ({exc})",
            remedy=f"keep {get_manifest_path(path).name} beside the export file",
        ) from None
    problem = _check_manifest(manifest, data, public_key) or _check_records(manifest, data)
    return ExportCheck(ok=problem is None, count=manifest.count, problem=problem)


def _check_manifest(manifest: ExportManifest, data: bytes, key: Ed25519PublicKey) -> str | None:
    if manifest.key_id != get_key_id(key):
        return f"manifest is signed by key {manifest.key_id[:16]}, not by the given public key"
    if not verify_signature(key, manifest.signature, manifest.signed_bytes()):
        return "manifest signature is not valid"
    if hashlib.sha256(data).hexdigest() != manifest.file_sha256:
        return "file SHA-256 differs from the signed manifest"
    return None


def _check_records(manifest: ExportManifest, data: bytes) -> str | None:
    prev, count, expected_seq = manifest.first_prev_hash, 0, manifest.first_seq
    for values, stored_hash in _parse(manifest.format, data.decode("utf-8")):
        seq = values[0]
        if seq != expected_seq:
            return f"seq {expected_seq} expected, found {seq}"
        if hash_fields(values) != stored_hash:
            return f"event {seq} does not match its hash"
        if values[-1] != prev:
            return f"event {seq} is not chained to its predecessor"
        prev, count, expected_seq = stored_hash, count + 1, seq + 1
    if count != manifest.count or prev != (manifest.last_hash or manifest.first_prev_hash):
        return f"export holds {count} chained events, the manifest says {manifest.count}"
    return None


def _parse(fmt: str, text: str) -> Iterator[tuple[list[Any], str]]:
    if fmt == "jsonl":
        for line in text.splitlines():
            record = json.loads(line)
            yield [record[name] for name in HASHED_FIELDS], record["hash"]
        return
    reader = csv.reader(io.StringIO(text))
    next(reader, None)
    for cells in reader:
        row: dict[str, Any] = {
            name: (None if cell == "" else cell)
            for name, cell in zip(EVENT_COLUMNS, cells, strict=True)
        }
        row["seq"] = int(row["seq"])
        for name in JSON_COLUMNS:
            row[name] = json.loads(row[name])
        yield [row[name] for name in HASHED_FIELDS], row["hash"]
