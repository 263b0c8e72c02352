"""Timing the PII guard: latency on one core and throughput over worker processes."""

from __future__ import annotations

import statistics
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from airlock.config import load_settings
from airlock.offline import enforce_offline
from guardrails.pii.guard import PiiGuard, build_pii_guard

_worker_guard: PiiGuard | None = None


def sample_texts(rows: list[dict[str, Any]], chars: int, count: int = 300) -> list[str]:
    """`count` windows of `chars` characters over the rows' texts joined (wrapping around)."""
    pool = " ".join(row["text"].replace("\n", " ") for row in rows)
    pool = pool * (1 + (chars * count) // max(1, len(pool)))
    step = max(1, (len(pool) - chars) // count)
    return [pool[i * step : i * step + chars] for i in range(count)]


def measure_latency(guard: PiiGuard, texts: list[str]) -> dict[str, float]:
    """p50/p95 milliseconds of `analyze` per text, on this process's one core."""
    for text in texts[:10]:
        guard.analyze(text)  # warm up regex and suffix-list caches
    times = []
    for text in texts:
        started = time.perf_counter()
        guard.analyze(text)
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return {
        "chars": round(statistics.mean(len(t) for t in texts)),
        "texts": len(times),
        "p50_ms": round(statistics.median(times), 3),
        "p95_ms": round(times[max(0, int(len(times) * 0.95) - 1)], 3),
    }


def _start_worker(config: Path | None) -> None:
    global _worker_guard  # noqa: PLW0603 - one guard per worker process
    enforce_offline()
    _worker_guard = build_pii_guard(load_settings(config))


def _analyze_all(texts: list[str]) -> int:
    assert _worker_guard is not None
    return sum(len(_worker_guard.analyze(text)) for text in texts)


def measure_throughput(config: Path | None, texts: list[str], workers: int) -> dict[str, float]:
    """Texts per second with `workers` processes, each with its own guard (one per core)."""
    with ProcessPoolExecutor(workers, initializer=_start_worker, initargs=(config,)) as pool:
        list(pool.map(_analyze_all, [texts[:20]] * workers * 2))  # start and warm every worker
        batches = [texts[i :: workers * 4] for i in range(workers * 4)]
        started = time.perf_counter()
        list(pool.map(_analyze_all, batches))
        elapsed = time.perf_counter() - started
    return {
        "chars": round(statistics.mean(len(t) for t in texts)),
        "texts": len(texts),
        "workers": workers,
        "texts_per_s": round(len(texts) / elapsed, 1),
    }
