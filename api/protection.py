"""Request protection as pure ASGI middleware: ids, body limits, timeouts, headers, access log.

Pure ASGI (not BaseHTTPMiddleware) so that streamed responses pass through unbuffered and each
request costs a few microseconds.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
import uuid

import structlog
from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from airlock.settings_api import ApiSettings
from api.errors import PayloadTooLargeError, problem_response
from api.metrics import UNMATCHED, ApiMetrics

access_log = logging.getLogger("api.access")

_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")
UPLOAD_PATHS = ("/v1/kb/documents",)  # knowledge-base uploads: api.max_upload_bytes
DOCS_PATHS = frozenset({"/docs", "/docs/oauth2-redirect", "/redoc"})
STRICT_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
# Swagger UI and ReDoc: FastAPI's pages load their bundles from these hosts and run inline code.
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com; "
    "font-src 'self' https://fonts.gstatic.com; img-src 'self' data: https://fastapi.tiangolo.com "
    "https://cdn.redoc.ly; worker-src 'self' blob:; connect-src 'self'; frame-ancestors 'none'"
)
_COMMON = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-store"),
)
_HSTS = ((b"strict-transport-security", b"max-age=31536000; includeSubDomains"),)
Headers = tuple[tuple[bytes, bytes], ...]


def get_request_id(incoming: bytes | None) -> str:
    """The caller's X-Request-ID when it is sane (≤ 128 of [A-Za-z0-9._-]), else a new one."""
    if incoming is not None:
        text = incoming.decode("latin-1")
        if _REQUEST_ID.fullmatch(text):
            return text
    return uuid.uuid4().hex


def get_security_headers(path: str, *, https: bool) -> Headers:
    """The headers every response gets (CSP relaxed only for the API documentation pages)."""
    csp = DOCS_CSP if path in DOCS_PATHS else STRICT_CSP
    return (*_COMMON, (b"content-security-policy", csp.encode()), *(_HSTS if https else ()))


class _Exchange:
    """One request's bookkeeping between the server, the middleware and the app."""

    __slots__ = (
        "bytes_in",
        "bytes_out",
        "deadline",
        "extra",
        "limit",
        "request_id",
        "send_raw",
        "started",
        "status",
        "too_large",
    )

    def __init__(self, send: Send, *, request_id: str, extra: Headers, limit: int) -> None:
        self.send_raw = send
        self.request_id = request_id
        self.extra = (*extra, (b"x-request-id", request_id.encode()))
        self.limit = limit
        self.bytes_in = self.bytes_out = 0
        self.status = 500
        self.started = self.too_large = False
        self.deadline: asyncio.Timeout | None = None

    async def send(self, message: Message) -> None:
        """To the server: our headers added to the response start, bytes counted."""
        if message["type"] == "http.response.start":
            self.status = int(message["status"])
            headers = message.get("headers") or []
            present = {name.lower() for name, _ in headers}
            extra = [h for h in self.extra if h[0] not in present]
            message = {**message, "headers": [*headers, *extra]}
        elif message["type"] == "http.response.body":
            self.bytes_out += len(message.get("body", b""))
        await self.send_raw(message)

    async def send_app(self, message: Message) -> None:
        """From the app: dropped after an oversize body; a started response is never timed out."""
        if self.too_large and not self.started:
            return  # the app's answer to a body cut short is replaced by our 413
        if message["type"] == "http.response.start":
            self.started = True
            if self.deadline is not None:
                self.deadline.reschedule(None)
        await self.send(message)

    def receive_app(self, receive: Receive) -> Receive:
        """The server's receive, counting body bytes against the limit (chunked bodies too)."""

        async def counted() -> Message:
            if self.too_large:
                raise self.refusal()
            message = await receive()
            if message["type"] == "http.request":
                self.bytes_in += len(message.get("body", b""))
                if self.bytes_in > self.limit:
                    self.too_large = True
                    raise self.refusal()
            return message

        return counted

    def refusal(self) -> PayloadTooLargeError:
        """The 413 of a body over the limit."""
        return PayloadTooLargeError(
            f"the request body is larger than {self.limit} bytes",
            remedy="send a smaller body (the limit is api.max_body_bytes, for knowledge-base "
            "uploads api.max_upload_bytes)",
        )


class ProtectionMiddleware:
    """Request id, body limit, timeout, security headers, metrics and one access log line."""

    def __init__(
        self, app: ASGIApp, *, settings: ApiSettings, metrics: ApiMetrics | None = None
    ) -> None:
        self.app = app
        self.settings = settings
        self.metrics = metrics
        self._headers = {
            (docs, https): get_security_headers("/docs" if docs else "/", https=https)
            for docs in (False, True)
            for https in (False, True)
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one HTTP request (lifespan and websockets pass through)."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        began = time.perf_counter()
        declared, incoming = _read_headers(scope)
        path: str = scope["path"]
        limit = self.settings.max_body_bytes
        if path.startswith(UPLOAD_PATHS):
            limit = self.settings.max_upload_bytes
        exchange = _Exchange(
            send,
            request_id=get_request_id(incoming),
            extra=self._headers[(path in DOCS_PATHS, scope.get("scheme") == "https")],
            limit=limit,
        )
        scope.setdefault("state", {})["request_id"] = exchange.request_id
        metrics = self.metrics
        # Every log line of the request names it (airlock.logs.bound_context, without its cost).
        bound = structlog.contextvars.bind_contextvars(request_id=exchange.request_id)
        if metrics is not None:
            metrics.in_flight.inc()
        try:
            if declared is not None and declared > limit:
                await _reject(scope, exchange, exchange.refusal())
            else:
                await self._run(scope, receive, exchange)
        finally:
            if metrics is not None:
                metrics.in_flight.dec()
            self._finish(scope, exchange, time.perf_counter() - began)
            structlog.contextvars.reset_contextvars(**bound)

    async def _run(self, scope: Scope, receive: Receive, exchange: _Exchange) -> None:
        """The app under the request timeout; our own problem when it fails before answering."""
        try:
            async with asyncio.timeout(self.settings.request_timeout_s) as exchange.deadline:
                await self.app(scope, exchange.receive_app(receive), exchange.send_app)
        except Exception as exc:
            if exchange.too_large and not exchange.started:
                await _reject(scope, exchange, exchange.refusal())
            elif isinstance(exc, TimeoutError) and _expired(exchange) and not exchange.started:
                await _reject(scope, exchange, self._timeout())
            else:
                if not exchange.started:  # the server's 500 would lack our headers
                    exchange.started = True
                    await problem_response(Request(scope), 500, "internal error", remedy=_QUOTE_ID)(
                        scope, _no_body, exchange.send
                    )
                raise
        else:
            if exchange.too_large and not exchange.started:
                await _reject(scope, exchange, exchange.refusal())

    def _timeout(self) -> TimeoutError:
        return TimeoutError(f"no answer within {self.settings.request_timeout_s:g} s")

    def _finish(self, scope: Scope, exchange: _Exchange, seconds: float) -> None:
        """Metrics and the access log line: route template, never the query string or a body."""
        route = getattr(scope.get("route"), "path", None) or UNMATCHED
        if self.metrics is not None:
            self.metrics.observe_request(scope["method"], route, exchange.status, seconds)
        if not self.settings.access_log:
            return
        principal = scope.get("state", {}).get("principal")
        access_log.info(
            "request",
            extra={
                "method": scope["method"],
                "route": route,
                "status": exchange.status,
                "duration_ms": round(seconds * 1000, 2),
                "request_id": exchange.request_id,
                "client_id": getattr(principal, "client_id", ""),
                "tenant": getattr(principal, "tenant", ""),
                "bytes_in": exchange.bytes_in,
                "bytes_out": exchange.bytes_out,
            },
        )


_QUOTE_ID = "quote the request id to the operator"


async def _reject(scope: Scope, exchange: _Exchange, error: Exception) -> None:
    """Answer 413 or 504 as a problem (OpenAI's shape on the chat route) with our headers."""
    exchange.started = True
    if isinstance(error, PayloadTooLargeError):
        status, detail, remedy = 413, error.message, error.remedy
    else:
        status, detail = 504, str(error)
        remedy = "retry later; long work (ticket decisions) can be read back instead of awaited"
    response = problem_response(Request(scope), status, detail, remedy=remedy)
    await response(scope, _no_body, exchange.send)


def _expired(exchange: _Exchange) -> bool:
    return exchange.deadline is not None and exchange.deadline.expired()


async def _no_body() -> Message:
    return {"type": "http.disconnect"}


def _read_headers(scope: Scope) -> tuple[int | None, bytes | None]:
    """The declared Content-Length and the incoming X-Request-ID, in one pass."""
    declared: int | None = None
    incoming: bytes | None = None
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                declared = int(value)
            except ValueError:
                declared = None  # the server refuses a malformed length itself
        elif name == b"x-request-id":
            incoming = value
    return declared, incoming


def install_protection(app: FastAPI, settings: ApiSettings, metrics: ApiMetrics | None) -> None:
    """CORS only for configured origins, inside the protection middleware (outermost)."""
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "Idempotency-Key", "X-Request-ID"],
            expose_headers=["X-Request-ID", "Retry-After", "Location"],
            max_age=600,
        )
    app.add_middleware(ProtectionMiddleware, settings=settings, metrics=metrics)
