"""Analytics of the caller's tenant: automation, escalation reasons, response times, feedback."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query

from api.deps import AnalyticsReader, State
from api.errors import ApiError, problem_doc
from api.schemas.analytics import AnalyticsSummaryOut
from helpdesk.analytics import summarize

router = APIRouter(prefix="/v1/analytics", tags=["analytics"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    status: problem_doc(status) for status in (400, 401, 403, 422, 429)
}


@router.get(
    "/summary",
    response_model=AnalyticsSummaryOut,
    responses=_ERRORS,
    summary="Summarize the tenant's help desk over a window of decisions",
)
async def get_summary(
    *,
    principal: AnalyticsReader,
    state: State,
    since: Annotated[
        datetime | None, Query(description="ISO 8601; a time without zone is UTC.")
    ] = None,
    until: Annotated[datetime | None, Query(description="ISO 8601, exclusive.")] = None,
) -> AnalyticsSummaryOut:
    """Counts, rates and first-response percentiles of decisions made in [since, until)."""
    if since is not None and until is not None and _as_utc(since) >= _as_utc(until):
        raise ApiError(
            f"since ({since.isoformat()}) is not before until ({until.isoformat()})",
            remedy="pass a since earlier than until, or leave one of them out",
        )
    summary = await asyncio.to_thread(
        summarize, state.parts.engine, principal.tenant, since=since, until=until
    )
    return AnalyticsSummaryOut.model_validate(dataclasses.asdict(summary))


def _as_utc(moment: datetime) -> datetime:
    """Aware times as they are, naive times taken as UTC (so that both compare)."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
