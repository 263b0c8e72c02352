"""Latency of intent prediction, one ticket per call on one CPU thread (not a test).

Run: python -m helpdesk.intents.benchmark --data FILE [--model DIR] [--tickets 300]
Prints p50/p95 per ticket, the per-ticket cost in batches of 32, and the load average.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path
from typing import Any

from helpdesk.intents.data import read_labelled
from helpdesk.intents.manifest import load_intent_model
from helpdesk.intents.model import DEFAULT_MODEL_DIR, IntentModel

BATCH = 32


def measure(model: IntentModel, texts: list[str]) -> dict[str, Any]:
    """Per-ticket latency of single calls, and per-ticket cost of batched calls, in ms."""
    model.predict(texts[:5])  # warm-up: first calls allocate
    samples = []
    for text in texts:
        started = time.perf_counter()
        model.predict([text])
        samples.append((time.perf_counter() - started) * 1000)
    ordered = sorted(samples)
    started = time.perf_counter()
    for start in range(0, len(texts), BATCH):
        model.predict(texts[start : start + BATCH])
    batched = (time.perf_counter() - started) * 1000 / len(texts)
    return {
        "tickets": len(texts),
        "p50_ms": round(statistics.median(ordered), 2),
        "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))], 2),
        f"batch{BATCH}_ms_per_ticket": round(batched, 2),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def main(argv: list[str] | None = None) -> None:
    """Command line: print the latency figures as JSON."""
    import torch

    from airlock.config import load_settings
    from airlock.offline import enforce_offline
    from models.embedder import load_embedder

    parser = argparse.ArgumentParser(prog="python -m helpdesk.intents.benchmark")
    parser.add_argument("--data", type=Path, required=True, help="labelled JSONL (texts used)")
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL_DIR)
    parser.add_argument("--tickets", type=int, default=300)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--config", type=Path, default=None)
    args = parser.parse_args(argv)
    enforce_offline()
    torch.set_num_threads(args.threads)
    model = load_intent_model(args.model, load_embedder(load_settings(args.config)))
    texts = [row["text"] for row in read_labelled(args.data)][: args.tickets]
    print(json.dumps({"threads": args.threads, **measure(model, texts)}, indent=2))


if __name__ == "__main__":
    main()
