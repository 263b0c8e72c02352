"""Serving errors: one root, a few named leaves."""

from __future__ import annotations

from airlock.errors import AirlockError


class ServingError(AirlockError):
    """Root of every serving error."""


class EngineUnavailableError(ServingError):
    """An engine cannot answer now (down, timed out, overloaded, breaker open); try the next."""

    def __init__(self, message: str, *, reason: str = "unavailable", remedy: str = "") -> None:
        super().__init__(message, remedy=remedy)
        self.reason = reason  # a metrics label: connection, timeout, http_status, breaker_open


class AllEnginesDownError(ServingError):
    """Every engine of the chain failed before producing output."""

    def __init__(self, message: str, *, retry_after_s: int, remedy: str = "") -> None:
        super().__init__(message, remedy=remedy)
        self.retry_after_s = retry_after_s


class BadChatRequestError(ServingError):
    """The request itself is wrong (too long for the context, bad parameters); no retry helps."""

    def __init__(self, message: str, *, param: str | None = None, remedy: str = "") -> None:
        super().__init__(message, remedy=remedy)
        self.param = param


class UnknownModelError(ServingError):
    """The request names a model this server or engine does not serve."""


class ServingConfigError(ServingError):
    """A Ray Serve LLM deployment cannot be built as asked (schema or physics)."""
