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
import json
import shutil
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCHMARKS = Path(__file__).resolve().parent
REPO = BENCHMARKS.parent
for _folder in (REPO, BENCHMARKS):  # the project's packages, then the sibling benchmark modules
    if str(_folder) not in sys.path:
        sys.path.insert(0, str(_folder))

from audit_runs import run_append, run_verify  # noqa: E402
from audit_workload import Stores, machine_info, make_events  # noqa: E402

# ---------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------


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
