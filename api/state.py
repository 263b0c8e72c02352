"""The running API's state: the parts, the token verifier, rate limits, decision waiting."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from api.auth.principal import Principal
from api.parts import ApiParts
from api.ratelimit import RateLimiter
from api.waiter import DecisionWaiter
from helpdesk.intake import TicketIntake


class TokenVerifier(Protocol):
    """Turns a bearer token into a caller, or raises `AuthError`."""

    async def verify(self, token: str) -> Principal:
        """The caller of `token`."""
        ...


@dataclass
class ApiState:
    """Everything a route reaches through `api.deps` (one per app)."""

    parts: ApiParts
    verifier: TokenVerifier
    limiter: RateLimiter
    waiter: DecisionWaiter
    intake: TicketIntake
