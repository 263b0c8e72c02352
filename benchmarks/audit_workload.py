"""Workload for the audit benchmark: realistic events, fresh stores, and the machine it ran on.

Imported by bench_audit.py, which puts the repository root on sys.path first.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import random
import sqlite3
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import measure
import sqlalchemy as sa
from sqlalchemy import Engine

from airlock.config import load_settings
from airlock.services import open_storage
from airlock.settings import AirlockSettings
from audit.events import Actor, AuditEvent
from audit.log import AuditLog, build_audit_log
from tests.pgserver import ThrowawayPostgres, find_pg_bindir

ACTIONS = (
    "chat.completion",
    "ticket.read",
    "ticket.update",
    "kb.search",
    "auth.token",
    "draft.approve",
    "draft.reject",
    "export.create",
)
RESOURCES = ("ticket", "conversation", "kb_article", "draft", "token")
MODELS = ("llama-3.1-8b-instruct-q4", "mistral-7b-instruct-v0.3", "qwen2.5-14b-instruct")
ROLE_SETS = (("agent",), ("agent", "reader"), ("supervisor", "agent"), ("admin",), ("auditor",))
OUTCOME_WEIGHTS = (("success", 90), ("failure", 4), ("denied", 4), ("error", 2))


# ---------------------------------------------------------------------------------------------
# Events and stores
# ---------------------------------------------------------------------------------------------


def make_events(count: int, seed: int = 7) -> list[AuditEvent]:
    """Realistic events: actor, roles, tenant, action, resource ids, ~5 details keys."""
    rng = random.Random(seed)
    outcomes = [name for name, weight in OUTCOME_WEIGHTS for _ in range(weight)]
    events = []
    for i in range(count):
        tenant = f"tenant-{rng.randrange(40):03d}"
        events.append(
            AuditEvent(
                action=rng.choice(ACTIONS),
                outcome=rng.choice(outcomes),  # type: ignore[arg-type]
                actor=Actor(
                    subject=f"user-{rng.randrange(5000):05d}@{tenant}", client_id="support-console"
                ),
                roles=rng.choice(ROLE_SETS),
                tenant=tenant,
                resource_type=rng.choice(RESOURCES),
                resource_id=f"{rng.randrange(10**9):09d}",
                request_id=f"{rng.getrandbits(128):032x}",
                details={
                    "prompt_sha256": hashlib.sha256(f"prompt-{i}".encode()).hexdigest(),
                    "model": rng.choice(MODELS),
                    "tokens_in": rng.randrange(20, 4000),
                    "tokens_out": rng.randrange(0, 1200),
                    "latency_ms": rng.randrange(40, 30000),
                },
            )
        )
    return events


def sqlite_settings(data_dir: Path, synchronous: str = "FULL", **audit: Any) -> AirlockSettings:
    """Settings for a SQLite file in data_dir."""
    return load_settings(
        overrides={
            "data_dir": data_dir,
            "storage": {"url": "", "sqlite_synchronous": synchronous},
            "audit": audit,
        },
        environ={},
    )


def postgres_settings(data_dir: Path, url: str, **audit: Any) -> AirlockSettings:
    """Settings for a PostgreSQL database (data_dir holds the signing key)."""
    return load_settings(
        overrides={"data_dir": data_dir, "storage": {"url": url}, "audit": audit}, environ={}
    )


@contextlib.contextmanager
def pinned_to_core(core: int) -> Iterator[None]:
    """Run the block with this process pinned to one core."""
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {core})
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


class Stores:
    """Fresh stores for each run: SQLite directories and databases on one PostgreSQL server."""

    def __init__(self, workdir: Path, backends: Sequence[str]) -> None:
        self.workdir = workdir
        self.pg: ThrowawayPostgres | None = None
        self._count = 0
        if "postgres" in backends:
            bindir = find_pg_bindir()
            if bindir is None:
                raise SystemExit("no PostgreSQL server binaries (pg_config --bindir)")
            self.pg = ThrowawayPostgres(bindir, fsync=True).start()

    def new_dir(self, label: str) -> Path:
        """An empty data directory."""
        self._count += 1
        path = self.workdir / f"{self._count:03d}-{label}"
        path.mkdir(parents=True)
        return path

    def settings(
        self, backend: str, label: str, synchronous: str = "FULL", **audit: Any
    ) -> AirlockSettings:
        """Settings for a fresh, empty store of this backend."""
        data_dir = self.new_dir(label)
        if backend == "sqlite":
            return sqlite_settings(data_dir, synchronous, **audit)
        assert self.pg is not None
        url = self.pg.create_database(f"bench_{self._count:03d}")
        return postgres_settings(data_dir, url, **audit)

    def close(self) -> None:
        """Stop the PostgreSQL server."""
        if self.pg is not None:
            self.pg.stop()


def open_log(settings: AirlockSettings) -> tuple[Engine, AuditLog]:
    """Migrated engine and audit log."""
    engine = open_storage(settings, writable=True)
    return engine, build_audit_log(settings, engine)


# ---------------------------------------------------------------------------------------------
# Machine
# ---------------------------------------------------------------------------------------------


def fsync_latency_ms(workdir: Path, count: int = 200) -> dict[str, float]:
    """Median and p99 of write(4 KiB) + fsync on a file in the work dir."""
    path = workdir / "fsync-probe"
    times = []
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        for _ in range(count):
            start = time.perf_counter()
            os.write(fd, b"x" * 4096)
            os.fsync(fd)
            times.append(time.perf_counter() - start)
    finally:
        os.close(fd)
        path.unlink()
    times.sort()
    p50, p99 = times[count // 2], times[count * 99 // 100]
    return {"p50": round(p50 * 1000, 3), "p99": round(p99 * 1000, 3)}


def machine_info(pg: ThrowawayPostgres | None, workdir: Path) -> dict[str, Any]:
    """CPU, cores, RAM, Python, SQLite, PostgreSQL, and the filesystem of the work dir."""
    pg_version = None
    if pg is not None:
        import psycopg

        with psycopg.connect(f"host=127.0.0.1 port={pg.port} user=postgres dbname=postgres") as c:
            row = c.execute("SHOW server_version").fetchone()
            fsync = c.execute("SHOW fsync").fetchone()
            sync_commit = c.execute("SHOW synchronous_commit").fetchone()
        pg_version = (
            f"{row[0] if row else '?'} (fsync={fsync[0] if fsync else '?'}, "
            f"synchronous_commit={sync_commit[0] if sync_commit else '?'})"
        )
    fs = "unknown"
    with contextlib.suppress(OSError):
        best = ""
        for line in Path("/proc/mounts").read_text().splitlines():
            dev, mount, fstype = line.split()[:3]
            if str(workdir).startswith(mount) and len(mount) > len(best):
                best, fs = mount, f"{fstype} on {dev} (mounted at {mount})"
    return {
        **measure.machine_info(),
        "sqlite": sqlite3.sqlite_version,
        "sqlalchemy": sa.__version__,
        "postgresql": pg_version,
        "workdir_filesystem": fs,
        "fsync_4k_ms": fsync_latency_ms(workdir),
    }
