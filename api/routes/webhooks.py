"""Signed webhooks from Zendesk, Jira and ServiceNow: verified, deduplicated, stored, acked.

No bearer token here: a ticketing system cannot fetch Keycloak tokens, so the signature (or,
for ServiceNow, the shared token) authenticates the delivery. The route only verifies and
stores; the ticket is decided by the workers afterwards.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from api.deps import State
from api.errors import ConflictError, PayloadTooLargeError, UnprocessableError, problem_doc
from api.schemas.webhooks import WebhookAccepted
from api.webhooks import (
    DELIVERY_ID,
    JIRA_IDENTIFIER,
    JIRA_SIGNATURE,
    ZENDESK_INVOCATION,
    ZENDESK_SIGNATURE,
    ZENDESK_TIMESTAMP,
    get_delivery_id,
    resolve_sender,
    verify_delivery,
)
from helpdesk.connectors import parse_webhook
from helpdesk.errors import IntakeConflictError
from helpdesk.intake import IntakeKeyRef, request_digest

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])

TenantParam = Annotated[
    str | None,
    Query(
        max_length=255,
        description="The tenant the sender belongs to; may be left out when only one tenant "
        "has a webhook of this system.",
    ),
]
_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"model": WebhookAccepted, "description": "Already received: nothing new stored."},
    **{status: problem_doc(status) for status in (401, 404, 409, 413, 422)},
}
_OPENAPI: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"type": "object"}}},
    }
}


@router.post(
    "/zendesk",
    status_code=202,
    response_model=WebhookAccepted,
    responses=_RESPONSES,
    openapi_extra=_OPENAPI,
    summary="Receive a Zendesk webhook",
    description=f"Signed by Zendesk: `{ZENDESK_SIGNATURE}` is base64 HMAC-SHA256 of "
    f"`{ZENDESK_TIMESTAMP}` + the body; the timestamp must be within api.webhook_max_age_s. "
    f"Delivery id: `{ZENDESK_INVOCATION}`.",
)
async def receive_zendesk(
    *, request: Request, response: Response, state: State, tenant: TenantParam = None
) -> WebhookAccepted:
    """Store a Zendesk ticket webhook once per delivery and ticket version."""
    return await receive(request, response, state, system="zendesk", tenant=tenant)


@router.post(
    "/jira",
    status_code=202,
    response_model=WebhookAccepted,
    responses=_RESPONSES,
    openapi_extra=_OPENAPI,
    summary="Receive a Jira webhook",
    description=f"Signed by Jira: `{JIRA_SIGNATURE}: sha256=<hex HMAC-SHA256 of the body>`. "
    f"Delivery id: `{JIRA_IDENTIFIER}`.",
)
async def receive_jira(
    *, request: Request, response: Response, state: State, tenant: TenantParam = None
) -> WebhookAccepted:
    """Store a Jira issue webhook once per delivery and ticket version."""
    return await receive(request, response, state, system="jira", tenant=tenant)


@router.post(
    "/servicenow",
    status_code=202,
    response_model=WebhookAccepted,
    responses=_RESPONSES,
    openapi_extra=_OPENAPI,
    summary="Receive a ServiceNow webhook",
    description="ServiceNow cannot sign: the shared token goes in the tenant's token header "
    f"(default X-Airlock-Token). Delivery id: `{DELIVERY_ID}`, else the payload's "
    "`sys_id` and `sys_updated_on`, else the body's hash.",
)
async def receive_servicenow(
    *, request: Request, response: Response, state: State, tenant: TenantParam = None
) -> WebhookAccepted:
    """Store a ServiceNow incident webhook once per delivery and ticket version."""
    return await receive(request, response, state, system="servicenow", tenant=tenant)


async def receive(
    request: Request, response: Response, state: State, *, system: str, tenant: str | None
) -> WebhookAccepted:
    """Verify the sender on the raw body, then store the ticket before acknowledging."""
    settings = state.parts.settings.api
    sender = resolve_sender(settings.webhooks, system, tenant)
    body = await read_body(request, settings.max_body_bytes)
    verify_delivery(
        sender, request.headers, body, max_age_s=settings.webhook_max_age_s, now=datetime.now(UTC)
    )
    payload = load_payload(system, body)
    ticket = parse_webhook(system, payload, tenant=sender.tenant)
    delivery_id = get_delivery_id(system, request.headers, payload, body)
    key = IntakeKeyRef("webhook", sender.get_key_sender(), delivery_id, request_digest(body))
    try:
        accepted = await asyncio.to_thread(state.intake.accept, ticket, sender.get_actor(), key)
    except IntakeConflictError as exc:
        raise ConflictError(exc.message, remedy=exc.remedy) from None
    ref = accepted.ref
    if not ref.created:
        response.status_code = 200
    return WebhookAccepted(
        ticket_id=ref.ticket_id,
        version=ref.version,
        job_id=ref.job_id,
        state=ref.state,
        duplicate=not ref.created,
        delivery_id=delivery_id,
    )


async def read_body(request: Request, limit: int) -> bytes:
    """The raw body, read once; 413 as soon as it is larger than `limit` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise _too_large(limit)
    return bytes(body)


def load_payload(system: str, body: bytes) -> dict[str, Any]:
    """The delivery's JSON object; 422 when the body is not one."""
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):
        payload = None
    if not isinstance(payload, dict):
        raise UnprocessableError(
            f"the {system} webhook body is not a JSON object",
            remedy="send the JSON payload documented in docs/connectors.md",
        )
    return payload


def _too_large(limit: int) -> PayloadTooLargeError:
    return PayloadTooLargeError(
        f"the webhook body is larger than {limit} bytes",
        remedy="send only the fields of the documented payload, or raise api.max_body_bytes",
    )
