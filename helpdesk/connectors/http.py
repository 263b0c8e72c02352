"""One sync retrying HTTP sender for the ticketing connectors (429, 5xx, connection errors)."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from airlock.settings_helpdesk import WritebackSettings
from helpdesk.errors import ConnectorError

logger = logging.getLogger(__name__)

Sleep = Callable[[float], None]
Clock = Callable[[], datetime]
# 409: Zendesk answers it to concurrent updates of one ticket; the update was not applied.
_RETRYABLE = frozenset({408, 409, 425, 429, 500, 502, 503, 504})
# Statuses that say the request was not applied: a retry cannot duplicate a comment.
_NOT_APPLIED = frozenset({408, 409, 425, 429, 503})
_SECONDS = re.compile(r"^\d+(\.\d+)?$")
_MAX_MESSAGE = 200


@dataclass
class Tally:
    """Requests sent and retries made for one write-back."""

    requests: int = 0
    retries: int = 0


@dataclass(frozen=True)
class _Failure:
    what: str
    status: int | None
    retry_after: float | None
    maybe_applied: bool


def retry_after_delay(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a Retry-After value (delta seconds or HTTP-date); None if absent."""
    text = (value or "").strip()
    if not text:
        return None
    if _SECONDS.match(text):
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def system_message(response: httpx.Response) -> str:
    """The system's own error message (Zendesk, Jira, ServiceNow shapes), short."""
    try:
        data = response.json()
    except ValueError:
        data = None
    parts: list[str] = []
    if isinstance(data, Mapping):
        error = data.get("error")
        if isinstance(error, Mapping):  # ServiceNow: {"error": {"message", "detail"}}
            parts += [str(error.get("message") or ""), str(error.get("detail") or "")]
        elif isinstance(error, str):  # Zendesk: {"error", "description"}
            parts += [error, str(data.get("description") or "")]
        messages = data.get("errorMessages")  # Jira platform
        if isinstance(messages, list):
            parts += [str(message) for message in messages]
        parts.append(str(data.get("errorMessage") or ""))  # Jira Service Management
        errors = data.get("errors")
        if isinstance(errors, Mapping) and errors:  # Jira field errors: names only
            parts.append("invalid fields: " + ", ".join(sorted(str(k) for k in errors)))
    text = "; ".join(part for part in parts if part) or response.reason_phrase
    return text[:_MAX_MESSAGE]


def _remedy(system: str, status: int) -> str:
    if status in (401, 403):
        return f"check the username and token of the {system} write-back and the user's rights"
    if status == 404:
        return f"check that the {system} record exists and that base_url is the right instance"
    if 300 <= status < 400:
        return "check base_url: it must be the instance root over https (no redirect)"
    return f"check the write-back settings (groups, priority, transition) for {system}"


class RetryingSender:
    """Sends one request to a ticketing system, retrying what is safe to retry."""

    def __init__(
        self,
        client: httpx.Client,
        settings: WritebackSettings,
        *,
        sleep: Sleep = time.sleep,
        clock: Clock = lambda: datetime.now(UTC),
        auth: httpx.Auth,
    ) -> None:
        self.system = settings.system
        self._client = client
        self._settings = settings
        self._root = settings.base_url.rstrip("/")
        self._sleep = sleep
        self._clock = clock
        self._auth = auth

    def send(
        self,
        method: str,
        path: str,
        *,
        tally: Tally,
        key: str | None = None,
        json: Any = None,
        params: Mapping[str, str] | None = None,
        already_done: Callable[[], bool] | None = None,
    ) -> httpx.Response | None:
        """The 2xx response; None when `already_done` finds an ambiguous failure applied."""
        attempt = 0
        while True:
            failure = self._attempt(method, path, tally=tally, key=key, json=json, params=params)
            if isinstance(failure, httpx.Response):
                return failure
            if attempt >= self._settings.max_retries:
                raise self._exhausted(failure, attempt)
            delay = self._delay(attempt, failure.retry_after)
            logger.warning(
                "%s answered %s; retry %d in %.1f s", self.system, failure.what, attempt + 1, delay
            )
            tally.retries += 1
            self._sleep(delay)
            attempt += 1
            # The failed request may have been applied (e.g. 502 after the write): look first.
            if failure.maybe_applied and already_done is not None and already_done():
                return None

    def _attempt(
        self,
        method: str,
        path: str,
        *,
        tally: Tally,
        key: str | None,
        json: Any,
        params: Mapping[str, str] | None,
    ) -> httpx.Response | _Failure:
        headers = {"Accept": "application/json", "User-Agent": "airlock-helpdesk"}
        if key is not None:
            headers["Idempotency-Key"] = key
        tally.requests += 1
        try:
            response = self._client.request(
                method,
                self._root + path,
                json=json,
                params=params,
                headers=headers,
                auth=self._auth,
                timeout=self._settings.timeout_s,
                follow_redirects=False,
            )
        except httpx.TransportError as exc:
            unsent = isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout)
            return _Failure(type(exc).__name__, None, None, maybe_applied=not unsent)
        status = response.status_code
        if 200 <= status < 300:
            return response
        if status not in _RETRYABLE:
            raise ConnectorError(
                f"{self.system} refused {method} {path} with HTTP {status}: "
                f"{system_message(response)}",
                remedy=_remedy(self.system, status),
            )
        wait = retry_after_delay(response.headers.get("retry-after"), self._clock())
        return _Failure(f"HTTP {status}", status, wait, maybe_applied=status not in _NOT_APPLIED)

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        cap = self._settings.max_backoff_s
        if retry_after is not None:
            return min(retry_after, cap)
        return float(min(self._settings.backoff_s * 2**attempt, cap))

    def _exhausted(self, failure: _Failure, retries: int) -> ConnectorError:
        if failure.status is None:
            return ConnectorError(
                f"could not reach {self.system} at {self._root} ({failure.what}) "
                f"after {retries} retries",
                remedy="check base_url and that the host is reachable from Airlock",
            )
        return ConnectorError(
            f"{self.system} answered {failure.what} after {retries} retries",
            remedy="the system is overloaded or down; the write-back is retried with the ticket",
        )


def basic_auth(settings: WritebackSettings, user: str | None = None) -> httpx.Auth:
    """HTTP Basic auth with the configured token (`user`: the name when it is not `username`)."""
    token = settings.token.get_secret_value() if settings.token else ""
    return httpx.BasicAuth(settings.username if user is None else user, token)


class ConnectorBase:
    """What every connector holds: its settings, the retrying sender, the client it made."""

    def __init__(
        self, settings: WritebackSettings, sender: RetryingSender, *, owned: httpx.Client | None
    ) -> None:
        self._settings = settings
        self._sender = sender
        self._owned = owned

    def close(self) -> None:
        """Close the HTTP client if this connector created it."""
        if self._owned is not None:
            self._owned.close()
