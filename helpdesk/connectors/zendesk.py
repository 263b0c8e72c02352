"""Zendesk Support: write-back through the Tickets API and the recommended webhook payload.

Write-back is one `PUT /api/v2/tickets/{id}.json` carrying the comment (internal note or
public reply), `priority`, `additional_tags` and `group_id`; before it, the newest 100
comments (`GET /api/v2/tickets/{id}/comments.json?sort_order=desc`) are searched for this
ticket version's marker so a retried write-back never posts a second comment.

Webhook: a trigger ("Ticket is Created", or a comment from the requester) notifies a webhook
(POST, JSON) with this body; Zendesk fills the placeholders:

    {
      "ticket": {
        "id": "{{ticket.id}}",
        "subject": "{{ticket.title}}",
        "description": "{{ticket.description}}",
        "requester_id": "{{ticket.requester.id}}",
        "channel": "{{ticket.via}}",
        "created_at": "{{ticket.created_at_with_timestamp}}",
        "url": "{{ticket.link}}"
      }
    }

Zendesk's own event webhooks (`zen:event-type:ticket.created`, fields in `detail`) are read too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import httpx

from airlock.settings_helpdesk import WritebackSettings
from helpdesk.connectors.http import ConnectorBase, Tally, basic_auth
from helpdesk.connectors.types import (
    WriteBack,
    WriteBackResult,
    build_ticket,
    optional,
    parse_timestamp,
    require,
)
from helpdesk.errors import ConnectorError, TicketError
from helpdesk.tickets import Ticket

SYSTEM = "zendesk"
PRIORITY = {"P1": "urgent", "P2": "high", "P3": "normal", "P4": "low"}
_CHANNELS = {"email": "email", "mail": "email", "web": "web", "chat": "chat", "voice": "phone"}


def zendesk_auth(settings: WritebackSettings) -> httpx.Auth:
    """API-token Basic auth: `{email}/token:{api_token}`."""
    return basic_auth(settings, f"{settings.username}/token")


class ZendeskConnector(ConnectorBase):
    """Writes decisions back to Zendesk Support tickets."""

    system = SYSTEM

    def write_back(self, item: WriteBack) -> WriteBackResult:
        """One ticket update: the comment unless already posted, priority, tags and group."""
        if not item.external_id.isdigit():
            raise ConnectorError(
                f"zendesk ticket id {item.external_id!r} is not a number",
                remedy="pass the Zendesk ticket id (the external ref of the webhook ticket)",
            )
        tally = Tally()
        ticket = self._fields(item)
        duplicate = bool(item.body.strip()) and self._has_comment(item, tally)
        if item.body.strip() and not duplicate:
            public = item.public and self._settings.public_replies
            ticket["comment"] = {"body": item.get_comment(), "public": public}
        if ticket:
            recheck = (lambda: self._has_comment(item, tally)) if "comment" in ticket else None
            sent = self._sender.send(
                "PUT",
                f"/api/v2/tickets/{item.external_id}.json",
                json={"ticket": ticket},
                key=item.get_idempotency_key("update"),
                tally=tally,
                already_done=recheck,
            )
            duplicate = duplicate or sent is None
        return WriteBackResult(SYSTEM, item.external_id, tally.requests, tally.retries, duplicate)

    def _fields(self, item: WriteBack) -> dict[str, Any]:
        fields: dict[str, Any] = {}
        if self._settings.set_priority and item.priority:
            fields["priority"] = PRIORITY[item.priority]
        if self._settings.set_tags and item.get_tags():
            fields["additional_tags"] = list(item.get_tags())
        group = self._settings.groups.get(item.queue or "")
        if group is not None:
            if not group.isdigit():
                raise ConnectorError(
                    f"zendesk group for queue {item.queue!r} is not a numeric group id",
                    remedy="set helpdesk.writeback.<tenant>.groups to Zendesk group ids",
                )
            fields["group_id"] = int(group)
        return fields

    def _has_comment(self, item: WriteBack, tally: Tally) -> bool:
        response = self._sender.send(
            "GET",
            f"/api/v2/tickets/{quote(item.external_id, safe='')}/comments.json",
            params={"sort_order": "desc", "per_page": "100"},
            tally=tally,
        )
        comments = response.json().get("comments", []) if response is not None else []
        marker = item.get_marker()
        return any(marker in str(comment.get("body") or "") for comment in comments)


def parse_zendesk_webhook(payload: Mapping[str, Any], *, tenant: str) -> Ticket:
    """Our Ticket from the recommended trigger body or a Zendesk ticket event."""
    if str(payload.get("type", "")).startswith("zen:event-type:ticket."):
        ticket = require(payload, "detail", system=SYSTEM)
        via = optional(ticket, "via.channel")
    else:
        ticket = require(payload, "ticket", system=SYSTEM)
        via = optional(ticket, "channel")
    if not isinstance(ticket, Mapping):
        raise TicketError("zendesk webhook payload: 'ticket' is not an object")
    key = str(require(ticket, "id", system=SYSTEM))
    channel = _CHANNELS.get(str(via or "").lower().split(" ")[0], "api")
    return build_ticket(
        system=SYSTEM,
        tenant=tenant,
        key=key,
        customer_id=str(require(ticket, "requester_id", system=SYSTEM)),
        url=str(optional(ticket, "url") or ""),
        fields={
            "subject": str(optional(ticket, "subject") or ""),
            "body": str(require(ticket, "description", system=SYSTEM)),
            "channel": channel,
            "created_at": parse_timestamp(
                optional(ticket, "created_at"), field="created_at", system=SYSTEM
            ),
        },
    )
