"""The worker loop: lease a job, run the handler, complete it or fail it (logs job ids only)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from helpdesk.queue.errors import WorkQueueError
from helpdesk.queue.types import Job
from helpdesk.queue.workqueue import WorkQueue

log = logging.getLogger(__name__)

Handler = Callable[[Job], Mapping[str, Any]]


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
) -> WorkerReport:
    """Process jobs until `stop_event` is set or `max_jobs` were leased; storage errors raise."""
    stop = stop_event or threading.Event()
    counts = {"leased": 0, "completed": 0, "failed": 0, "rejected": 0}
    while not stop.is_set() and (max_jobs is None or counts["leased"] < max_jobs):
        job = queue.lease(owner, lease_s)
        if job is None:
            stop.wait(poll_s)
            continue
        counts["leased"] += 1
        outcome = process_job(queue, handler, job)
        counts[outcome] += 1
    return WorkerReport(**counts)


def process_job(queue: WorkQueue, handler: Handler, job: Job) -> str:
    """Run the handler on one leased job; 'completed', 'failed' or 'rejected' (lease lost)."""
    try:
        decision = handler(job)
        if queue.complete(job, decision):
            return "completed"
        return "rejected"
    except WorkQueueError as exc:  # the decision was not JSON: the handler's fault
        error = f"{type(exc).__name__}: {exc.message}"
    except Exception as exc:  # a handler failure must not stop the worker (a process edge)
        error = f"{type(exc).__name__}: {exc}"
    log.warning("handler failed", extra={"job_id": job.job_id, "attempt": job.attempt})
    return "failed" if queue.fail(job, error) is not None else "rejected"
