"""The worker loop: lease a job, run the handler, complete it or fail it (logs job ids only)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

from airlock.errors import StorageError
from helpdesk.queue.errors import WorkQueueError
from helpdesk.queue.types import DecisionKeys, Job
from helpdesk.queue.workqueue import WorkQueue

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    """A handler's decision with the keys stored beside it (a plain mapping stores none)."""

    decision: Mapping[str, Any]
    keys: DecisionKeys


Handler = Callable[[Job], Mapping[str, Any] | Outcome]
# Called once a decision is stored (audit, write-back); its failure leaves the decision intact.
AfterHook = Callable[[Job, Outcome], None]


@dataclass(frozen=True)
class WorkerReport:
    """What one worker loop did: jobs leased, completed, failed, and completions refused."""

    leased: int = 0
    completed: int = 0
    failed: int = 0
    rejected: int = 0


def run_worker(
    queue: WorkQueue,
    handler: Handler,
    owner: str,
    *,
    lease_s: float = 60.0,
    poll_s: float = 1.0,
    stop_event: threading.Event | None = None,
    max_jobs: int | None = None,
    after: AfterHook | None = None,
    only: Collection[str] | None = None,
    drain: bool = False,
) -> WorkerReport:
    """Process jobs until `stop_event` is set, `max_jobs` were leased, or (`drain`) none is due.

    Storage errors raise.
    """
    stop = stop_event or threading.Event()
    counts = {"leased": 0, "completed": 0, "failed": 0, "rejected": 0}
    while not stop.is_set() and (max_jobs is None or counts["leased"] < max_jobs):
        job = queue.lease(owner, lease_s, only)
        if job is None:
            if drain:
                break
            stop.wait(poll_s)
            continue
        counts["leased"] += 1
        with LeaseHeartbeat(queue, job, lease_s):
            outcome = process_job(queue, handler, job, after)
        counts[outcome] += 1
    return WorkerReport(**counts)


class LeaseHeartbeat:
    """Extends a job's lease every third of `lease_s` while the handler works on it.

    A slow ticket (an LLM that takes minutes) keeps its lease however long it takes, and a
    worker that dies stops extending, so its job is taken over one lease later.
    """

    def __init__(self, queue: WorkQueue, job: Job, lease_s: float) -> None:
        self.queue, self.job, self.lease_s = queue, job, lease_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"lease-{job.job_id}", daemon=True)

    def __enter__(self) -> LeaseHeartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _beat(self) -> None:
        while not self._stop.wait(self.lease_s / 3):
            try:
                if not self.queue.extend(self.job, self.lease_s):
                    log.warning("lease lost", extra={"job_id": self.job.job_id})
                    return
            except (WorkQueueError, StorageError):  # the fence still keeps one decision
                log.warning("lease not extended", extra={"job_id": self.job.job_id})


def process_job(
    queue: WorkQueue, handler: Handler, job: Job, after: AfterHook | None = None
) -> str:
    """Run the handler on one leased job; 'completed', 'failed' or 'rejected' (lease lost)."""
    try:
        result = handler(job)
        outcome = result if isinstance(result, Outcome) else Outcome(result, DecisionKeys())
        if not queue.complete(job, outcome.decision, outcome.keys):
            return "rejected"
    except WorkQueueError as exc:  # the decision was not JSON: the handler's fault
        error = f"{type(exc).__name__}: {exc.message}"
    except Exception as exc:  # a handler failure must not stop the worker (a process edge)
        error = f"{type(exc).__name__}: {exc}"
    else:
        _run_after(after, job, outcome)
        return "completed"
    log.warning("handler failed", extra={"job_id": job.job_id, "attempt": job.attempt})
    return "failed" if queue.fail(job, error) is not None else "rejected"


def _run_after(after: AfterHook | None, job: Job, outcome: Outcome) -> None:
    """The after-hook; the decision is stored already, so its failure is logged, not retried."""
    if after is None:
        return
    try:
        after(job, outcome)
    except Exception as exc:  # a process edge: the worker goes on with the next job
        log.error("after-decision step failed", extra={"job_id": job.job_id, "error": repr(exc)})
