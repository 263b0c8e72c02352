"""API benchmark: `airlock serve` on loopback under a load generator in another process.

Scenarios (issue 7):
- intake: POST /v1/tickets (async, 202) at a fixed concurrency; requests/s and latency;
- webhook: signed Zendesk deliveries from 50 concurrent senders; acknowledgement latency;
- wait: POST /v1/tickets?wait= end to end on the extractive engine; tickets/s and latency;
- soak: N tickets end to end; errors and the server's resident memory from start to end.

    .venv/bin/python benchmarks/bench_api.py --scenario all
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import hmac
import json
import multiprocessing
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import yaml
from keycloak import KeycloakOpenID

sys.path.insert(0, str(Path(__file__).resolve().parent))
from measure import mib, percentile, proc_status

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "benchmarks" / "out"
WEBHOOK_SECRET = "bench-zendesk-secret"
EXAMPLES = [
    json.loads(line) for line in (REPO / "examples" / "tickets.jsonl").open() if line.strip()
]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def write_config(data_dir: Path, issuer_port: int, workers: int) -> Path:
    """A YAML config: our data dir, the dev issuer on a known port, webhooks, roomy limits."""
    config = {
        "data_dir": str(data_dir),
        "log": {"level": "WARNING"},
        # One token for the whole run (the soak outlasts the default 300 s; the generator does
        # not measure token refresh).
        "auth": {"dev_issuer": {"port": issuer_port, "token_lifetime_s": 7200}},
        "api": {
            "workers": workers,
            "access_log": False,
            "rate_limits": {"ticketing-client": {"rate_per_s": 100000, "burst": 100000}},
            "webhooks": {"demo": {"system": "zendesk", "secret": WEBHOOK_SECRET}},
        },
    }
    path = data_dir / "bench.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def ingest_examples(config: Path) -> None:
    """examples/kb into tenant demo, by the CLI (what an operator would do)."""
    env = {**os.environ, "AIRLOCK_CONFIG": str(config)}
    subprocess.run(
        [
            str(REPO / ".venv/bin/airlock"),
            "kb",
            "ingest",
            str(REPO / "examples/kb"),
            "--tenant",
            "demo",
        ],
        env=env,
        check=True,
        capture_output=True,
    )


@contextmanager
def airlock_serve(config: Path, port: int) -> Iterator[subprocess.Popen[bytes]]:
    """`airlock serve` as its own process, until /healthz answers; stopped with SIGTERM."""
    env = {**os.environ, "AIRLOCK_CONFIG": str(config)}
    process = subprocess.Popen(
        [str(REPO / ".venv/bin/airlock"), "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.5)
    else:
        process.kill()
        raise SystemExit("airlock serve did not start")
    try:
        yield process
    finally:
        process.terminate()
        process.wait(timeout=120)


def fetch_token(issuer_port: int) -> str:
    keycloak = KeycloakOpenID(
        f"http://127.0.0.1:{issuer_port}/", "airlock", "ticketing-demo", "dev-ticketing-secret"
    )
    return str(keycloak.token(grant_type="client_credentials")["access_token"])


def ticket(number: int, *, distinct: bool) -> dict[str, Any]:
    """An example ticket under a new id; `distinct` makes its text new too (no cached vector)."""
    base = dict(EXAMPLES[number % len(EXAMPLES)])
    base.pop("version", None)
    base["id"] = f"B-{os.getpid()}-{number}"
    base["customer"] = {**base["customer"], "id": f"bench-{number}"}
    if distinct:
        base["body"] = f"{base.get('body', '')} (ref {number})"
    return base


def zendesk_delivery(number: int) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(
        {
            "ticket": {
                "id": os.getpid() * 1_000_000 + number,  # a new ticket per delivery
                "subject": "Where is my order?",
                "description": f"Order {number} has not arrived yet, can you check?",
                "requester_id": 700_000 + number,
            }
        }
    ).encode()
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    mac = hmac.new(WEBHOOK_SECRET.encode(), stamp.encode() + body, hashlib.sha256).digest()
    return body, {
        "X-Zendesk-Webhook-Signature": base64.b64encode(mac).decode(),
        "X-Zendesk-Webhook-Signature-Timestamp": stamp,
        "X-Zendesk-Webhook-Invocation-Id": f"inv-{os.getpid()}-{number}",
        "Content-Type": "application/json",
    }


async def drive(
    make: Callable[[httpx.AsyncClient, int], Any],
    concurrency: int,
    total: int | None,
    seconds: float,
    rate: float = 0.0,
) -> dict[str, Any]:
    """Closed loop (`concurrency` callers until `total` or `seconds`), or open loop at `rate`/s
    with at most `concurrency` connections."""
    latencies: list[float] = []
    statuses: Counter[str] = Counter()
    counter = iter(range(10**9))
    stop_at = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)

    async def caller(client: httpx.AsyncClient) -> None:
        while time.perf_counter() < stop_at:
            number = next(counter)
            if total is not None and number >= total:
                return
            started = time.perf_counter()
            try:
                response = await make(client, number)
                statuses[str(response.status_code)] += 1
            except httpx.HTTPError as exc:
                statuses[type(exc).__name__] += 1
                continue
            latencies.append((time.perf_counter() - started) * 1000)

    async def paced(client: httpx.AsyncClient, rate: float) -> None:
        """Open loop: request n is sent at start + n / rate, whatever earlier ones take."""
        begin = time.perf_counter()
        pending: set[asyncio.Task[None]] = set()

        async def one(number: int) -> None:
            started = time.perf_counter()
            try:
                response = await make(client, number)
                statuses[str(response.status_code)] += 1
            except httpx.HTTPError as exc:
                statuses[type(exc).__name__] += 1
                return
            latencies.append((time.perf_counter() - started) * 1000)

        number = 0
        while time.perf_counter() < stop_at:
            delay = begin + number / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            task = asyncio.create_task(one(number))
            pending.add(task)
            task.add_done_callback(pending.discard)
            number += 1
        await asyncio.gather(*pending)

    async with httpx.AsyncClient(limits=limits, timeout=120) as client:
        started = time.perf_counter()
        if rate:
            await paced(client, rate)
        else:
            await asyncio.gather(*(caller(client) for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return {
        "requests": len(latencies),
        "seconds": round(elapsed, 2),
        "rps": round(len(latencies) / elapsed, 1),
        "p50_ms": round(percentile(latencies, 50), 1),
        "p95_ms": round(percentile(latencies, 95), 1),
        "p99_ms": round(percentile(latencies, 99), 1),
        "statuses": dict(statuses),
    }


def check_statuses(row: dict[str, Any]) -> None:
    """A benchmark of refusals measures nothing: stop when a request was not accepted."""
    refused = {status: n for status, n in row["statuses"].items() if status not in ("200", "202")}
    if refused:
        raise SystemExit(f"requests not accepted in {row['scenario']}/{row['load']}: {refused}")


def run_load(kind: str, base: str, token: str, options: dict[str, Any]) -> dict[str, Any]:
    """One scenario's load, in this (separate) process."""
    auth = {"Authorization": f"Bearer {token}"}

    async def intake(client: httpx.AsyncClient, n: int) -> httpx.Response:
        return await client.post(f"{base}/v1/tickets", json=ticket(n, distinct=True), headers=auth)

    async def webhook(client: httpx.AsyncClient, n: int) -> httpx.Response:
        body, headers = zendesk_delivery(n)
        return await client.post(
            f"{base}/v1/webhooks/zendesk?tenant=demo", content=body, headers=headers
        )

    async def wait(client: httpx.AsyncClient, n: int) -> httpx.Response:
        return await client.post(
            f"{base}/v1/tickets", params={"wait": 60}, json=ticket(n, distinct=True), headers=auth
        )

    make = {"intake": intake, "webhook": webhook, "wait": wait}[kind]
    return asyncio.run(
        drive(
            make,
            options["concurrency"],
            options.get("total"),
            options["seconds"],
            options.get("rate", 0.0),
        )
    )


def in_child(kind: str, base: str, token: str, options: dict[str, Any]) -> dict[str, Any]:
    """Run the load generator in its own process (the server keeps its own cores' worth)."""
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(run_load, (kind, base, token, options))


@contextmanager
def sample_rss(pid: int, every_s: float = 5.0) -> Iterator[list[float]]:
    """The server's resident memory (MiB) every few seconds while the block runs."""
    samples: list[float] = []
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(every_s):
            samples.append(mib(proc_status(pid).get("VmRSS", 0)))

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield samples
    finally:
        stop.set()
        thread.join()


def scenario(
    name: str, workers: int, load: list[tuple[str, dict[str, Any]]]
) -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory(prefix="bench-api-") as tmp:
        issuer_port, port = free_port(), free_port()
        config = write_config(Path(tmp), issuer_port, workers)
        ingest_examples(config)
        with airlock_serve(config, port) as server:
            base, token = f"http://127.0.0.1:{port}", fetch_token(issuer_port)
            rows = []
            for kind, options in load:
                before = proc_status(server.pid).get("VmRSS", 0)
                with sample_rss(server.pid) as samples:
                    result = in_child(kind, base, token, options)
                after = proc_status(server.pid).get("VmRSS", 0)
                row = {"scenario": name, "load": kind, "workers": workers, **options, **result}
                row["rss_start_mib"], row["rss_end_mib"] = mib(before), mib(after)
                row["rss_samples_mib"] = samples[:: max(1, len(samples) // 12)]
                print(json.dumps(row), flush=True)
                check_statuses(row)
                rows.append(row)
            return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--scenario", choices=["intake", "webhook", "wait", "soak", "all"], default="all"
    )
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--soak-tickets", type=int, default=10_000)
    args = parser.parse_args()
    wanted = {"intake", "webhook", "wait", "soak"} if args.scenario == "all" else {args.scenario}
    rows: list[dict[str, Any]] = []
    warm = ("intake", {"concurrency": 4, "seconds": 3.0})
    if "intake" in wanted:
        paced = [
            ("intake", {"concurrency": 64, "rate": r, "seconds": args.seconds})
            for r in (100, 200, 300)
        ]
        closed = [("intake", {"concurrency": c, "seconds": args.seconds}) for c in (8, 32)]
        rows += scenario("intake", 0, [warm, *paced, *closed])
    if "webhook" in wanted:
        senders = [("webhook", {"concurrency": 4, "seconds": 3.0})]
        senders += [
            ("webhook", {"concurrency": 50, "rate": r, "seconds": args.seconds}) for r in (100, 200)
        ]
        senders.append(("webhook", {"concurrency": 50, "seconds": args.seconds}))
        rows += scenario("webhook", 0, senders)
    if "wait" in wanted:
        rows += scenario(
            "wait",
            1,
            [
                ("wait", {"concurrency": 2, "seconds": 5.0}),
                *[("wait", {"concurrency": c, "seconds": args.seconds * 2}) for c in (4, 8)],
            ],
        )
    if "soak" in wanted:
        rows += scenario(
            "soak", 1, [("wait", {"concurrency": 8, "seconds": 3600.0, "total": args.soak_tickets})]
        )
    OUT.mkdir(exist_ok=True)
    (OUT / "bench_api.json").write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
