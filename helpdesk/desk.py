"""The help desk: tickets accepted durably, worked off the queue, decisions audited."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Connection

from airlock.settings_helpdesk import HelpdeskSettings
from audit.events import Actor, AuditEvent
from audit.log import AuditLog
from helpdesk.errors import TicketError
from helpdesk.escalations import EscalationQueue
from helpdesk.pipeline import TicketPipeline
from helpdesk.queue import (
    DecisionKeys,
    Job,
    JobRef,
    Outcome,
    QueuedTicket,
    WorkerReport,
    WorkQueue,
    run_worker,
)
from helpdesk.record import DecisionRecord
from helpdesk.tickets import Ticket, ticket_payload

log = logging.getLogger(__name__)

WORKER = Actor(subject="service:helpdesk-worker", client_id="airlock-worker")
# Called with each stored record, after it is audited (write-back to a ticketing system).
Deliver = Callable[[DecisionRecord], None]
# Told of each stored decision with its job id (escalation queue, waiting API requests).
Listener = Callable[[DecisionRecord, str], None]


class TicketDesk:
    """Accepts tickets (stored before acknowledgement) and decides them through the pipeline."""

    def __init__(
        self,
        pipeline: TicketPipeline,
        queue: WorkQueue,
        audit: AuditLog | None,
        settings: HelpdeskSettings,
        *,
        deliver: Deliver | None = None,
        escalations: EscalationQueue | None = None,
    ) -> None:
        self.pipeline = pipeline
        self.queue = queue
        self.audit = audit
        self.settings = settings
        self.deliver = deliver
        self.escalations = escalations
        self.listeners: list[Listener] = []
        # One loop per desk, run by whichever thread works the queue (one at a time).
        self._loop = asyncio.new_event_loop()
        self._loop_lock = threading.Lock()

    def close(self) -> None:
        """Close the desk's event loop."""
        self._loop.close()

    def check_ticket(self, ticket: Ticket) -> None:
        """Refuse a ticket of a tenant this deployment does not serve."""
        served = self.settings.tenants
        if served and ticket.tenant not in served:
            raise TicketError(
                f"tenant {ticket.tenant!r} is not served here (helpdesk.tenants: "
                f"{', '.join(served)})",
                remedy="fix the ticket's tenant, or add the tenant to helpdesk.tenants",
            )

    def submit(self, ticket: Ticket, actor: Actor) -> JobRef:
        """Store the ticket version as a job (idempotent) and audit its receipt once."""
        self.check_ticket(ticket)
        version = ticket.get_version()
        audit = self.audit

        def audit_receipt(conn: Connection, ref: JobRef) -> None:
            # In the job's transaction: a stored ticket always has its receipt event.
            if audit is None:
                return
            event = AuditEvent(
                "ticket.received",
                actor=actor,
                tenant=ticket.tenant,
                resource_type="ticket",
                resource_id=ticket.id,
                details={"version": version, "job_id": ref.job_id, "channel": ticket.channel},
            )
            audit.append_in(conn, [event])

        return self.queue.enqueue(
            QueuedTicket(
                tenant=ticket.tenant,
                ticket_id=ticket.id,
                version=version,
                payload=ticket_payload(ticket),
                subject_id=ticket.customer.id,
            ),
            on_created=audit_receipt,
        )

    def warm(self, tickets: Sequence[Ticket]) -> None:
        """Prepare a batch of tickets about to be worked (their embeddings, in one batch)."""
        self.pipeline.warm(tickets)

    def handle(self, job: Job) -> Outcome:
        """Decide one leased job (the queue's handler)."""
        ticket = load_job_ticket(job)
        with self._loop_lock:
            record = self._loop.run_until_complete(self.pipeline.process(ticket))
        keys = DecisionKeys(
            intent=record.intent.label if record.intent else None,
            received_at=record.received_at,
            action=record.decision.action,
        )
        return Outcome(record.model_dump(mode="json"), keys)

    def after(self, job: Job, outcome: Outcome) -> None:
        """Open its escalation, audit it (ids and outcome, never text), tell listeners, deliver."""
        record = DecisionRecord.model_validate(outcome.decision)
        if self.escalations is not None:
            self.escalations.open_for(record, job.job_id)
        if self.audit is not None:
            self.audit.append(decided_event(record, job.job_id))
        for listener in self.listeners:
            listener(record, job.job_id)
        if self.deliver is not None:
            self.deliver(record)

    def work(
        self,
        owner: str,
        *,
        stop_event: threading.Event | None = None,
        max_jobs: int | None = None,
        poll_s: float = 1.0,
        only: Collection[str] | None = None,
        drain: bool = False,
    ) -> WorkerReport:
        """Work the queue until stopped, `max_jobs` leased or (`drain`) nothing is due.

        `only` limits the worker to those job ids (a batch working off its own tickets).
        """
        return run_worker(
            self.queue,
            self.handle,
            owner,
            lease_s=self.settings.lease_s,
            poll_s=poll_s,
            stop_event=stop_event,
            max_jobs=max_jobs,
            after=self.after,
            only=only,
            drain=drain,
        )


def load_job_ticket(job: Job) -> Ticket:
    """The ticket stored in a job; a clear error when it was erased or is not a ticket."""
    if job.payload is None:
        raise TicketError(
            f"ticket {job.ticket_id!r} was erased before it was decided",
            remedy="nothing to do: the data subject's erasure removed it",
        )
    try:
        return Ticket.model_validate(job.payload)
    except ValidationError as exc:
        raise TicketError(
            f"job {job.job_id} does not hold a valid ticket ({exc.error_count()} problems)",
            remedy="the producer stored a malformed ticket; resubmit it",
        ) from None


def decided_event(record: DecisionRecord, job_id: str) -> AuditEvent:
    """The `ticket.decided` audit event: ids, labels, scores and reasons, never text."""
    details: dict[str, Any] = {
        "version": record.version,
        "job_id": job_id,
        "action": record.decision.action,
        "severity": record.decision.severity,
        "reasons": list(record.decision.reasons),
        "intent": record.intent.label if record.intent else None,
        "confidence": record.intent.confidence if record.intent else None,
        "priority": record.priority.level,
        "team": record.route.team,
        "queue": record.route.queue,
        "citations": [c.chunk_id for c in record.citations],
    }
    if record.engine is not None:
        details["engine"] = _engine_details(record)
    return AuditEvent(
        "ticket.decided",
        actor=WORKER,
        tenant=record.tenant,
        resource_type="ticket",
        resource_id=record.ticket_id,
        details=details,
    )


def _engine_details(record: DecisionRecord) -> Mapping[str, Any]:
    engine = record.engine
    assert engine is not None
    return {"name": engine.name, "model": engine.model, "model_sha256": engine.model_sha256}
