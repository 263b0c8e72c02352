"""Ticket intake for ticketing systems: submit (idempotent), read the decision."""

from __future__ import annotations

import asyncio
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Header, Query, Request, Response

from api.auth.errors import AuthError
from api.deps import State, TicketingClient
from api.errors import NotFoundError
from api.schemas.tickets import TicketAccepted, TicketIn, TicketStatus
from helpdesk.intake import IntakeKeyRef, request_digest
from helpdesk.record import DecisionRecord
from helpdesk.tickets import Ticket

router = APIRouter(prefix="/v1/tickets", tags=["tickets"])


@router.post(
    "",
    status_code=202,
    response_model=TicketAccepted,
    responses={200: {"model": TicketAccepted, "description": "Decided within ?wait."}},
    summary="Submit a ticket version",
)
async def submit_ticket(
    *,
    request: Request,
    response: Response,
    body: TicketIn,
    principal: TicketingClient,
    state: State,
    idempotency_key: Annotated[str | None, Header(min_length=1, max_length=255)] = None,
    wait: Annotated[
        float | None, Query(ge=0, description="Seconds to wait for the decision (200 if made).")
    ] = None,
) -> TicketAccepted:
    """Store the ticket before acknowledging it; it is decided exactly once per version."""
    if body.tenant is not None and body.tenant != principal.tenant:
        raise AuthError(
            f"the token's tenant is {principal.tenant!r}, not {body.tenant!r}", status=403
        )
    ticket = Ticket(**body.model_dump(exclude={"tenant"}), tenant=principal.tenant)
    key = None
    if idempotency_key is not None:
        digest = request_digest(await request.body())
        key = IntakeKeyRef("idempotency", principal.client_id, idempotency_key, digest)
    accepted = await asyncio.to_thread(state.intake.accept, ticket, principal.get_actor(), key)
    ref = accepted.ref
    location = f"/v1/tickets/{quote(ref.ticket_id, safe='')}"
    response.headers["Location"] = location
    result = TicketAccepted(
        ticket_id=ref.ticket_id,
        version=ref.version,
        job_id=ref.job_id,
        state=ref.state,
        created=ref.created,
        location=location,
    )
    if wait:
        timeout = min(wait, state.parts.settings.api.max_wait_s)
        decision = await state.waiter.wait(
            ref.job_id,
            lambda: state.parts.desk.queue.get_decision(ref.tenant, ref.ticket_id, ref.version),
            timeout,
        )
        if decision is not None:
            response.status_code = 200
            return result.model_copy(
                update={"state": "done", "decision": DecisionRecord.model_validate(decision)}
            )
    return result


@router.get(
    "/{ticket_id}",
    response_model=TicketStatus,
    summary="Read a ticket's newest version and its decision",
)
async def get_ticket(ticket_id: str, principal: TicketingClient, state: State) -> TicketStatus:
    """The newest version of one of the tenant's tickets (another tenant's id is 404)."""
    queue = state.parts.desk.queue
    found = await asyncio.to_thread(queue.find_latest, principal.tenant, ticket_id)
    if found is None:
        raise NotFoundError(f"no ticket {ticket_id!r} for tenant {principal.tenant!r}")
    version, status = found
    decision = await asyncio.to_thread(queue.get_decision, principal.tenant, ticket_id, version)
    return TicketStatus(
        ticket_id=ticket_id,
        version=version,
        job_id=status.job_id,
        state=status.state,
        attempts=status.attempts,
        last_error=status.last_error,
        erased=status.erased,
        decision=DecisionRecord.model_validate(decision) if decision is not None else None,
    )
