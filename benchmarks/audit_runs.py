"""Timed audit benchmark runs: appending in batches, and filling a store then verifying it.

Imported by bench_audit.py, which puts the repository root on sys.path first.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from audit_breakdown import breakdown, profile_verify
from audit_workload import Stores, make_events, open_log, pinned_to_core

from airlock.services import open_storage
from airlock.settings import AirlockSettings
from audit.events import AuditEvent
from audit.log import build_audit_log
from audit.verify import verify_log

AIRLOCK_BIN = Path(sys.executable).parent / "airlock"


# ---------------------------------------------------------------------------------------------
# Append
# ---------------------------------------------------------------------------------------------


@dataclass
class AppendResult:
    """One append run."""

    backend: str
    durability: str
    batch: int
    events: int
    seconds: float
    events_per_s: float
    calls: int
    call_ms_p50: float
    call_ms_p99: float
    stopped_early: bool


def run_append(
    settings: AirlockSettings,
    *,
    backend: str,
    durability: str,
    events: list[AuditEvent],
    batch: int,
    time_limit_s: float,
) -> AppendResult:
    """Append `events` in calls of `batch`; each call commits before it returns."""
    engine, audit_log = open_log(settings)
    try:
        audit_log.append_many(events[:batch])  # warm the pool and statement caches
        work = events[batch:]
        latencies: list[float] = []
        done = 0
        stopped = False
        start = time.perf_counter()
        for i in range(0, len(work), batch):
            chunk = work[i : i + batch]
            t0 = time.perf_counter()
            if batch == 1:
                audit_log.append(chunk[0])
            else:
                audit_log.append_many(chunk)
            t1 = time.perf_counter()
            latencies.append(t1 - t0)
            done += len(chunk)
            if t1 - start > time_limit_s:
                stopped = done < len(work)
                break
        seconds = time.perf_counter() - start
        with engine.connect() as conn:
            stored = conn.execute(sa.text("SELECT count(*) FROM audit_events")).scalar_one()
        if stored != done + min(batch, len(events)):
            raise RuntimeError(f"stored {stored} events, appended {done + batch}")
    finally:
        engine.dispose()
    latencies.sort()
    return AppendResult(
        backend=backend,
        durability=durability,
        batch=batch,
        events=done,
        seconds=round(seconds, 3),
        events_per_s=round(done / seconds, 1),
        calls=len(latencies),
        call_ms_p50=round(statistics.median(latencies) * 1000, 3),
        call_ms_p99=round(latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000, 3),
        stopped_early=stopped,
    )


# ---------------------------------------------------------------------------------------------
# Verify
# ---------------------------------------------------------------------------------------------


@dataclass
class VerifyResult:
    """Filling one store with N events and verifying it."""

    backend: str
    events: int
    fill_batch: int
    fill_seconds: float
    fill_events_per_s: float
    db_bytes: int | None
    checkpoints: int
    cli_command: str
    cli_empty_log_seconds: float
    cli_seconds: list[float] = field(default_factory=list)
    cli_ok: bool = False
    cli_events_checked: int = 0
    inprocess_seconds: list[float] = field(default_factory=list)
    inprocess_ok: bool = False
    breakdown_us_per_row: dict[str, float] = field(default_factory=dict)
    profile_top: str = ""


def fill(settings: AirlockSettings, count: int, batch: int, progress_every: int) -> float:
    """Append `count` events in batches; return the seconds taken."""
    engine, audit_log = open_log(settings)
    template = make_events(min(count, 50_000), seed=11)
    done, next_report = 0, progress_every
    start = time.perf_counter()
    try:
        while done < count:
            size = min(batch, count - done)
            chunk = [template[(done + k) % len(template)] for k in range(size)]
            audit_log.append_many(chunk)
            done += size
            if done >= next_report or done == count:
                elapsed = time.perf_counter() - start
                print(
                    f"  filled {done:>9,} events  {elapsed:7.1f} s  "
                    f"{done / elapsed:9,.0f} events/s",
                    flush=True,
                )
                next_report += progress_every
    finally:
        engine.dispose()
    return time.perf_counter() - start


def time_cli_verify(settings: AirlockSettings, core: int) -> tuple[float, dict[str, Any]]:
    """Wall time of `taskset -c CORE airlock audit verify --json` as a subprocess."""
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("AIRLOCK")}
    env["AIRLOCK__DATA_DIR"] = str(settings.data_dir)
    if settings.storage.url:
        env["AIRLOCK__STORAGE__URL"] = settings.storage.url
    command = ["taskset", "-c", str(core), str(AIRLOCK_BIN), "audit", "verify", "--json"]
    start = time.perf_counter()
    out = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if out.returncode != 0:
        raise RuntimeError(f"verify failed ({out.returncode}): {out.stderr or out.stdout}")
    return seconds, json.loads(out.stdout)


def run_verify(
    stores: Stores,
    *,
    backend: str,
    count: int,
    fill_batch: int,
    repeat: int,
    core: int,
    profile: bool,
    sample: int,
) -> VerifyResult:
    """Fill a fresh store with `count` events, then time the CLI and in-process verify."""
    settings = stores.settings(backend, f"verify-{backend}", checkpoint_every_events=10_000)
    engine, _ = open_log(settings)  # migrate and create the key, then time the CLI on no events
    engine.dispose()
    startup_s, _report = time_cli_verify(settings, core)
    print(f"[verify/{backend}] CLI verify of an empty log: {startup_s:.2f} s", flush=True)
    print(f"[verify/{backend}] filling {count:,} events in batches of {fill_batch:,}", flush=True)
    fill_s = fill(settings, count, fill_batch, progress_every=100_000)
    engine = open_storage(settings, writable=False)
    try:
        with engine.connect() as conn:
            checkpoints = conn.execute(
                sa.text("SELECT count(*) FROM audit_checkpoints")
            ).scalar_one()
        path = settings.get_database_path()
        if path is not None:  # fold the WAL into the main file so every run reads the same
            with contextlib.closing(sqlite3.connect(path)) as raw:
                raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        result = VerifyResult(
            backend=backend,
            events=count,
            fill_batch=fill_batch,
            fill_seconds=round(fill_s, 2),
            fill_events_per_s=round(count / fill_s, 1),
            db_bytes=path.stat().st_size if path else None,
            checkpoints=checkpoints,
            cli_command=f"taskset -c {core} {AIRLOCK_BIN} audit verify --json",
            cli_empty_log_seconds=round(startup_s, 2),
        )
        for i in range(repeat):
            seconds, report = time_cli_verify(settings, core)
            result.cli_seconds.append(round(seconds, 2))
            result.cli_ok = bool(report["ok"])
            result.cli_events_checked = int(report["events_checked"])
            print(
                f"[verify/{backend}] CLI run {i + 1}: {seconds:.2f} s, ok={report['ok']}, "
                f"events_checked={report['events_checked']:,}",
                flush=True,
            )
        key = build_audit_log(settings, engine).signer.public_key
        with pinned_to_core(core):
            for i in range(repeat):
                start = time.perf_counter()
                report_obj = verify_log(engine, key)
                seconds = time.perf_counter() - start
                result.inprocess_seconds.append(round(seconds, 2))
                result.inprocess_ok = report_obj.ok and report_obj.events_checked == count
                print(
                    f"[verify/{backend}] in-process run {i + 1}: {seconds:.2f} s, "
                    f"ok={report_obj.ok}",
                    flush=True,
                )
            if sample:
                result.breakdown_us_per_row = breakdown(engine, min(sample, count))
                print(
                    f"[verify/{backend}] per-row breakdown (us): {result.breakdown_us_per_row}",
                    flush=True,
                )
            if profile:
                result.profile_top = profile_verify(engine, settings)
                print(result.profile_top, flush=True)
    finally:
        engine.dispose()
    return result
