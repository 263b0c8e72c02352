"""The durable work queue: tickets persisted as jobs, leased by workers, decided exactly once."""

from helpdesk.queue.errors import WorkQueueError
from helpdesk.queue.types import Job, JobRef, JobState, JobStatus, QueuedTicket, QueueStats
from helpdesk.queue.worker import Handler, WorkerReport, process_job, run_worker
from helpdesk.queue.workqueue import WorkQueue

__all__ = [
    "Handler",
    "Job",
    "JobRef",
    "JobState",
    "JobStatus",
    "QueueStats",
    "QueuedTicket",
    "WorkQueue",
    "WorkQueueError",
    "WorkerReport",
    "process_job",
    "run_worker",
]
