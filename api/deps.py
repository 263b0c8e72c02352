"""FastAPI dependencies: the app state, the authenticated caller, role checks."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.auth.errors import AuthError
from api.auth.principal import Principal
from api.state import ApiState

_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="keycloak",
    description="An access token of the Keycloak realm (client credentials or user login).",
)


def get_state(request: Request) -> ApiState:
    """The app's state (set by the lifespan)."""
    state: ApiState = request.app.state.api
    return state


State = Annotated[ApiState, Depends(get_state)]


async def get_principal(
    request: Request,
    state: State,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The verified caller; 401 without a usable bearer token; 429 over its rate."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise AuthError("missing bearer token (Authorization: Bearer <access token>)")
    principal = await state.verifier.verify(credentials.credentials)
    request.state.principal = principal
    state.limiter.take(principal)
    return principal


def require_roles(*roles: str) -> Callable[..., Awaitable[Principal]]:
    """A dependency that admits callers holding at least one of `roles` (403 otherwise)."""

    async def check(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
        if not principal.has_any(roles):
            raise AuthError(
                f"this needs one of the roles {', '.join(roles)}; the token has "
                f"{', '.join(sorted(principal.roles)) or 'none'}",
                status=403,
                error="insufficient_scope",
            )
        return principal

    return check


TicketingClient = Annotated[Principal, Depends(require_roles("ticketing-client"))]
Agent = Annotated[Principal, Depends(require_roles("agent"))]
Auditor = Annotated[Principal, Depends(require_roles("auditor"))]
KbEditor = Annotated[Principal, Depends(require_roles("kb-editor"))]
Admin = Annotated[Principal, Depends(require_roles("admin"))]
AnalyticsReader = Annotated[Principal, Depends(require_roles("admin", "agent"))]
ChatUser = Annotated[
    Principal, Depends(require_roles("ml-engineer", "agent", "ticketing-client", "admin"))
]
