"""Why a request is not authenticated (401) or not allowed (403)."""

from __future__ import annotations


class AuthError(Exception):
    """A refused credential; `status` is 401 (who are you?) or 403 (not allowed)."""

    def __init__(self, detail: str, *, status: int = 401, error: str = "invalid_token") -> None:
        super().__init__(detail)
        self.detail = detail
        self.status = status
        self.error = error  # RFC 6750 error code for WWW-Authenticate
