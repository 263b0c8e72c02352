"""The audit log for auditors: the tenant's events, chain verification, signed exports.

Auditors see the events whose `tenant` is their token's tenant. Events without a tenant
(service start-up, retention pruning, system work) are not shown here: they may concern every
tenant, so they stay with the operator (`airlock audit tail`, `airlock audit export`).
"""

from __future__ import annotations

import asyncio
import time
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import AwareDatetime
from sqlalchemy import Engine

from api.audit_export import (
    EXPORT_DESCRIPTION,
    ExportWindow,
    select_events,
    stamp,
    stream_export,
)
from api.auth.principal import Principal
from api.deps import Auditor, State
from api.errors import problem_doc
from api.metrics import ApiMetrics
from api.schemas.audit import AuditEventOut, AuditEventPage, DamageOut, VerifyResult
from audit import schema
from audit.events import AuditEvent, AuditRecord
from audit.log import AuditLog, format_ts, utc_now
from audit.signing import get_key_id
from audit.verify import verify_log

MAX_SEQ = 2**63 - 1  # the largest sequence number the stores hold (64-bit integer)
router = APIRouter(prefix="/v1/audit", tags=["audit"])

MAX_PAGE = 500
_ERRORS: dict[int | str, dict[str, Any]] = {
    status: problem_doc(status) for status in (401, 403, 422, 429)
}
Since = Annotated[AwareDatetime | None, Query(description="Events at or after this time.")]
Until = Annotated[AwareDatetime | None, Query(description="Events before this time.")]


@router.get(
    "/events",
    response_model=AuditEventPage,
    responses=_ERRORS,
    summary="List the tenant's audit events",
)
async def list_events(
    *,
    principal: Auditor,
    state: State,
    action: Annotated[str | None, Query(max_length=128)] = None,
    resource_type: Annotated[str | None, Query(max_length=128)] = None,
    resource_id: Annotated[str | None, Query(max_length=255)] = None,
    actor: Annotated[
        str | None, Query(max_length=255, description="Actor subject or client id.")
    ] = None,
    since: Since = None,
    until: Until = None,
    after: Annotated[
        int, Query(ge=0, le=MAX_SEQ, description="Cursor: events after this seq.")
    ] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
) -> AuditEventPage:
    """Events of the token's tenant in seq order, a page at a time (keyset on seq)."""
    query = select_events(principal.tenant, after=after, since=stamp(since), until=stamp(until))
    c = schema.events.c
    for column, value in ((c.action, action), (c.resource_type, resource_type)):
        if value is not None:
            query = query.where(column == value)
    if resource_id is not None:
        query = query.where(c.resource_id == resource_id)
    if actor is not None:
        query = query.where(sa.or_(c.actor_subject == actor, c.actor_client_id == actor))
    rows = await asyncio.to_thread(_fetch, state.parts.engine, query.limit(limit + 1))
    records = [AuditRecord.from_row(row) for row in rows[:limit]]
    return AuditEventPage(
        events=[AuditEventOut.model_validate(record.to_dict()) for record in records],
        next_cursor=records[-1].seq if len(rows) > limit else None,
    )


@router.get(
    "/verify",
    response_model=VerifyResult,
    responses=_ERRORS,
    summary="Verify the audit chain and its signed checkpoints",
)
async def verify(*, request: Request, principal: Auditor, state: State) -> VerifyResult:
    """Recompute every hash of the whole chain (all tenants share one chain) and check checkpoints.

    200 with `ok: false` and the first damage when the log was tampered with. The check is
    recorded as an `audit.verified` event.
    """
    key = state.parts.audit.signer.public_key
    report = await asyncio.to_thread(verify_log, state.parts.engine, key)
    damage = report.damage
    metrics: ApiMetrics = request.app.state.metrics
    metrics.observe_audit_verification("intact" if damage is None else "broken", time.time())
    details = {"ok": report.ok, "events_checked": report.events_checked}
    await _record(state.parts.audit, request, principal, "audit.verified", details)
    return VerifyResult(
        ok=report.ok,
        events_checked=report.events_checked,
        first_seq=report.first_seq,
        last_seq=report.last_seq,
        checkpoints_checked=report.checkpoints_checked,
        last_checkpoint_seq=report.last_checkpoint_seq,
        pruned_through_seq=report.pruned_through_seq,
        key_id=get_key_id(key),
        damage=DamageOut(seq=damage.seq, kind=damage.kind.value, detail=damage.detail)
        if damage
        else None,
    )


@router.get(
    "/export",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/zip": {}}}, **_ERRORS},
    summary="Export the tenant's audit events, signed for offline verification",
    description=EXPORT_DESCRIPTION,
)
async def export(
    *, request: Request, principal: Auditor, state: State, since: Since = None, until: Until = None
) -> StreamingResponse:
    """A ZIP of signed runs of the tenant's events, streamed (see the description)."""
    engine = state.parts.engine
    through = await asyncio.to_thread(_last_seq, engine)
    window = ExportWindow(
        tenant=principal.tenant,
        since=stamp(since),
        until=stamp(until),
        through_seq=through,
    )
    details = {"since": window.since, "until": window.until, "through_seq": through}
    await _record(state.parts.audit, request, principal, "audit.exported", details)
    created = format_ts(utc_now())[:19].replace(":", "")
    filename = f"audit-{principal.tenant}-{created}.zip"
    return StreamingResponse(
        stream_export(engine, state.parts.audit.signer, window),
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _fetch(engine: Engine, query: sa.Select[Any]) -> list[sa.Row[Any]]:
    with engine.connect() as conn:
        return list(conn.execute(query).all())


def _last_seq(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.max(schema.events.c.seq))).scalar() or 0)


async def _record(
    audit: AuditLog, request: Request, principal: Principal, action: str, details: dict[str, Any]
) -> None:
    """Audit an auditor's call (who, which tenant, what window; never any event content)."""
    request_id = getattr(request.state, "request_id", None)
    event = AuditEvent(
        action,
        actor=principal.get_actor(),
        roles=principal.get_roles(),
        tenant=principal.tenant,
        resource_type="audit_log",
        request_id=str(request_id)[:64] if request_id else None,
        details=details,
    )
    await asyncio.to_thread(audit.append, event)
