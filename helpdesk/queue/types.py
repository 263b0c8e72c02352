"""Values the work queue hands out: tickets to queue, job references, leased jobs, counts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

JobState = Literal["queued", "leased", "done", "dead"]


@dataclass(frozen=True)
class QueuedTicket:
    """A ticket version as received; `payload` (JSON values) is stored until erased."""

    tenant: str
    ticket_id: str
    version: str
    payload: Mapping[str, Any] = field(default_factory=dict)
    subject_id: str | None = None  # the customer the ticket concerns (found again by erasure)


@dataclass(frozen=True)
class JobRef:
    """The job of one ticket version; `created` is False when it was already queued."""

    job_id: str
    tenant: str
    ticket_id: str
    version: str
    state: JobState
    created: bool


@dataclass(frozen=True)
class Job:
    """A leased job: `owner` holds it for lease number `attempt` until `lease_expires_at`."""

    job_id: str
    tenant: str
    ticket_id: str
    version: str
    attempt: int
    max_attempts: int
    owner: str
    lease_expires_at: str
    payload: Mapping[str, Any] | None
    subject_id: str | None = None


@dataclass(frozen=True)
class DecisionKeys:
    """What repeat counting and erasure read beside a stored decision."""

    intent: str | None = None
    received_at: str | None = None  # the ticket's creation time, `format_ts` form
    action: str | None = None  # auto_reply | escalate | needs_info (analytics)


@dataclass(frozen=True)
class JobStatus:
    """Where a job stands (no payload: that is the data subject's)."""

    job_id: str
    state: JobState
    attempts: int
    max_attempts: int
    available_at: str
    lease_owner: str | None
    lease_expires_at: str | None
    last_error: str | None
    erased: bool


@dataclass(frozen=True)
class QueueStats:
    """Jobs per state; `expired` counts leased jobs whose lease has run out."""

    queued: int = 0
    leased: int = 0
    done: int = 0
    dead: int = 0
    expired: int = 0
