"""The FastAPI app factory: `create_app(settings, open_parts)`."""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Literal

import httpx
from fastapi import FastAPI

from airlock.settings import AirlockSettings
from api.auditwatch import AuditWatch
from api.auth.errors import AuthError
from api.auth.oidc import OidcVerifier
from api.auth.principal import Principal
from api.errors import ERROR_RESPONSES, install_error_handlers
from api.metrics import ApiMetrics
from api.parts import ApiParts
from api.protection import install_protection
from api.ratelimit import RateLimiter
from api.routes import ROUTERS, health
from api.routes import metrics as metrics_routes
from api.state import ApiState, TokenVerifier
from api.waiter import DecisionWaiter
from api.workers import LocalWorkers
from helpdesk.intake import IntakeKeys, TicketIntake

# Opens the parts the API runs over and closes them on exit (airlock.services supplies it).
OpenParts = Callable[[AirlockSettings], AbstractAsyncContextManager[ApiParts]]
# `api`: every route; `worker`: a ticket worker process with only its probes and /metrics.
AppRole = Literal["api", "worker"]
WORKER_ROUTERS = (health.router, metrics_routes.router)

DESCRIPTION = """\
Airlock's API for ticketing systems, support agents, operators and auditors.

Every route but `/healthz`, `/readyz` and `/metrics` needs a Keycloak access token
(`Authorization: Bearer ...`) with a `tenant` claim; every query is limited to that tenant.
Errors are RFC 9457 problem details (`application/problem+json`); `/v1/chat/completions` answers
errors in OpenAI's shape instead.
"""


def create_app(settings: AirlockSettings, open_parts: OpenParts, role: AppRole = "api") -> FastAPI:
    """The API (or a worker's probes) over the parts `open_parts` yields for the app's lifetime."""
    metrics = ApiMetrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with open_parts(settings) as parts, httpx.AsyncClient() as http:
            if role == "api" or settings.api.metrics_require_token:
                verifier: TokenVerifier = await start_verifier(parts, http)
            else:
                verifier = NoTokens()
            waiter = DecisionWaiter(asyncio.get_running_loop())
            parts.desk.listeners.append(lambda _record, job_id: waiter.notify(job_id))
            parts.desk.listeners.append(metrics.observe_decision)
            metrics.watch_queue(parts.desk.queue)
            workers = LocalWorkers(parts.desk, settings.api.workers)
            app.state.api = ApiState(
                parts=parts,
                verifier=verifier,
                limiter=RateLimiter(settings.api.rate_limits),
                waiter=waiter,
                intake=TicketIntake(parts.desk, IntakeKeys(parts.engine)),
            )
            workers.start()
            watch = start_audit_watch(parts, metrics) if role == "api" else None
            # The models, tokenizers and NLP pipelines loaded above are millions of long-lived
            # objects; a full collection walking them stalled requests by hundreds of ms at
            # p99 under load. Frozen, the collector only walks what requests allocate.
            gc.freeze()
            try:
                yield
            finally:
                if watch is not None:
                    watch.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await watch
                await asyncio.to_thread(workers.stop)

    app = FastAPI(
        title="Airlock API" if role == "api" else "Airlock worker",
        version="1",
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.metrics = metrics
    install_protection(app, settings.api, metrics)
    install_error_handlers(app)
    for router in ROUTERS if role == "api" else WORKER_ROUTERS:
        app.include_router(router, responses=ERROR_RESPONSES)
    return app


def start_audit_watch(parts: ApiParts, metrics: ApiMetrics) -> asyncio.Task[None] | None:
    """The periodic audit verification task (None when audit.verify_every_s is 0)."""
    every_s = parts.settings.audit.verify_every_s
    if every_s <= 0:
        return None
    watch = AuditWatch(parts.engine, parts.audit.signer.public_key, metrics, every_s)
    return asyncio.create_task(watch.run(), name="audit-watch")


class NoTokens:
    """The verifier of a worker process: it serves no route that takes a token."""

    async def verify(self, token: str) -> Principal:
        """Refuse: a worker answers only its probes and /metrics."""
        raise AuthError("this process is a ticket worker and accepts no tokens")


async def start_verifier(parts: ApiParts, http: httpx.AsyncClient) -> TokenVerifier:
    """The token verifier of the configured realm (introspecting when so configured)."""
    settings = parts.settings.auth
    verifier = OidcVerifier(settings, parts.issuer_url, http)
    await verifier.start()
    if settings.mode == "jwt":
        return verifier
    from api.auth.introspection import IntrospectingVerifier, IntrospectionCheck

    return IntrospectingVerifier(verifier, IntrospectionCheck(settings, parts.issuer_url))
