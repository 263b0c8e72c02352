"""Webhook senders: which tenant a delivery is for, whether its signature holds, its id.

Zendesk signs `timestamp + raw body` (HMAC-SHA256, base64) and sends the time it signed;
Jira signs the raw body (`X-Hub-Signature: sha256=<hex>`); ServiceNow cannot sign, so it
sends a shared token in a configured header. Every comparison is constant-time, and nothing
of the body is read before the sender is proven.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from airlock.settings_api import WebhookSettings
from api.errors import ApiError, NotFoundError, UnauthorizedError
from audit.events import Actor
from helpdesk.intake import request_digest

log = logging.getLogger(__name__)

System = Literal["zendesk", "jira", "servicenow"]

ZENDESK_SIGNATURE = "X-Zendesk-Webhook-Signature"
ZENDESK_TIMESTAMP = "X-Zendesk-Webhook-Signature-Timestamp"
ZENDESK_INVOCATION = "X-Zendesk-Webhook-Invocation-Id"
JIRA_SIGNATURE = "X-Hub-Signature"
JIRA_IDENTIFIER = "X-Atlassian-Webhook-Identifier"
DELIVERY_ID = "X-Airlock-Delivery-Id"
MAX_DELIVERY_ID_CHARS = 255  # the intake key column's width
_DELIVERY_HEADERS: dict[str, str] = {
    "zendesk": ZENDESK_INVOCATION,
    "jira": JIRA_IDENTIFIER,
    "servicenow": DELIVERY_ID,
}


@dataclass(frozen=True)
class WebhookSender:
    """One tenant's ticketing system, as configured under `api.webhooks`."""

    system: str
    tenant: str
    settings: WebhookSettings

    def get_actor(self) -> Actor:
        """Who the audit log names for this sender's deliveries."""
        return Actor(subject=f"webhook:{self.system}", client_id=self.get_key_sender())

    def get_key_sender(self) -> str:
        """The scope of its delivery ids: `<system>:<tenant>`."""
        return f"{self.system}:{self.tenant}"


def resolve_sender(
    webhooks: Mapping[str, WebhookSettings], system: str, tenant: str | None
) -> WebhookSender:
    """The configured sender for `?tenant=` (or the system's only tenant); 404 otherwise."""
    if tenant is None:
        candidates = [name for name, hook in webhooks.items() if hook.system == system]
        tenant = candidates[0] if len(candidates) == 1 else None
    settings = webhooks.get(tenant) if tenant is not None else None
    if tenant is None or settings is None or settings.system != system:
        # One answer for every miss: the endpoint does not say which tenants exist.
        raise NotFoundError(
            f"no {system} webhook is configured for this tenant",
            remedy="check the ?tenant= parameter of the webhook URL and api.webhooks",
        )
    return WebhookSender(system=system, tenant=tenant, settings=settings)


def verify_delivery(
    sender: WebhookSender,
    headers: Mapping[str, str],
    body: bytes,
    *,
    max_age_s: int,
    now: datetime,
) -> None:
    """Raise UnauthorizedError unless the delivery carries the sender's proof over `body`."""
    secret = sender.settings.secret.get_secret_value()
    try:
        if sender.system == "zendesk":
            verify_zendesk(secret, headers, body, max_age_s=max_age_s, now=now)
        elif sender.system == "jira":
            verify_jira(secret, headers, body)
        else:
            verify_token(secret, sender.settings.token_header, headers)
    except UnauthorizedError as exc:
        log.warning(
            "webhook refused",
            extra={"system": sender.system, "tenant": sender.tenant, "reason": exc.message},
        )
        raise


def zendesk_signature(secret: str, timestamp: str, body: bytes) -> str:
    """Zendesk's signature: base64 of HMAC-SHA256(secret, timestamp + body)."""
    digest = hmac.new(secret.encode(), timestamp.encode() + body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def jira_signature(secret: str, body: bytes) -> str:
    """Jira's X-Hub-Signature value: `sha256=` and the hex HMAC-SHA256(secret, body)."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_zendesk(
    secret: str, headers: Mapping[str, str], body: bytes, *, max_age_s: int, now: datetime
) -> None:
    """Check Zendesk's signature over timestamp + body, then the timestamp's age."""
    signature, timestamp = headers.get(ZENDESK_SIGNATURE), headers.get(ZENDESK_TIMESTAMP)
    if not signature or not timestamp:
        raise UnauthorizedError(
            f"the delivery lacks {ZENDESK_SIGNATURE} or {ZENDESK_TIMESTAMP}",
            remedy="send it from a Zendesk webhook (Zendesk signs every request); check that "
            "no proxy strips the headers",
        )
    if not _same(zendesk_signature(secret, timestamp, body), signature.strip()):
        raise UnauthorizedError(
            "the Zendesk signature does not match the body",
            remedy="set api.webhooks.<tenant>.secret to the webhook's signing secret (Admin "
            "Center → Apps and integrations → Webhooks → the webhook → Signing secret); no "
            "proxy may rewrite the body",
        )
    signed_at = _parse_time(timestamp)
    age_s = abs((now - signed_at).total_seconds()) if signed_at is not None else None
    if age_s is None or age_s > max_age_s:
        off = "unreadable" if age_s is None else f"{age_s:.0f} s away from this server's clock"
        raise UnauthorizedError(
            f"the Zendesk signature timestamp is stale ({off}; at most {max_age_s} s allowed)",
            remedy="check the sender's clock and this server's clock (NTP); an old delivery "
            "replayed later is refused this way",
        )


def verify_jira(secret: str, headers: Mapping[str, str], body: bytes) -> None:
    """Check Jira's `X-Hub-Signature: sha256=<hex>` over the raw body."""
    signature = headers.get(JIRA_SIGNATURE)
    if not signature:
        raise UnauthorizedError(
            f"the delivery lacks {JIRA_SIGNATURE}",
            remedy="give the Jira webhook a secret (System → WebHooks → Secret) and put the "
            "same secret in api.webhooks.<tenant>.secret",
        )
    method, _, digest = signature.strip().partition("=")
    given = f"{method.lower()}={digest.lower()}"
    if not _same(jira_signature(secret, body), given):
        raise UnauthorizedError(
            "the Jira signature does not match the body",
            remedy="the Jira webhook's secret must equal api.webhooks.<tenant>.secret; no "
            "proxy may rewrite the body",
        )


def verify_token(secret: str, header: str, headers: Mapping[str, str]) -> None:
    """Check the shared token a sender that cannot sign puts in `header`."""
    token = headers.get(header)
    if not token or not _same(secret, token.strip()):
        raise UnauthorizedError(
            f"the delivery's {header} header is missing or holds the wrong token",
            remedy=f"add the request header {header} with the shared token to the REST "
            "message; it must equal api.webhooks.<tenant>.secret",
        )


def get_delivery_id(
    system: str, headers: Mapping[str, str], payload: Mapping[str, Any], body: bytes
) -> str:
    """The sender's delivery id; without one, the record's id and update time, or the body."""
    header = _DELIVERY_HEADERS[system]
    delivery = (headers.get(header) or "").strip()
    if len(delivery) > MAX_DELIVERY_ID_CHARS:
        raise ApiError(
            f"the {header} header is longer than {MAX_DELIVERY_ID_CHARS} characters",
            remedy="send a shorter delivery id (a UUID or a record id and version)",
        )
    if delivery:
        return delivery
    if system == "servicenow":
        sys_id, updated = payload.get("sys_id"), payload.get("sys_updated_on")
        if isinstance(sys_id, str) and isinstance(updated, str) and sys_id and updated:
            return f"{sys_id}:{updated}"[:MAX_DELIVERY_ID_CHARS]
    # Without an id a redelivery is recognised by its body alone.
    return f"sha256:{request_digest(body)}"


def _same(expected: str, given: str) -> bool:
    """Constant-time equality of an expected value and what the request carried."""
    return hmac.compare_digest(expected.encode(), given.encode("utf-8", "replace"))


def _parse_time(text: str) -> datetime | None:
    """An ISO 8601 time (naive means UTC), or None when unreadable."""
    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
