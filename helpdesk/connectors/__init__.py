"""Ticketing connectors: write-back to Zendesk, Jira Service Management and ServiceNow, and
their webhook payloads parsed into our Ticket."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from airlock.settings_helpdesk import WritebackSettings
from helpdesk.connectors.http import RetryingSender, Sleep
from helpdesk.connectors.jira import JiraConnector, jira_auth, parse_jira_webhook
from helpdesk.connectors.servicenow import (
    ServiceNowConnector,
    parse_servicenow_webhook,
    servicenow_auth,
)
from helpdesk.connectors.types import (
    TicketingConnector,
    WriteBack,
    WriteBackResult,
)
from helpdesk.connectors.zendesk import ZendeskConnector, parse_zendesk_webhook, zendesk_auth
from helpdesk.errors import ConnectorError, TicketError
from helpdesk.tickets import Ticket

__all__ = [
    "ConnectorError",
    "TicketError",
    "TicketingConnector",
    "WriteBack",
    "WriteBackResult",
    "build_connector",
    "parse_webhook",
]

_PARSERS: dict[str, Callable[..., Ticket]] = {
    "zendesk": parse_zendesk_webhook,
    "jira": parse_jira_webhook,
    "servicenow": parse_servicenow_webhook,
}


def build_connector(
    settings: WritebackSettings,
    *,
    client: httpx.Client | None = None,
    sleep: Sleep = time.sleep,
) -> TicketingConnector:
    """The connector of `settings.system`; it owns (and closes) the client only if it made it."""
    if not settings.username or settings.token is None:
        raise ConnectorError(
            f"{settings.system} write-back has no username or token",
            remedy="set helpdesk.writeback.<tenant>.username and token",
        )
    owned = None if client is not None else httpx.Client(timeout=settings.timeout_s)
    http = client if client is not None else owned
    assert http is not None  # one of the two is set above
    if settings.system == "zendesk":
        sender = RetryingSender(http, settings, sleep=sleep, auth=zendesk_auth(settings))
        return ZendeskConnector(settings, sender, owned=owned)
    if settings.system == "jira":
        sender = RetryingSender(http, settings, sleep=sleep, auth=jira_auth(settings))
        return JiraConnector(settings, sender, owned=owned)
    sender = RetryingSender(http, settings, sleep=sleep, auth=servicenow_auth(settings))
    return ServiceNowConnector(settings, sender, owned=owned)


def parse_webhook(system: str, payload: Mapping[str, Any], *, tenant: str) -> Ticket:
    """Our Ticket from a ticketing system's webhook payload (TicketError when malformed)."""
    parser = _PARSERS.get(system)
    if parser is None:
        raise TicketError(
            f"unknown ticketing system {system!r}", remedy=f"use one of {', '.join(_PARSERS)}"
        )
    if not isinstance(payload, Mapping):
        raise TicketError(f"{system} webhook payload is not a JSON object")
    return parser(payload, tenant=tenant)
