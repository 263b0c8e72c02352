"""Audit log benchmark: append throughput (SQLite, PostgreSQL) and `airlock audit verify` speed.

Targets (issue): append >= 5,000 events/s from one process on each backend (batching allowed,
each event durable when its call returns), and `airlock audit verify` over 1,000,000 events in
under 20 s on one core.

Run from the repository root:

    .venv/bin/python benchmarks/bench_audit.py

Every append run starts on an empty store. SQLite runs in WAL mode with PRAGMA synchronous=FULL
(the default; a NORMAL row is added for comparison); PostgreSQL is a throwaway server started
with fsync=on and the default synchronous_commit=on. `append`/`append_many` commit before they
return, so an event is durable when the call that carried it returns.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import hashlib
import io
import json
import os
import platform
import pstats
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from json.encoder import encode_basestring  # type: ignore[attr-defined]
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import sqlalchemy as sa  # noqa: E402
from sqlalchemy import Engine  # noqa: E402

from airlock.config import load_settings  # noqa: E402
from airlock.services import open_storage  # noqa: E402
from airlock.settings import AirlockSettings  # noqa: E402
from audit import schema  # noqa: E402
from audit.chain import HASHED_FIELDS, canonical_json  # noqa: E402
from audit.events import Actor, AuditEvent  # noqa: E402
from audit.log import AuditLog, build_audit_log  # noqa: E402
from audit.reader import iter_rows  # noqa: E402
from audit.verify import verify_log  # noqa: E402
from tests.pgserver import ThrowawayPostgres, find_pg_bindir  # noqa: E402

AIRLOCK_BIN = Path(sys.executable).parent / "airlock"
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


# ---------------------------------------------------------------------------------------------
# Machine and report
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
    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    ram_gib = None
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram_gib = round(int(line.split()[1]) / 1024 / 1024, 1)
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
        "cpu_model": cpu,
        "cpu_cores": os.cpu_count(),
        "ram_gib": ram_gib,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "sqlalchemy": sa.__version__,
        "postgresql": pg_version,
        "workdir_filesystem": fs,
        "fsync_4k_ms": fsync_latency_ms(workdir),
    }


def print_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """A plain aligned table."""
    cells = [[str(h) for h in headers], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    for j, row in enumerate(cells):
        print("  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)))
        if j == 0:
            print("  ".join("-" * w for w in widths))


def report(results: dict[str, Any]) -> None:
    """Print the summary tables."""
    print("\nMachine:", json.dumps(results["machine"], indent=1))
    rows = [
        (
            r["backend"],
            r["durability"],
            r["batch"],
            r["events"],
            f"{r['seconds']:.2f}",
            f"{r['events_per_s']:,.0f}",
            r["call_ms_p50"],
            r["call_ms_p99"],
            "yes" if r["stopped_early"] else "",
        )
        for r in results["append"]
    ]
    print("\nAppend throughput (one process, each call commits before it returns)")
    print_table(
        [
            "backend",
            "durability",
            "batch",
            "events",
            "s",
            "events/s",
            "call p50 ms",
            "call p99 ms",
            "time-capped",
        ],
        rows,
    )
    if results["verify"]:
        print("\nVerify (pinned to one core)")
        print_table(
            [
                "backend",
                "events",
                "checkpoints",
                "fill events/s",
                "db MB",
                "CLI empty log s",
                "CLI s",
                "in-process s",
                "ok",
            ],
            [
                (
                    v["backend"],
                    f"{v['events']:,}",
                    v["checkpoints"],
                    f"{v['fill_events_per_s']:,.0f}",
                    f"{v['db_bytes'] / 1e6:.0f}" if v["db_bytes"] else "-",
                    f"{v['cli_empty_log_seconds']:.2f}",
                    " / ".join(f"{s:.2f}" for s in v["cli_seconds"]),
                    " / ".join(f"{s:.2f}" for s in v["inprocess_seconds"]),
                    v["cli_ok"] and v["inprocess_ok"],
                )
                for v in results["verify"]
            ],
        )


# ---------------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------------


def csv_list(kind: Callable[[str], Any]) -> Callable[[str], list[Any]]:
    """argparse type: comma-separated values."""
    return lambda text: [kind(part.strip()) for part in text.split(",") if part.strip()]


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=20_000, help="events per append run")
    parser.add_argument(
        "--batch",
        type=csv_list(int),
        default=[1, 100, 1000],
        help="append batch sizes (events per call), comma-separated",
    )
    parser.add_argument(
        "--backends", type=csv_list(str), default=["sqlite", "postgres"], help="sqlite,postgres"
    )
    parser.add_argument(
        "--sqlite-normal",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also run SQLite with synchronous=NORMAL (not power-loss durable)",
    )
    parser.add_argument(
        "--time-limit",
        type=float,
        default=60.0,
        help="cap one append run at this many seconds (reported as time-capped)",
    )
    parser.add_argument(
        "--verify-events",
        type=int,
        default=1_000_000,
        help="events to fill before timing verify (0: skip verify)",
    )
    parser.add_argument(
        "--verify-backends",
        type=csv_list(str),
        default=["sqlite", "postgres"],
        help="backends to run the verify benchmark on",
    )
    parser.add_argument("--fill-batch", type=int, default=10_000, help="batch size for the fill")
    parser.add_argument("--verify-repeat", type=int, default=2, help="timed verify runs each")
    parser.add_argument("--core", type=int, default=0, help="CPU core verify is pinned to")
    parser.add_argument(
        "--breakdown-rows",
        type=int,
        default=200_000,
        help="rows for the per-row cost breakdown (0: skip)",
    )
    parser.add_argument("--profile", action="store_true", help="cProfile one in-process verify")
    parser.add_argument("--workdir", type=Path, help="where stores go (default: a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the work dir")
    parser.add_argument(
        "--out",
        type=Path,
        default=REPO / "benchmarks/out/bench_audit.json",
        help="JSON results file",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark, print tables, write JSON."""
    args = parse_args(argv)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="airlock-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    backends = sorted(set(args.backends) | set(args.verify_backends if args.verify_events else []))
    stores = Stores(workdir, backends)
    results: dict[str, Any] = {
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "machine": machine_info(stores.pg, workdir),
        "append": [],
        "verify": [],
    }
    try:
        events = make_events(args.events + max(args.batch))
        for backend in args.backends:
            modes = ["FULL", "NORMAL"] if backend == "sqlite" and args.sqlite_normal else ["FULL"]
            for mode in modes:
                durability = (
                    f"synchronous={mode}"
                    if backend == "sqlite"
                    else "fsync=on, synchronous_commit=on"
                )
                for batch in args.batch:
                    settings = stores.settings(backend, f"append-{backend}-{mode}-{batch}", mode)
                    print(
                        f"[append/{backend}/{durability}] batch {batch}: "
                        f"{args.events:,} events ...",
                        flush=True,
                    )
                    result = run_append(
                        settings,
                        backend=backend,
                        durability=durability,
                        events=events[: args.events + batch],
                        batch=batch,
                        time_limit_s=args.time_limit,
                    )
                    print(
                        f"  {result.events:,} events in {result.seconds:.2f} s = "
                        f"{result.events_per_s:,.0f} events/s (call p50 "
                        f"{result.call_ms_p50} ms, p99 {result.call_ms_p99} ms)",
                        flush=True,
                    )
                    results["append"].append(asdict(result))
        if args.verify_events:
            for backend in args.verify_backends:
                verify = run_verify(
                    stores,
                    backend=backend,
                    count=args.verify_events,
                    fill_batch=args.fill_batch,
                    repeat=args.verify_repeat,
                    core=args.core,
                    profile=args.profile,
                    sample=args.breakdown_rows,
                )
                results["verify"].append(asdict(verify))
    finally:
        stores.close()
        if not args.keep and args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    results["finished"] = datetime.now(UTC).isoformat(timespec="seconds")
    report(results)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nresults written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
