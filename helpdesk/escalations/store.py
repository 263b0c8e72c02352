"""The escalation queue: escalated decisions that agents list, claim and resolve, per tenant.

A row is opened when an escalate or needs_info decision is stored (keyed by the decision's job
id, so opening twice is harmless). `sync_missing` opens the rows a crash between storing a
decision and opening its escalation left out. Every read and change is limited to one tenant.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from pydantic import ValidationError
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from airlock.db import describe_storage_failure, write_transaction
from helpdesk.errors import EscalationError, EscalationNotFoundError
from helpdesk.escalations.rows import (
    ESCALATED_ACTIONS,
    MAX_PAGE,
    Escalation,
    EscalationPage,
    Feedback,
    check_claimable,
    check_resolution,
    decode_cursor,
    encode_cursor,
    row_values,
    to_escalation,
)
from helpdesk.escalations.schema import escalations
from helpdesk.queue.rows import format_ts, utc_now
from helpdesk.queue.schema import decisions, jobs
from helpdesk.record import DecisionRecord

log = logging.getLogger(__name__)

SYNC_BATCH = 500
_E = escalations.c
_D = decisions.c


class EscalationQueue:
    """Escalations in the relational store; agents of a tenant see only that tenant's rows."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def open_for(self, record: DecisionRecord, job_id: str) -> bool:
        """Open the escalation of an escalate/needs_info decision; False when not one or known."""
        if record.decision.action not in ESCALATED_ACTIONS:
            return False
        try:
            with self._storage(), write_transaction(self.engine) as conn:
                if conn.execute(sa.select(_E.state).where(_E.escalation_id == job_id)).first():
                    return False
                conn.execute(escalations.insert().values(**row_values(record, job_id)))
        except IntegrityError:  # PostgreSQL: another worker opened it between our look and ours
            return False
        log.info("escalation opened", extra={"escalation_id": job_id})
        return True

    def sync_missing(self) -> int:
        """Open escalations for stored escalate/needs_info decisions without one; count them."""
        created, after = 0, ""
        while True:
            query = (
                sa.select(_D.job_id, _D.decision)
                .select_from(decisions.outerjoin(escalations, _E.escalation_id == _D.job_id))
                .where(
                    _D.action.in_(ESCALATED_ACTIONS),
                    _E.escalation_id.is_(None),
                    _D.job_id > after,
                )
                .order_by(_D.job_id)
                .limit(SYNC_BATCH)
            )
            with self._storage(), self.engine.connect() as conn:
                rows = conn.execute(query).all()
            for job_id, text in rows:
                created += self._open_stored(job_id, text)
            if len(rows) < SYNC_BATCH:
                return created
            after = rows[-1].job_id

    def list(
        self,
        tenant: str,
        *,
        state: str | None = None,
        team: str | None = None,
        priority: str | None = None,
        queue: str | None = None,
        intent: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> EscalationPage:
        """A page of the tenant's escalations, oldest first (stable keyset paging)."""
        if not 1 <= limit <= MAX_PAGE:
            raise EscalationError(
                f"limit must be 1 to {MAX_PAGE}, not {limit}", remedy="ask for fewer rows"
            )
        wanted = {"state": state, "team": team, "priority": priority, "queue": queue}
        query = _select().where(
            _E.tenant == tenant,
            *(_E[name] == value for name, value in wanted.items() if value is not None),
        )
        if intent is not None:
            query = query.where(_E.intent == intent)
        if cursor is not None:
            created_at, escalation_id = decode_cursor(cursor)
            query = query.where(
                sa.or_(
                    _E.created_at > created_at,
                    sa.and_(_E.created_at == created_at, _E.escalation_id > escalation_id),
                )
            )
        query = query.order_by(_E.created_at, _E.escalation_id).limit(limit + 1)
        with self._storage(), self.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        items = tuple(to_escalation(row) for row in rows[:limit])
        last = items[-1] if len(rows) > limit else None
        return EscalationPage(items, encode_cursor(last) if last is not None else None)

    def get(self, tenant: str, escalation_id: str) -> Escalation:
        """One of the tenant's escalations; EscalationNotFoundError when it has none by that id."""
        with self._storage(), self.engine.connect() as conn:
            return _read(conn, tenant, escalation_id)

    def claim(self, tenant: str, escalation_id: str, agent: str) -> Escalation:
        """Take an open escalation (claiming one's own claim again changes nothing)."""
        with self._storage(), write_transaction(self.engine) as conn:
            found = _read(conn, tenant, escalation_id, lock=True)
            check_claimable(found, agent)
            if found.state == "open":
                conn.execute(
                    escalations.update()
                    .where(_E.escalation_id == escalation_id, _E.state == "open")
                    .values(state="claimed", claimed_by=agent, claimed_at=format_ts(utc_now()))
                )
            claimed = _read(conn, tenant, escalation_id)
        log.info("escalation claimed", extra={"escalation_id": escalation_id})
        return claimed

    def resolve(
        self,
        tenant: str,
        escalation_id: str,
        agent: str,
        *,
        final_reply: str,
        feedback: Feedback,
        corrected_intent: str | None = None,
    ) -> Escalation:
        """Record the agent's final reply and feedback on the draft (an open one is claimed)."""
        check_resolution(final_reply, feedback, corrected_intent)
        with self._storage(), write_transaction(self.engine) as conn:
            found = _read(conn, tenant, escalation_id, lock=True)
            check_claimable(found, agent)
            now = format_ts(utc_now())
            conn.execute(
                escalations.update()
                .where(_E.escalation_id == escalation_id, _E.state == found.state)
                .values(
                    state="resolved",
                    claimed_by=agent,
                    claimed_at=found.claimed_at or now,
                    resolved_by=agent,
                    resolved_at=now,
                    feedback=feedback,
                    corrected_intent=corrected_intent,
                    final_reply=final_reply,
                )
            )
            resolved = _read(conn, tenant, escalation_id)
        log.info("escalation resolved", extra={"escalation_id": escalation_id})
        return resolved

    def erase_subject(self, tenant: str, subject_id: str) -> int:
        """Blank the agents' final replies to the subject and stamp the rows erased; count them."""
        mine = (_E.tenant == tenant, _E.subject_id == subject_id, _E.erased_at.is_(None))
        with self._storage(), write_transaction(self.engine) as conn:
            conn.execute(
                escalations.update()
                .where(*mine, _E.final_reply.is_not(None))
                .values(final_reply="")
            )
            result = conn.execute(
                escalations.update().where(*mine).values(erased_at=format_ts(utc_now()))
            )
        return int(result.rowcount or 0)

    def find_ticket_subject(self, tenant: str, ticket_id: str) -> str | None:
        """The data subject of the tenant's ticket (its newest version); None: no such ticket."""
        query = (
            sa.select(jobs.c.subject_id)
            .where(jobs.c.tenant == tenant, jobs.c.ticket_id == ticket_id)
            .order_by(jobs.c.created_at.desc(), jobs.c.job_id.desc())
            .limit(1)
        )
        with self._storage(), self.engine.connect() as conn:
            row = conn.execute(query).first()
        return None if row is None else row.subject_id

    def _open_stored(self, job_id: str, text: str) -> bool:
        try:
            record = DecisionRecord.model_validate_json(text)
        except ValidationError:
            log.warning("stored decision unreadable: no escalation", extra={"job_id": job_id})
            return False
        return self.open_for(record, job_id)

    @contextmanager
    def _storage(self) -> Iterator[None]:
        try:
            yield
        except IntegrityError:
            raise
        except SQLAlchemyError as exc:
            raise describe_storage_failure(self.engine, exc) from None


def _select() -> sa.Select[Any]:
    """Escalations with the stored decision record they came from (for summary and draft)."""
    joined = escalations.outerjoin(
        decisions,
        sa.and_(_D.tenant == _E.tenant, _D.ticket_id == _E.ticket_id, _D.version == _E.version),
    )
    return sa.select(escalations, _D.decision).select_from(joined)


def _read(conn: Connection, tenant: str, escalation_id: str, *, lock: bool = False) -> Escalation:
    query = _select().where(_E.tenant == tenant, _E.escalation_id == escalation_id)
    row = conn.execute(query.with_for_update(of=escalations) if lock else query).mappings().first()
    if row is None:
        raise EscalationNotFoundError(
            f"no escalation {escalation_id!r} for tenant {tenant!r}",
            remedy="list the tenant's escalations with GET /v1/escalations",
        )
    return to_escalation(row)
