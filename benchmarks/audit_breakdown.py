"""Where verify's time goes: per-row cost of each step, what-if variants, and a profile.

Imported by bench_audit.py, which puts the repository root on sys.path first.
"""

from __future__ import annotations

import cProfile
import hashlib
import io
import json
import pstats
import time
from collections.abc import Iterator, Sequence
from json.encoder import encode_basestring
from typing import Any

from sqlalchemy import Engine

from airlock.settings import AirlockSettings
from audit import schema
from audit.chain import HASHED_FIELDS, canonical_json
from audit.log import build_audit_log
from audit.reader import iter_rows
from audit.verify import verify_log


def spliced_hash(row: Sequence[Any]) -> str:
    """What-if: the chain hash built from the stored JSON text (no json.loads / json.dumps).

    Equal to `hash_stored_row` for rows written by `AuditLog` (roles and details are stored as
    canonical JSON already); it would also reject a re-formatted but equivalent details text.
    """
    parts = []
    for i in SORTED_FIELDS:
        value = row[i]
        if i in (4, 11):
            text = value
        elif value is None:
            text = "null"
        elif isinstance(value, str):
            text = encode_basestring(value)
        else:
            text = str(int(value))
        parts.append(f'"{HASHED_FIELDS[i]}":{text}')
    return hashlib.sha256(("{" + ",".join(parts) + "}").encode("utf-8")).hexdigest()


SORTED_FIELDS = sorted(range(len(HASHED_FIELDS)), key=lambda i: HASHED_FIELDS[i])


def _stream_raw(engine: Engine, sample: int) -> Iterator[tuple[Any, ...]]:
    """Rows straight from the DBAPI cursor (no SQLAlchemy Row), in batches of 5000."""
    columns = ", ".join(c.name for c in schema.events.columns)
    query = f"SELECT {columns} FROM audit_events WHERE seq <= {int(sample)} ORDER BY seq"
    raw = engine.raw_connection()
    try:
        if engine.dialect.name == "sqlite":
            cursor = raw.cursor()
        else:  # a server-side cursor, as iter_rows uses
            cursor = raw.driver_connection.cursor(name="bench_raw")  # type: ignore[union-attr]
        cursor.execute(query)
        while rows := cursor.fetchmany(5000):
            yield from rows
        cursor.close()
    finally:
        raw.close()


def _timed_pass(engine: Engine, sample: int, stage: str) -> float:
    """Seconds of one streaming pass over the first `sample` rows doing `stage`'s work."""
    start = time.perf_counter()
    if stage.startswith("raw"):
        rows: Iterator[Any] = _stream_raw(engine, sample)
        conn = None
    else:
        conn = engine.connect()
        rows = iter_rows(conn, last_seq=sample)
    try:
        for row in rows:
            if stage in ("fetch", "raw fetch"):
                continue
            if stage.endswith("spliced"):
                if spliced_hash(row) != row[-1]:
                    raise RuntimeError(f"spliced hash differs at seq {row[0]}")
                continue
            values = list(row[: len(HASHED_FIELDS)])
            values[4] = json.loads(values[4])
            values[11] = json.loads(values[11])
            if stage == "loads":
                continue
            payload = canonical_json(dict(zip(HASHED_FIELDS, values, strict=True)))
            if stage == "dumps":
                continue
            hashlib.sha256(payload.encode("utf-8")).hexdigest()
    finally:
        if conn is not None:
            conn.close()
    return time.perf_counter() - start


def breakdown(engine: Engine, sample: int, repeat: int = 2) -> dict[str, float]:
    """Per-row microseconds of verify's steps, from cumulative streaming passes (best of N)."""
    stages = {
        "fetch": "A. fetch rows (iter_rows -> SQLAlchemy Row)",
        "loads": "B. A + json.loads(roles), json.loads(details)",
        "dumps": "C. B + canonical json.dumps of the 13-field dict",
        "sha256": "D. C + encode + sha256 + hexdigest (= hash_stored_row work)",
        "raw fetch": "what-if E. fetch via raw DBAPI cursor (fetchmany 5000)",
        "spliced": "what-if F. A + hash spliced from stored JSON text",
        "raw spliced": "what-if G. E + hash spliced from stored JSON text",
    }
    per_row = {}
    for stage, label in stages.items():
        best = min(_timed_pass(engine, sample, stage) for _ in range(repeat))
        per_row[label] = round(best / sample * 1e6, 2)
    return per_row


def profile_verify(engine: Engine, settings: AirlockSettings) -> str:
    """cProfile of one in-process verify_log, top functions by internal time."""
    key = build_audit_log(settings, engine).signer.public_key
    profiler = cProfile.Profile()
    profiler.enable()
    verify_log(engine, key)
    profiler.disable()
    text = io.StringIO()
    pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(18)
    return text.getvalue()
