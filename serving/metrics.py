"""Prometheus metrics of text generation (one set per process, in the default registry)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

REQUESTS = Counter(
    "airlock_serving_requests",
    "Generation requests by engine and outcome (ok, error).",
    ["engine", "outcome"],
)
FAILOVERS = Counter(
    "airlock_serving_failovers",
    "Requests passed on from one engine to the next, by reason.",
    ["from_engine", "to_engine", "reason"],
)
TOKENS = Counter(
    "airlock_serving_tokens",
    "Tokens processed, by engine and kind (prompt, completion).",
    ["engine", "kind"],
)
TIME_TO_FIRST_TOKEN = Histogram(
    "airlock_serving_time_to_first_token_seconds",
    "Time from request to the first streamed text, by engine.",
    ["engine"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
RETRIES = Counter(
    "airlock_serving_retries",
    "Retries of an OpenAI-compatible endpoint before the first token, by reason.",
    ["engine", "reason"],
)
BREAKER_OPEN = Counter(
    "airlock_serving_breaker_opened",
    "Times an engine's circuit breaker opened.",
    ["engine"],
)
