"""HTTP errors, mapped once: RFC 9457 problem+json everywhere, OpenAI's shape on chat."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from airlock.errors import AirlockError, StorageError
from api.auth.errors import AuthError
from helpdesk.errors import HelpdeskError, IntakeConflictError, TicketError

log = logging.getLogger(__name__)

PROBLEM_TYPE = "application/problem+json"
OPENAI_PATHS = ("/v1/chat/completions",)


class ApiStartupError(AirlockError):
    """The API cannot start: its identity provider, port or configuration is unusable."""


class ApiError(AirlockError):
    """An error answered with a status; `status` and `title` are per class."""

    status = 400
    title = "Bad request"

    def __init__(
        self, message: str, *, remedy: str = "", headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message, remedy=remedy)
        self.headers = headers or {}


class UnauthorizedError(ApiError):
    """A credential other than a bearer token (a webhook signature) does not check out."""

    status = 401
    title = "Unauthorized"


class NotFoundError(ApiError):
    """No such resource for this tenant (another tenant's resource is not found either)."""

    status = 404
    title = "Not found"


class ConflictError(ApiError):
    """The request conflicts with what is stored (a reused key, a claimed escalation)."""

    status = 409
    title = "Conflict"


class GoneError(ApiError):
    """The resource existed and was removed for good (an erased data subject's originals)."""

    status = 410
    title = "Gone"


class PayloadTooLargeError(ApiError):
    """The body is larger than the configured limit."""

    status = 413
    title = "Payload too large"


class UnsupportedMediaTypeError(ApiError):
    """The body (or an uploaded file) is of a type this route cannot read."""

    status = 415
    title = "Unsupported media type"


class UnprocessableError(ApiError):
    """The request is well-formed HTTP but its content cannot be used."""

    status = 422
    title = "Unprocessable content"


class RateLimitedError(ApiError):
    """The client spent its token bucket; Retry-After says when to come back."""

    status = 429
    title = "Too many requests"


class UnavailableError(ApiError):
    """A dependency (database, Milvus, engines, identity provider) is not answering."""

    status = 503
    title = "Service unavailable"


class Problem(BaseModel):
    """An RFC 9457 problem detail."""

    type: str = Field("about:blank", description="A URI naming the problem type.")
    title: str = Field(description="Short summary of the problem type.")
    status: int = Field(description="The HTTP status code.")
    detail: str = Field("", description="What went wrong with this request.")
    remedy: str = Field("", description="What to do about it.")
    instance: str = Field("", description="The request path.")
    request_id: str = Field("", description="Quote it when reporting a problem.")
    errors: list[dict[str, Any]] | None = Field(None, description="Field errors (422 only).")


class OpenAIErrorBody(BaseModel):
    """OpenAI's error object."""

    message: str
    type: str
    param: str | None = None
    code: str | None = None


class OpenAIError(BaseModel):
    """OpenAI's error envelope, used on /v1/chat/completions."""

    error: OpenAIErrorBody


_TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    408: "Request timeout",
    409: "Conflict",
    410: "Gone",
    413: "Payload too large",
    415: "Unsupported media type",
    422: "Unprocessable content",
    429: "Too many requests",
    500: "Internal server error",
    503: "Service unavailable",
    504: "Gateway timeout",
}
_OPENAI_TYPES = {
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "invalid_request_error",
    422: "invalid_request_error",
    429: "rate_limit_exceeded",
}


def problem_response(
    request: Request,
    status: int,
    detail: str,
    *,
    remedy: str = "",
    headers: dict[str, str] | None = None,
    errors: list[dict[str, Any]] | None = None,
) -> JSONResponse:
    """The one error body: problem+json, or OpenAI's envelope on the chat route."""
    request_id = str(getattr(request.state, "request_id", ""))
    if request.url.path in OPENAI_PATHS:
        kind = _OPENAI_TYPES.get(status, "server_error" if status >= 500 else "invalid_request")
        body = OpenAIError(
            error=OpenAIErrorBody(message=detail, type=kind, code=str(status))
        ).model_dump()
        return JSONResponse(body, status_code=status, headers=headers)
    problem = Problem(
        title=_TITLES.get(status, "Error"),
        status=status,
        detail=detail,
        remedy=remedy,
        instance=request.url.path,
        request_id=request_id,
        errors=errors,
    )
    return JSONResponse(
        problem.model_dump(exclude_none=True),
        status_code=status,
        headers=headers,
        media_type=PROBLEM_TYPE,
    )


def install_error_handlers(app: FastAPI) -> None:
    """Map every error the routes can raise to one response format."""

    @app.exception_handler(AuthError)
    async def _auth(request: Request, exc: AuthError) -> JSONResponse:
        challenge = f'Bearer error="{exc.error}", error_description="{_quote(exc.detail)}"'
        headers = {"WWW-Authenticate": challenge} if exc.status == 401 else None
        return problem_response(request, exc.status, exc.detail, headers=headers)

    @app.exception_handler(ApiError)
    async def _api(request: Request, exc: ApiError) -> JSONResponse:
        return problem_response(
            request, exc.status, exc.message, remedy=exc.remedy, headers=exc.headers
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"loc": list(error.get("loc", ())), "msg": str(error.get("msg", ""))}
            for error in exc.errors()
        ]
        summary = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors[:5])
        return problem_response(request, 422, f"invalid request: {summary}", errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return problem_response(
            request, exc.status_code, str(exc.detail), headers=dict(exc.headers or {})
        )

    @app.exception_handler(AirlockError)
    async def _domain(request: Request, exc: AirlockError) -> JSONResponse:
        return problem_response(request, domain_status(exc), exc.message, remedy=exc.remedy)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", extra={"path": request.url.path})
        return problem_response(
            request, 500, "internal error", remedy="quote the request id to the operator"
        )


def domain_status(exc: AirlockError) -> int:
    """The HTTP status of a domain error that reached a route."""
    if isinstance(exc, StorageError):
        return 503
    if isinstance(exc, TicketError | IntakeConflictError):
        return 422  # IntakeConflictError: an Idempotency-Key reused for another request
    if isinstance(exc, HelpdeskError):
        return 400
    return 500


def _quote(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', "'")


def problem_doc(status: int) -> dict[str, Any]:
    """The OpenAPI entry of an error status answered as problem+json."""
    return {
        "model": Problem,
        "description": _TITLES.get(status, "Error"),
        "content": {
            "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
        },
    }


# Every route may answer these (authentication, limits, timeouts, dependencies); routes add
# their own (404, 409...). The chat route documents OpenAI's error shape for them instead.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: problem_doc(status)
    for status in (400, 401, 403, 404, 409, 413, 415, 422, 429, 500, 503, 504)
}
