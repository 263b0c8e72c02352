"""The durable work queue: tickets persisted as jobs, leased by workers, decided exactly once."""

from helpdesk.queue.errors import WorkQueueError
from helpdesk.queue.types import (
    DecisionKeys,
    Job,
    JobRef,
    JobState,
    JobStatus,
    QueuedTicket,
    QueueStats,
)
from helpdesk.queue.worker import AfterHook, Handler, Outcome, WorkerReport, process_job, run_worker
from helpdesk.queue.workqueue import WorkQueue

__all__ = [
    "AfterHook",
    "DecisionKeys",
    "Handler",
    "Job",
    "JobRef",
    "JobState",
    "JobStatus",
    "Outcome",
    "QueueStats",
    "QueuedTicket",
    "WorkQueue",
    "WorkQueueError",
    "WorkerReport",
    "process_job",
    "run_worker",
]
