"""Accepting a ticket exactly once per idempotency key or delivery id."""

from __future__ import annotations

from dataclasses import dataclass

from audit.events import Actor
from helpdesk.desk import TicketDesk
from helpdesk.errors import IntakeConflictError
from helpdesk.intake.keys import IntakeKey, IntakeKeys, KeyKind
from helpdesk.queue import JobRef
from helpdesk.tickets import Ticket


@dataclass(frozen=True)
class IntakeKeyRef:
    """The key a request came with: idempotency key of a client, or a webhook delivery id."""

    kind: KeyKind
    sender: str
    key: str
    request_sha256: str


@dataclass(frozen=True)
class Accepted:
    """The stored ticket version; `replayed` when its key had been seen before."""

    ref: JobRef
    replayed: bool


class TicketIntake:
    """The desk's front door for senders that retry: a key maps to one job forever."""

    def __init__(self, desk: TicketDesk, keys: IntakeKeys) -> None:
        self.desk = desk
        self.keys = keys

    def accept(self, ticket: Ticket, actor: Actor, key: IntakeKeyRef | None = None) -> Accepted:
        """Store the ticket (or find the job its key already made) before acknowledging."""
        if key is not None:
            seen = self.keys.find(key.kind, key.sender, key.key)
            if seen is not None:
                return Accepted(self._known(seen, key), True)
        self.desk.check_ticket(ticket)
        ref = self.desk.submit(ticket, actor)
        if key is None:
            return Accepted(ref, not ref.created)
        stored = self.keys.remember(key.kind, key.sender, key.key, key.request_sha256, ref)
        if stored.job_id != ref.job_id:  # a concurrent request with this key won the race
            return Accepted(self._known(stored, key), True)
        return Accepted(ref, not ref.created)

    def _known(self, seen: IntakeKey, key: IntakeKeyRef) -> JobRef:
        if not seen.matches(key.request_sha256):
            what = "Idempotency-Key" if key.kind == "idempotency" else "delivery id"
            raise IntakeConflictError(
                f"{what} {key.key!r} was already used with a different request",
                remedy=f"send a new {what} for a new request; retries must repeat the request",
            )
        status = self.desk.queue.get_status(seen.job_id)
        return JobRef(
            job_id=seen.job_id,
            tenant=seen.tenant,
            ticket_id=seen.ticket_id,
            version=seen.version,
            state=status.state if status is not None else "done",
            created=False,
        )
