"""Load generation: closed loop (N concurrent callers) and open loop (Poisson arrivals)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import numpy as np

from gpu_bench.records import RequestRecord

log = logging.getLogger(__name__)

T = TypeVar("T")
# (workload item, phase, request id) -> record; a sender never raises by contract.
Send = Callable[[T, str, str], Awaitable[RequestRecord]]
WARMUP_PHASE = "warmup"
CPU_WARN_PERCENT = 80.0  # above this the client, not the server, may be the bottleneck
MAX_OPEN_WARMUP_CONCURRENCY = 8
PhaseWork = Callable[[], Coroutine[Any, Any, None]]


class RunControl:
    """A stop flag: set it (e.g. from a signal handler) and the run returns what it has."""

    def __init__(self) -> None:
        self.stopped = False
        self._event: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def stop(self) -> None:
        """Stop sending; in-flight requests are cancelled and not recorded."""
        self.stopped = True
        if self._event is not None and self._loop is not None:
            # Wakes the loop even when called from a signal handler between its steps; a closed
            # loop has nobody waiting.
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self._event.set)

    async def wait(self) -> None:
        """Return once `stop` has been called."""
        if self._event is None:
            self._event = asyncio.Event()
            self._loop = asyncio.get_running_loop()
        if not self.stopped:
            await self._event.wait()


@dataclass(frozen=True)
class Progress:
    """Counts of the phase so far, for a live display."""

    phase: str
    sent: int
    done: int
    errors: int
    output_tokens: int
    elapsed_s: float

    @property
    def request_rate(self) -> float:
        """Completed requests per second."""
        return self.done / self.elapsed_s if self.elapsed_s > 0 else 0.0

    @property
    def output_token_rate(self) -> float:
        """Output tokens per second of completed requests."""
        return self.output_tokens / self.elapsed_s if self.elapsed_s > 0 else 0.0


@dataclass(frozen=True)
class LoadResult:
    """The records of a run (warmup first), whether it was cut short, and the client's cost."""

    records: list[RequestRecord]
    partial: bool  # stopped or cancelled before the plan was done
    wall_s: float  # measured phase only
    client_cpu_s: float  # process CPU time over the measured phase

    @property
    def client_cpu_percent(self) -> float:
        """Client CPU over the measured phase, in percent of one core."""
        return 100.0 * self.client_cpu_s / self.wall_s if self.wall_s > 0 else 0.0

    @property
    def client_saturated(self) -> bool:
        """Whether the client was busy enough to distort the measurement."""
        return self.client_cpu_percent > CPU_WARN_PERCENT


class _Budget:
    """Which requests may still start: a count, a deadline, the stop flag."""

    def __init__(self, count: int | None, duration_s: float | None, control: RunControl) -> None:
        self.left = count
        self.deadline = None if duration_s is None else time.perf_counter() + duration_s
        self.control = control

    def take(self, at: float | None = None) -> bool:
        """Claim one request starting at `at` (now by default); False when none is left."""
        moment = time.perf_counter() if at is None else at
        if self.control.stopped or (self.deadline is not None and moment >= self.deadline):
            return False
        if self.left is not None:
            if self.left <= 0:
                return False
            self.left -= 1
        return True


class _Run(Generic[T]):
    """One run over a workload: cycles the items, numbers the requests, keeps the records."""

    def __init__(
        self,
        items: Sequence[T],
        send: Send[T],
        *,
        control: RunControl,
        progress: Callable[[Progress], None] | None,
        id_prefix: str | None,
        progress_interval_s: float = 1.0,
    ) -> None:
        if not items:
            raise ValueError("the workload has no items")
        self.items, self.send, self.control = items, send, control
        self.progress, self.interval = progress, progress_interval_s
        # Run-unique request ids, so that they join with the server's logs across runs.
        self.id_prefix = id_prefix or f"gb-{uuid.uuid4().hex[:8]}"
        self.records: list[RequestRecord] = []
        self.issued = 0
        self.counts = {"sent": 0, "done": 0, "errors": 0, "output_tokens": 0}
        self.phase, self.phase_start, self.last_report = "", 0.0, 0.0

    def begin(self, phase: str) -> None:
        """Reset the live counts for a new phase."""
        self.phase, self.phase_start = phase, time.perf_counter()
        self.last_report = self.phase_start
        self.counts = dict.fromkeys(self.counts, 0)

    async def one(self, phase: str) -> None:
        """Send the next item and keep its record."""
        item = self.items[self.issued % len(self.items)]
        request_id = f"{self.id_prefix}-{self.issued}"
        self.issued += 1
        self.counts["sent"] += 1
        try:
            record = await self.send(item, phase, request_id)
        except Exception as exc:  # a sender bug must not end the run: count it as an error
            log.exception("sender raised for request %s", request_id)
            record = RequestRecord(
                request_id, phase, "", 0.0, "error", error_kind="other", error=repr(exc)[:200]
            )
        self.records.append(record)
        self.counts["done"] += 1
        self.counts["errors"] += record.status == "error"
        self.counts["output_tokens"] += record.output_tokens or 0
        if time.perf_counter() - self.last_report >= self.interval:
            self.report()

    def report(self) -> None:
        """Call the progress callback with the counts so far."""
        now = time.perf_counter()
        self.last_report = now
        if self.progress is not None:
            self.progress(Progress(self.phase, elapsed_s=now - self.phase_start, **self.counts))

    async def closed(self, phase: str, concurrency: int, budget: _Budget) -> None:
        """`concurrency` callers, each sending its next request when the last one returns."""

        async def caller() -> None:
            """One user: a request, its answer, the next request."""
            while budget.take():
                await self.one(phase)

        await asyncio.gather(*(caller() for _ in range(concurrency)))

    async def open(
        self, phase: str, rate: float, seed: int, budget: _Budget, limit: int | None
    ) -> None:
        """Poisson arrivals at `rate` per second (all at once for an infinite rate)."""
        rng = np.random.default_rng(seed)
        gate = asyncio.Semaphore(limit) if limit else None
        tasks: set[asyncio.Task[None]] = set()
        start, offset = time.perf_counter(), 0.0
        try:
            while budget.take(start + offset):
                delay = start + offset - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                tasks.add(asyncio.create_task(self.gated(phase, gate)))
                if math.isfinite(rate):
                    offset += float(rng.exponential(1.0 / rate))
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def gated(self, phase: str, gate: asyncio.Semaphore | None) -> None:
        """One request, waiting for a slot when the open loop caps concurrency."""
        async with gate or contextlib.nullcontext():
            await self.one(phase)

    async def race(self, work: Coroutine[Any, Any, None]) -> None:
        """Run a phase until it ends, the control stops it, or the caller is cancelled."""
        work_task = asyncio.ensure_future(work)
        stop_task = asyncio.ensure_future(self.control.wait())
        try:
            await asyncio.wait({work_task, stop_task}, return_when=asyncio.FIRST_COMPLETED)
        except (asyncio.CancelledError, KeyboardInterrupt):
            log.warning("load run interrupted: keeping the %d records so far", len(self.records))
            self.control.stop()
        finally:
            for task in (work_task, stop_task):
                task.cancel()
            outcome = await asyncio.gather(work_task, stop_task, return_exceptions=True)
        self.report()
        failure = outcome[0]
        if isinstance(failure, Exception):
            raise failure

    async def execute(
        self, phase: str, measured: PhaseWork, *, warmup: int, warm_concurrency: int
    ) -> LoadResult:
        """Closed-loop warmup, then the measured phase timed for wall clock and client CPU."""
        if warmup:
            self.begin(WARMUP_PHASE)
            budget = _Budget(warmup, None, self.control)
            await self.race(self.closed(WARMUP_PHASE, max(1, warm_concurrency), budget))
        wall, cpu = time.perf_counter(), time.process_time()
        if not self.control.stopped:
            self.begin(phase)
            await self.race(measured())
        return LoadResult(
            records=self.records,
            partial=self.control.stopped,
            wall_s=time.perf_counter() - wall,
            client_cpu_s=time.process_time() - cpu,
        )


def _check_plan(num_requests: int | None, duration_s: float | None, warmup: int) -> None:
    """ValueError for a plan that would never end or makes no sense."""
    if num_requests is None and duration_s is None:
        raise ValueError("give num_requests or duration_s (or both: whichever ends first)")
    if num_requests is not None and num_requests < 1:
        raise ValueError(f"num_requests must be at least 1, not {num_requests}")
    if duration_s is not None and duration_s <= 0:
        raise ValueError(f"duration_s must be positive, not {duration_s}")
    if warmup < 0:
        raise ValueError(f"warmup must be 0 or more, not {warmup}")


async def run_closed(
    items: Sequence[T],
    send: Send[T],
    *,
    concurrency: int,
    phase: str,
    num_requests: int | None = None,
    duration_s: float | None = None,
    warmup: int = 0,
    control: RunControl | None = None,
    progress: Callable[[Progress], None] | None = None,
    id_prefix: str | None = None,
) -> LoadResult:
    """A closed-loop run: `concurrency` callers until `num_requests` or `duration_s`."""
    _check_plan(num_requests, duration_s, warmup)
    if concurrency < 1:
        raise ValueError(f"concurrency must be at least 1, not {concurrency}")
    control = control or RunControl()
    run = _Run(items, send, control=control, progress=progress, id_prefix=id_prefix)
    return await run.execute(
        phase,
        lambda: run.closed(phase, concurrency, _Budget(num_requests, duration_s, control)),
        warmup=warmup,
        warm_concurrency=min(warmup, concurrency),
    )


async def run_open(
    items: Sequence[T],
    send: Send[T],
    *,
    rate: float,
    phase: str,
    seed: int = 0,
    num_requests: int | None = None,
    duration_s: float | None = None,
    warmup: int = 0,
    control: RunControl | None = None,
    progress: Callable[[Progress], None] | None = None,
    id_prefix: str | None = None,
    max_concurrency: int | None = None,
) -> LoadResult:
    """An open-loop run: Poisson arrivals at `rate` req/s (seeded) whatever the latency."""
    _check_plan(num_requests, duration_s, warmup)
    if not rate > 0:
        raise ValueError(f"rate must be positive, not {rate}")
    if math.isinf(rate) and num_requests is None:
        raise ValueError("rate=inf sends everything at once: it needs num_requests")
    control = control or RunControl()
    run = _Run(items, send, control=control, progress=progress, id_prefix=id_prefix)
    return await run.execute(
        phase,
        lambda: run.open(
            phase, rate, seed, _Budget(num_requests, duration_s, control), max_concurrency
        ),
        warmup=warmup,
        warm_concurrency=min(warmup, MAX_OPEN_WARMUP_CONCURRENCY),
    )
