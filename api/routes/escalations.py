"""The agents' escalation queue (list, claim, resolve) and revealing a ticket's PII."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Query

from api.auth.principal import Principal
from api.deps import Agent, State
from api.errors import ConflictError, GoneError, NotFoundError, problem_doc
from api.schemas.escalations import (
    EscalationList,
    EscalationOut,
    EscalationState,
    ResolutionIn,
    RevealIn,
    RevealOut,
)
from api.state import ApiState
from audit.events import AuditEvent
from guardrails.errors import VaultKeyMissingError
from guardrails.pii.vault import PLACEHOLDER
from helpdesk.errors import EscalationConflictError, EscalationNotFoundError
from helpdesk.escalations import MAX_PAGE, Escalation, EscalationQueue

router = APIRouter(tags=["escalations"])


def _problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries of error statuses answered as problem+json."""
    return {status: problem_doc(status) for status in statuses}


_ERRORS = _problems(401, 403, 422, 429)
_CHANGE_ERRORS = _problems(401, 403, 404, 409, 422, 429)


def get_queue(state: State) -> EscalationQueue:
    """The desk's escalation queue (one over the API's store when the desk has none)."""
    return state.parts.desk.escalations or EscalationQueue(state.parts.engine)


@router.get(
    "/v1/escalations",
    response_model=EscalationList,
    responses=_problems(400, 401, 403, 422, 429),
    summary="List the tenant's escalations, oldest first",
)
async def list_escalations(
    *,
    principal: Agent,
    state: State,
    status: Annotated[EscalationState | None, Query(alias="state")] = None,
    team: Annotated[str | None, Query(max_length=64)] = None,
    priority: Annotated[str | None, Query(max_length=8)] = None,
    queue: Annotated[str | None, Query(max_length=64)] = None,
    intent: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
    cursor: Annotated[str | None, Query(max_length=1024)] = None,
) -> EscalationList:
    """A page of the caller's tenant's escalations, filtered; `next_cursor` pages on."""
    page = await asyncio.to_thread(
        get_queue(state).list,
        principal.tenant,
        state=status,
        team=team,
        priority=priority,
        queue=queue,
        intent=intent,
        limit=limit,
        cursor=cursor,
    )
    items = [EscalationOut.model_validate(item) for item in page.items]
    return EscalationList(items=items, next_cursor=page.next_cursor)


@router.post(
    "/v1/escalations/{escalation_id}/claim",
    response_model=EscalationOut,
    responses=_CHANGE_ERRORS,
    summary="Claim an escalation",
)
async def claim_escalation(escalation_id: str, principal: Agent, state: State) -> EscalationOut:
    """Take an open escalation; 409 when another agent holds it or it is resolved."""
    agent = principal.get_actor().subject or principal.subject
    with _mapped_errors():
        claimed = await asyncio.to_thread(
            get_queue(state).claim, principal.tenant, escalation_id, agent
        )
    await _audit(state, principal, "escalation.claimed", claimed, {})
    return EscalationOut.model_validate(claimed)


@router.post(
    "/v1/escalations/{escalation_id}/resolve",
    response_model=EscalationOut,
    responses=_CHANGE_ERRORS,
    summary="Resolve an escalation with the final reply and feedback on the draft",
)
async def resolve_escalation(
    escalation_id: str, body: ResolutionIn, principal: Agent, state: State
) -> EscalationOut:
    """Record the final reply; an open escalation is claimed by the caller on the way."""
    agent = principal.get_actor().subject or principal.subject
    with _mapped_errors():
        resolved = await asyncio.to_thread(
            lambda: get_queue(state).resolve(
                principal.tenant,
                escalation_id,
                agent,
                final_reply=body.final_reply,
                feedback=body.feedback,
                corrected_intent=body.corrected_intent,
            )
        )
    details = {"feedback": body.feedback, "corrected_intent": body.corrected_intent}
    await _audit(state, principal, "escalation.resolved", resolved, details)
    return EscalationOut.model_validate(resolved)


@router.post(
    "/v1/pii/reveal",
    response_model=RevealOut,
    responses=_problems(401, 403, 404, 409, 410, 422, 429),
    summary="Reveal the originals behind a ticket's PII placeholders (vault mode)",
    tags=["pii"],
)
async def reveal_pii(body: RevealIn, principal: Agent, state: State) -> RevealOut:
    """The text with the ticket's data subject's originals; audited, never logged."""
    vault = state.parts.vault
    if vault is None:
        raise ConflictError(
            "PII is not kept in the vault here, so there is nothing to reveal",
            remedy="set guardrails.pii.anonymize: vault (new tickets are then revealable)",
        )
    subject = await asyncio.to_thread(
        get_queue(state).find_ticket_subject, principal.tenant, body.ticket_id
    )
    if subject is None:
        raise NotFoundError(f"no ticket {body.ticket_id!r} for tenant {principal.tenant!r}")
    try:
        text = await asyncio.to_thread(
            lambda: vault.reveal(
                body.text, tenant=principal.tenant, subject_id=subject, scope=body.scope
            )
        )
    except VaultKeyMissingError as exc:
        raise GoneError(exc.message, remedy=exc.remedy) from None
    revealed = len(PLACEHOLDER.findall(body.text)) - len(PLACEHOLDER.findall(text))
    event = AuditEvent(
        "pii.revealed",
        actor=principal.get_actor(),
        roles=principal.get_roles(),
        tenant=principal.tenant,
        resource_type="ticket",
        resource_id=body.ticket_id,
        details={"placeholders_revealed": revealed},
    )
    await asyncio.to_thread(state.parts.audit.append, event)
    return RevealOut(ticket_id=body.ticket_id, text=text, revealed=revealed)


@contextmanager
def _mapped_errors() -> Iterator[None]:
    """Domain not-found and conflict errors as 404 and 409."""
    try:
        yield
    except EscalationNotFoundError as exc:
        raise NotFoundError(exc.message, remedy=exc.remedy) from None
    except EscalationConflictError as exc:
        raise ConflictError(exc.message, remedy=exc.remedy) from None


async def _audit(
    state: ApiState, principal: Principal, action: str, item: Escalation, details: dict[str, Any]
) -> None:
    """Append an escalation event: ids, labels and the agent, never the reply text."""
    event = AuditEvent(
        action,
        actor=principal.get_actor(),
        roles=principal.get_roles(),
        tenant=principal.tenant,
        resource_type="escalation",
        resource_id=item.escalation_id,
        details={"ticket_id": item.ticket_id, "version": item.version, **details},
    )
    await asyncio.to_thread(state.parts.audit.append, event)
