"""Latency of the injection guard on ~1,000-character tickets, one CPU thread (not a test).

Run: python -m guardrails.injection.benchmark --data FILE[:FIELD]... [--tickets 300]
Tickets are built by joining texts of the given files until they reach --chars characters.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from pathlib import Path

from guardrails.injection.dataset import parse_benign_spec


def build_tickets(specs: list[str], count: int, chars: int, seed: int) -> list[str]:
    """`count` texts of about `chars` characters, each a join of random corpus texts."""
    texts: list[str] = []
    for spec in specs:
        path, field = parse_benign_spec(spec)
        lines = path.read_text(encoding="utf-8").splitlines()
        texts += [json.loads(line)[field] for line in lines if line.strip()]
    rnd = random.Random(seed)
    tickets = []
    for _ in range(count):
        parts = ["Hello support team,"]
        while sum(len(part) + 1 for part in parts) < chars:
            parts.append(rnd.choice(texts).strip())
        tickets.append(" ".join(parts)[:chars])
    return tickets


def _percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": round(statistics.median(ordered), 2),
        "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))], 2),
        "max_ms": round(ordered[-1], 2),
    }


def main(argv: list[str] | None = None) -> None:
    """Print p50/p95 latency of `score` per ticket, and how often the embedding head ran."""
    import torch

    from airlock.config import load_settings
    from airlock.offline import enforce_offline
    from guardrails.injection.guard import build_injection_guard

    parser = argparse.ArgumentParser(prog="python -m guardrails.injection.benchmark")
    parser.add_argument("--data", nargs="+", required=True, metavar="FILE[:FIELD]")
    parser.add_argument("--tickets", type=int, default=300)
    parser.add_argument("--chars", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--config", type=Path, default=None)
    args = parser.parse_args(argv)
    enforce_offline()
    torch.set_num_threads(args.threads)
    guard = build_injection_guard(load_settings(args.config))
    tickets = build_tickets(args.data, args.tickets, args.chars, seed=0)
    for ticket in tickets[:10]:  # warm-up: first calls pay for lazy initialisation
        guard.score(ticket)
    timings, embedded = [], 0
    for ticket in tickets:
        started = time.perf_counter()
        result = guard.assess_many([ticket])[0]
        timings.append((time.perf_counter() - started) * 1000)
        embedded += result.embedded
    report = {
        "tickets": len(tickets),
        "chars": args.chars,
        "threads": args.threads,
        **_percentiles(timings),
        "embedded_share": round(embedded / len(tickets), 3),
    }
    print(json.dumps(report))


if __name__ == "__main__":
    main()
