"""Ticket pipeline benchmark: per-stage latency, `airlock tickets process` throughput and memory.

Targets (issue 6), 2 cores, extractive engine: everything except generation on a 1,000-character
ticket p50 <= 60 ms and p95 <= 120 ms; `airlock tickets process` >= 20 tickets/s on the examples
repeated to 2,000 tickets with flat memory; intent prediction p50 <= 10 ms per ticket.

Run from the repository root (on an otherwise idle machine):

    .venv/bin/python benchmarks/bench_pipeline.py [--tickets 2000] [--runs 200]

Latency: each example ticket's body is extended with the bodies of other tickets in its
language to exactly 1,000 characters (cut at a word), given a new id and customer, and run
through `TicketPipeline.process` one at a time after a warm-up (guards, intent, retrieval over
the sample knowledge base in Milvus Lite, extractive draft, output guards, decision). Every
latency ticket gets a reference number, so no embedding comes from the cache. Throughput: the
real command in a subprocess on a fresh data directory whose knowledge base holds examples/kb,
over examples/tickets.jsonl repeated with new ticket and customer ids, once as is (repeated
texts find their embeddings in the cache) and once with a reference number in every body (no
text repeats); its resident memory is sampled every 0.5 s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCHMARKS = Path(__file__).resolve().parent
REPO = BENCHMARKS.parent
for _folder in (REPO, BENCHMARKS):
    if str(_folder) not in sys.path:
        sys.path.insert(0, str(_folder))

from measure import machine_info, mib, percentile, print_table, proc_status  # noqa: E402

from airlock.config import load_settings  # noqa: E402
from airlock.offline import enforce_offline  # noqa: E402
from airlock.services import open_services, open_ticket_desk  # noqa: E402
from airlock.settings import AirlockSettings  # noqa: E402
from audit.events import Actor  # noqa: E402
from helpdesk.desk import TicketDesk  # noqa: E402
from helpdesk.tickets import Ticket  # noqa: E402
from rag.ingest import IngestTarget  # noqa: E402
from rag.loaders import load_paths  # noqa: E402
from rag.registry import open_knowledge_base  # noqa: E402

TICKETS = REPO / "examples" / "tickets.jsonl"
PACKAGES = ("torch", "sentence-transformers", "presidio-analyzer", "milvus-lite", "pymilvus")
TICKET_CHARS = 1000


def _rows() -> list[dict[str, Any]]:
    return [json.loads(line) for line in TICKETS.read_text(encoding="utf-8").splitlines()]


def long_tickets(rows: list[dict[str, Any]]) -> list[Ticket]:
    """Each example extended to TICKET_CHARS characters with bodies in its language."""
    tickets = []
    for index, row in enumerate(rows):
        language = row["customer"].get("language", "en")
        others = [r["body"] for r in rows if r["customer"].get("language", "en") == language]
        body, k = row["body"], index
        while len(body) < TICKET_CHARS:
            k += 1
            body = f"{body} {others[k % len(others)]}"
        body = body[:TICKET_CHARS].rsplit(" ", 1)[0]
        customer = {**row["customer"], "id": f"bench-{index}"}
        data = {**row, "id": f"L-{index}", "body": body, "customer": customer}
        tickets.append(Ticket.model_validate(data))
    return tickets


def unique(ticket: Ticket, n: int) -> Ticket:
    """The ticket with a reference number appended (a text never seen before)."""
    body = f"{ticket.body} (Ref. {n:05d})"
    return ticket.model_copy(update={"id": f"{ticket.id}-{n}", "body": body})


def prepare(data_dir: Path) -> AirlockSettings:
    """Settings on `data_dir` with examples/kb ingested for tenant demo."""
    settings = load_settings(overrides={"data_dir": str(data_dir)}, environ={})
    with (
        open_services(settings) as services,
        open_knowledge_base(settings, services.engine, services.audit) as kb,
    ):
        documents = load_paths([REPO / "examples" / "kb"]).documents
        kb.kb.ingest(documents, IngestTarget("demo"), Actor(subject="bench"))
    return settings


def measure_latency(desk: TicketDesk, tickets: list[Ticket], runs: int) -> dict[str, Any]:
    """Per-stage milliseconds over `runs` tickets (after a warm-up of 10)."""
    loop = asyncio.new_event_loop()
    try:
        for ticket in tickets[:10]:
            loop.run_until_complete(desk.pipeline.process(ticket))
        stages: dict[str, list[float]] = {}
        actions: dict[str, int] = {}
        for i in range(runs):
            # A reference number makes every text new: no embedding comes from the cache.
            ticket = unique(tickets[i % len(tickets)], i)
            record = loop.run_until_complete(desk.pipeline.process(ticket))
            actions[record.decision.action] = actions.get(record.decision.action, 0) + 1
            latency = dict(record.latency_ms)
            latency["total_without_generation"] = latency["total"] - latency.get("generate", 0.0)
            for stage, ms in latency.items():
                stages.setdefault(stage, []).append(ms)
    finally:
        loop.close()
    table = {
        stage: {f"p{q}": round(percentile(values, q), 1) for q in (50, 95, 99)} | {"n": len(values)}
        for stage, values in stages.items()
    }
    return {"stages": table, "actions": actions}


def measure_intents(desk: TicketDesk, tickets: list[Ticket], runs: int) -> dict[str, float]:
    """Intent prediction of one ticket at a time (embedding included)."""
    model = desk.pipeline.parts.intents
    times = []
    for i in range(runs):
        text = unique(tickets[i % len(tickets)], runs + i).get_text()
        started = time.perf_counter()
        model.predict([text])
        times.append((time.perf_counter() - started) * 1000)
    return {f"p{q}": round(percentile(times, q), 2) for q in (50, 95)}


def measure_throughput(
    settings: AirlockSettings, count: int, work: Path, *, distinct: bool
) -> dict[str, Any]:
    """The real `airlock tickets process` over `count` tickets, with its RSS sampled.

    `distinct`: each repetition's bodies get a reference number, so no text repeats (repeated
    texts find their embeddings in the cache; historical tickets rarely repeat word for word).
    """
    rows = _rows()
    source = work / f"tickets-{'distinct' if distinct else 'repeated'}.jsonl"
    with source.open("w", encoding="utf-8") as out:
        for n in range(count):
            row = rows[n % len(rows)]
            block = n // len(rows)
            customer = {**row["customer"], "id": f"{row['customer']['id']}-r{block}"}
            body = f"{row['body']} (Ref. {block:05d})" if distinct and row["body"] else row["body"]
            data = {**row, "id": f"{row['id']}-r{block}", "customer": customer, "body": body}
            out.write(json.dumps(data) + "\n")
    env = {**os.environ, "AIRLOCK__DATA_DIR": str(settings.data_dir)}
    command = [
        str(REPO / ".venv" / "bin" / "airlock"),
        "tickets",
        "process",
        "--input",
        str(source),
        "--output",
        str(work / f"decisions-{source.stem}.jsonl"),
        "--json",
    ]
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    samples = []
    while process.poll() is None:
        status = proc_status(process.pid)
        if "VmRSS" in status:
            samples.append((round(time.perf_counter() - started, 1), mib(status["VmRSS"])))
        time.sleep(0.5)
    wall = time.perf_counter() - started
    summary = json.loads(process.stdout.read() if process.stdout else b"{}")
    if process.returncode != 0:
        raise SystemExit(f"airlock tickets process failed with {process.returncode}")
    return {"wall_s": round(wall, 1), "summary": summary, "rss_mib": samples}


def main() -> None:
    """Run the three measurements and print them (JSON into benchmarks/out/)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    enforce_offline()
    result: dict[str, Any] = {"machine": machine_info(PACKAGES), "args": vars(args)}
    with tempfile.TemporaryDirectory(prefix="bench-pipeline-") as tmp:
        settings = prepare(Path(tmp) / "latency")
        tickets = long_tickets(_rows())
        with open_services(settings) as services, open_ticket_desk(services) as desk:
            result["latency"] = measure_latency(desk, tickets, args.runs)
            result["intent_ms"] = measure_intents(desk, tickets, args.runs)
        for name, distinct in (("throughput", False), ("throughput_distinct", True)):
            fresh = prepare(Path(tmp) / name)
            result[name] = measure_throughput(fresh, args.tickets, Path(tmp), distinct=distinct)
    report(result)
    out = BENCHMARKS / "out" / f"pipeline-{datetime.now(UTC):%Y%m%dT%H%M%S}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"\nwrote {out.relative_to(REPO)}")


def report(result: dict[str, Any]) -> None:
    """Tables for the three measurements."""
    stages = result["latency"]["stages"]
    print_table(
        ["stage (1,000-char tickets)", "p50 ms", "p95 ms", "p99 ms"],
        [[s, v["p50"], v["p95"], v["p99"]] for s, v in stages.items()],
    )
    print(f"actions: {result['latency']['actions']}")
    print(f"intent prediction per ticket: {result['intent_ms']}")
    for name in ("throughput", "throughput_distinct"):
        throughput = result[name]
        summary = throughput["summary"]
        rss = [mb for _, mb in throughput["rss_mib"]]
        print(
            f"{name}: {summary.get('decided')} decided in {summary.get('seconds')} s = "
            f"{summary.get('tickets_per_s')} tickets/s (with start-up {throughput['wall_s']} s)"
        )
        if rss:
            marks = [rss[len(rss) // 4], rss[len(rss) // 2], rss[3 * len(rss) // 4], rss[-1]]
            print(f"  RSS at 25/50/75/100 % of the run: {marks} MiB (peak {max(rss)})")


if __name__ == "__main__":
    main()
