"""Prometheus metrics of the API: requests, ticket decisions, the queue (one registry per app)."""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Iterator

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import generate_latest
from prometheus_client.registry import Collector
from sqlalchemy.exc import SQLAlchemyError

from airlock.errors import StorageError
from helpdesk.policy.reasons import reason_kinds
from helpdesk.queue.workqueue import WorkQueue
from helpdesk.record import DecisionRecord

log = logging.getLogger(__name__)

# Request latency buckets fit sub-second SLOs; ticket stages may take tens of seconds on CPU.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
STAGE_BUCKETS = (*LATENCY_BUCKETS, 30, 60)
DRAFT_CHAR_BUCKETS = (100, 250, 500, 1000, 2000, 4000, 8000)
CITATION_BUCKETS = (0, 1, 2, 3, 5, 8)
SCORE_BUCKETS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
AUDIT_RESULTS = ("intact", "broken", "error")
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "unmatched"  # the route label of requests no route matched (bounded cardinality)
QUEUE_STATES = ("queued", "leased", "done", "dead")


class ApiMetrics:
    """The API's metrics in a registry of their own (apps and tests do not collide)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        registry = self.registry
        self.requests = Histogram(
            "airlock_http_request_duration_seconds",
            "Request latency by method, route template and status class (2xx, 4xx...).",
            ["method", "route", "status"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.in_flight = Gauge(
            "airlock_http_requests_in_flight", "Requests being handled now.", registry=registry
        )
        self.decided = Counter(
            "airlock_tickets_decided",
            "Ticket versions decided, by action, intent and tenant.",
            ["action", "intent", "tenant"],
            registry=registry,
        )
        self.escalations = Counter(
            "airlock_ticket_escalations",
            "Escalated ticket versions, by kind of reason (one ticket may count under several).",
            ["reason"],
            registry=registry,
        )
        self.guard_flags = Counter(
            "airlock_guard_flags",
            "Flags raised by guards on decided tickets, by guard, stage (input, output) and flag.",
            ["guard", "stage", "flag"],
            registry=registry,
        )
        self._domain(registry)
        self._retrieval_and_audit(registry)
        self._request_children: dict[tuple[str, str, str], Histogram] = {}
        self._queue: QueueCollector | None = None

    def _domain(self, registry: CollectorRegistry) -> None:
        """The metrics of drafting and of the pipeline's stages."""
        self.drafts = Counter(
            "airlock_ticket_drafts",
            "Drafts written for tickets, by the engine that wrote them.",
            ["engine"],
            registry=registry,
        )
        self.failovers = Counter(
            "airlock_ticket_engine_failovers",
            "Engines that failed while drafting and were passed over, by failed engine.",
            ["engine"],
            registry=registry,
        )
        self.tokens = Counter(
            "airlock_ticket_llm_tokens",
            "Tokens of ticket drafts, by engine and kind (prompt, completion).",
            ["engine", "kind"],
            registry=registry,
        )
        self.draft_chars = Histogram(
            "airlock_ticket_draft_chars",
            "Length of ticket drafts in characters (engines that report no token usage too).",
            buckets=DRAFT_CHAR_BUCKETS,
            registry=registry,
        )
        self.stages = Histogram(
            "airlock_ticket_stage_duration_seconds",
            "Time per pipeline stage of decided tickets (retrieve, generate, total...).",
            ["stage"],
            buckets=STAGE_BUCKETS,
            registry=registry,
        )

    def _retrieval_and_audit(self, registry: CollectorRegistry) -> None:
        """What retrieval gave the drafts, and the audit chain's last verification."""
        self.citations = Histogram(
            "airlock_ticket_citations",
            "Knowledge-base passages cited per decided ticket version (0: no grounded draft).",
            buckets=CITATION_BUCKETS,
            registry=registry,
        )
        self.top_score = Histogram(
            "airlock_ticket_top_citation_score",
            "Retrieval score of the best passage cited by a draft (0..1).",
            buckets=SCORE_BUCKETS,
            registry=registry,
        )
        self.audit_verifications = Counter(
            "airlock_audit_verifications",
            "Verifications of the audit chain by result (intact, broken, error).",
            ["result"],
            registry=registry,
        )
        self.audit_intact = Gauge(
            "airlock_audit_chain_intact",
            "1 when the last verification found the audit chain intact, 0 when it was broken.",
            registry=registry,
        )
        self.audit_verified_at = Gauge(
            "airlock_audit_last_verification_timestamp_seconds",
            "Unix time of the last completed verification of the audit chain.",
            registry=registry,
        )
        for result in AUDIT_RESULTS:  # every series exists from the start (alerts see zero)
            self.audit_verifications.labels(result)
        # No verdict before the first verification: NaN matches neither `== 0` nor staleness.
        self.audit_intact.set(math.nan)
        self.audit_verified_at.set(math.nan)

    def observe_audit_verification(self, result: str, at: float) -> None:
        """A verification of the audit chain finished (`error`: it could not be read)."""
        self.audit_verifications.labels(result).inc()
        if result != "error":
            self.audit_intact.set(1 if result == "intact" else 0)
            self.audit_verified_at.set(at)

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        """One finished request (cheap: label children are cached)."""
        key = (method if method in METHODS else "other", route, f"{status // 100}xx")
        child = self._request_children.get(key)
        if child is None:
            child = self._request_children.setdefault(key, self.requests.labels(*key))
        child.observe(seconds)

    def observe_decision(self, record: DecisionRecord, job_id: str) -> None:
        """A desk listener: count a stored decision (called from worker threads)."""
        action = record.decision.action
        intent = record.intent.label if record.intent is not None else "none"
        self.decided.labels(action, intent, record.tenant).inc()
        if action == "escalate":
            for kind in reason_kinds(record.decision.reasons):
                self.escalations.labels(kind).inc()
        for stage, guards in (("input", record.input_guards), ("output", record.output_guards)):
            for guard in guards:
                for flag in guard.flags:
                    self.guard_flags.labels(guard.guard, stage, flag).inc()
        for stage, ms in record.latency_ms.items():
            self.stages.labels(stage).observe(ms / 1000)
        engine = record.engine
        if engine is not None:
            self.drafts.labels(engine.name).inc()
            for failed in engine.failovers:
                self.failovers.labels(failed).inc()
            if engine.prompt_tokens or engine.completion_tokens:
                self.tokens.labels(engine.name, "prompt").inc(engine.prompt_tokens)
                self.tokens.labels(engine.name, "completion").inc(engine.completion_tokens)
        if record.draft is not None:
            self.draft_chars.observe(len(record.draft))
        self.citations.observe(len(record.citations))
        if record.citations:
            self.top_score.observe(max(c.score for c in record.citations))

    def watch_queue(self, queue: WorkQueue) -> None:
        """Report the queue's depth at each scrape (replaces a queue watched before)."""
        if self._queue is not None:
            self.registry.unregister(self._queue)
        self._queue = QueueCollector(queue)
        self.registry.register(self._queue)

    def render(self) -> bytes:
        """The text exposition: this app's metrics, then the process-wide ones (serving's)."""
        return generate_latest(self.registry) + generate_latest(REGISTRY)


class QueueCollector(Collector):
    """Jobs per state and the oldest due job's age, read from the database at scrape time."""

    def __init__(self, queue: WorkQueue) -> None:
        self.queue = queue

    def describe(self) -> Iterable[Metric]:
        """The families this collector yields (without querying)."""
        return list(self._families(None))

    def collect(self) -> Iterable[Metric]:
        """Query the queue; a failing database gives airlock_queue_up 0, not a failed scrape."""
        try:
            reading = self._read()
        except (StorageError, SQLAlchemyError) as exc:
            log.warning("queue metrics unavailable", extra={"error": type(exc).__name__})
            reading = None
        return list(self._families(reading))

    def _read(self) -> tuple[dict[str, int], int, float]:
        stats = self.queue.stats()
        age = self.queue.get_oldest_due_age_s()
        counts = {state: int(getattr(stats, state)) for state in QUEUE_STATES}
        return counts, stats.expired, age

    def _families(self, reading: tuple[dict[str, int], int, float] | None) -> Iterator[Metric]:
        depth = GaugeMetricFamily("airlock_queue_jobs", "Jobs per state.", labels=["state"])
        expired = GaugeMetricFamily(
            "airlock_queue_expired_leases", "Leased jobs whose lease has run out."
        )
        oldest = GaugeMetricFamily(
            "airlock_queue_oldest_queued_age_seconds",
            "How long the oldest due queued job has waited (0 when none waits).",
        )
        up = GaugeMetricFamily("airlock_queue_up", "1 when the queue could be read.")
        if reading is not None:
            counts, expired_count, age = reading
            for state in QUEUE_STATES:
                depth.add_metric([state], counts[state])
            expired.add_metric([], expired_count)
            oldest.add_metric([], age)
        up.add_metric([], 1 if reading is not None else 0)
        yield from (depth, expired, oldest, up)
