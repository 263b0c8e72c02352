"""ServiceNow: incident write-back through the Table API; business-rule webhook payload.

Write-back is one `PATCH /api/now/table/incident/{sys_id}` carrying `work_notes` (internal)
or `comments` (public), `urgency` + `impact` (ServiceNow derives `priority` from them) and
`assignment_group`; before it, the incident's journal entries
(`GET /api/now/table/sys_journal_field`, `element_id` = the incident) are searched for this
ticket version's marker so a retried write-back never posts a second note. Tags are not
written: incidents have no tag field.

Webhook: an async business rule on `incident` (after insert) sends an outbound REST message
(POST, JSON) with this body, built with `JSON.stringify` so texts are escaped:

    {
      "sys_id": current.getUniqueValue(),
      "number": current.getValue("number"),
      "short_description": current.getValue("short_description"),
      "description": current.getValue("description"),
      "caller_id": current.getValue("caller_id"),
      "contact_type": current.getValue("contact_type"),
      "sys_created_on": current.getValue("sys_created_on"),
      "url": gs.getProperty("glide.servlet.uri") + "incident.do?sys_id=" + current.getUniqueValue()
    }

`getValue` gives `sys_created_on` as "YYYY-MM-DD HH:MM:SS" in UTC, and `caller_id` as the
caller's sys_id.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

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
from helpdesk.errors import ConnectorError
from helpdesk.tickets import Ticket

SYSTEM = "servicenow"
# (urgency, impact) giving priorities 1..4 in ServiceNow's default priority lookup.
URGENCY_IMPACT = {"P1": ("1", "1"), "P2": ("2", "1"), "P3": ("2", "2"), "P4": ("3", "2")}
_SYS_ID = re.compile(r"^[0-9a-f]{32}$")
_CHANNELS = {"email": "email", "phone": "phone", "chat": "chat", "self-service": "web"}


def servicenow_auth(settings: WritebackSettings) -> httpx.Auth:
    """Basic auth: the integration user and its password."""
    return basic_auth(settings)


class ServiceNowConnector(ConnectorBase):
    """Writes decisions back to ServiceNow incidents."""

    system = SYSTEM

    def write_back(self, item: WriteBack) -> WriteBackResult:
        """One incident update: the note unless already there, urgency/impact and group."""
        if not _SYS_ID.match(item.external_id):
            raise ConnectorError(
                f"servicenow incident key {item.external_id!r} is not a sys_id",
                remedy="pass the incident's sys_id (32 hex digits), not its number",
            )
        tally = Tally()
        record = self._fields(item)
        duplicate = bool(item.body.strip()) and self._has_note(item, tally)
        if item.body.strip() and not duplicate:
            public = item.public and self._settings.public_replies
            record["comments" if public else "work_notes"] = item.get_comment()
        if record:
            recheck = (lambda: self._has_note(item, tally)) if not duplicate else None
            sent = self._sender.send(
                "PATCH",
                f"/api/now/table/incident/{item.external_id}",
                params={"sysparm_fields": "sys_id", "sysparm_exclude_reference_link": "true"},
                json=record,
                key=item.get_idempotency_key("update"),
                tally=tally,
                already_done=recheck if item.body.strip() else None,
            )
            duplicate = duplicate or sent is None
        return WriteBackResult(SYSTEM, item.external_id, tally.requests, tally.retries, duplicate)

    def _fields(self, item: WriteBack) -> dict[str, Any]:
        fields: dict[str, Any] = {}
        if self._settings.set_priority and item.priority:
            fields["urgency"], fields["impact"] = URGENCY_IMPACT[item.priority]
        group = self._settings.groups.get(item.queue or "")
        if group is not None:
            fields["assignment_group"] = group
        return fields

    def _has_note(self, item: WriteBack, tally: Tally) -> bool:
        # The marker itself is matched here, not in the query: ids may hold query syntax (^).
        query = (
            f"element_id={item.external_id}^elementINwork_notes,comments"
            "^valueLIKEairlock ticket^ORDERBYDESCsys_created_on"
        )
        response = self._sender.send(
            "GET",
            "/api/now/table/sys_journal_field",
            params={"sysparm_query": query, "sysparm_fields": "value", "sysparm_limit": "100"},
            tally=tally,
        )
        rows = response.json().get("result", []) if response is not None else []
        marker = item.get_marker()
        return any(marker in str(row.get("value") or "") for row in rows)


def parse_servicenow_webhook(payload: Mapping[str, Any], *, tenant: str) -> Ticket:
    """Our Ticket from the documented business-rule payload."""
    sys_id = str(require(payload, "sys_id", system=SYSTEM))
    contact = str(optional(payload, "contact_type") or "").lower()
    return build_ticket(
        system=SYSTEM,
        tenant=tenant,
        key=str(require(payload, "number", system=SYSTEM)),
        external_id=sys_id,
        customer_id=str(require(payload, "caller_id", system=SYSTEM)),
        url=str(optional(payload, "url") or ""),
        fields={
            "subject": str(require(payload, "short_description", system=SYSTEM)),
            "body": str(optional(payload, "description") or ""),
            "channel": _CHANNELS.get(contact, "api"),
            "created_at": parse_timestamp(
                optional(payload, "sys_created_on"), field="sys_created_on", system=SYSTEM
            ),
        },
    )
