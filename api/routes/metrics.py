"""Prometheus metrics (no token by default, like /healthz: keep /metrics off public networks)."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from api.auth.errors import AuthError
from api.deps import State, get_principal
from api.metrics import ApiMetrics

router = APIRouter(tags=["health"])
SCRAPER_ROLES = ("ml-engineer", "admin")
_bearer = HTTPBearer(auto_error=False, scheme_name="keycloak")


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Prometheus text."}},
    summary="Prometheus metrics",
)
async def get_metrics(
    *,
    request: Request,
    state: State,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Response:
    """Requests, ticket decisions, queue depth and serving metrics in the text format.

    Open by default: expose it only to the monitoring network, or set
    api.metrics_require_token to ask for a token with role ml-engineer or admin.
    """
    if state.parts.settings.api.metrics_require_token:
        principal = await get_principal(request, state, credentials)
        if not principal.has_any(SCRAPER_ROLES):
            raise AuthError(
                f"/metrics needs one of the roles {', '.join(SCRAPER_ROLES)}",
                status=403,
                error="insufficient_scope",
            )
    metrics: ApiMetrics = request.app.state.metrics
    # The queue's depth is read from the database at scrape time: off the event loop.
    body = await asyncio.to_thread(metrics.render)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
