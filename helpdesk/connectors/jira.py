"""Jira Service Management: comments, issue fields and transitions; issue webhooks.

Write-back: the comment through `POST /rest/servicedeskapi/request/{key}/comment` (`public`
false: an internal comment), unless a comment carrying this version's marker already exists
(`GET` of the same path, all pages); priority and labels through `PUT /rest/api/2/issue/{key}`;
when escalated and `jira_escalate_transition` is set, `POST /rest/api/2/issue/{key}/transitions`
if that transition is still offered (`GET` of the same path), so a retry does not fail on it.

Webhook: Jira's own `jira:issue_created` / `jira:issue_updated` payload: `issue.key`,
`issue.fields.summary`, `issue.fields.description` (wiki text or Atlassian Document Format),
`issue.fields.reporter` (`accountId`, else `name` or `emailAddress`), `issue.fields.created`.
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
from helpdesk.errors import TicketError
from helpdesk.tickets import Ticket

SYSTEM = "jira"
PRIORITY = {"P1": "Highest", "P2": "High", "P3": "Medium", "P4": "Low"}
_PAGE = 100
_MAX_PAGES = 20
_BLOCKS = frozenset(
    {
        "paragraph",
        "heading",
        "blockquote",
        "codeBlock",
        "listItem",
        "panel",
        "tableRow",
        "tableCell",
    }
)


def jira_auth(settings: WritebackSettings) -> httpx.Auth:
    """Basic auth: user e-mail (or name) and API token."""
    return basic_auth(settings)


class JiraConnector(ConnectorBase):
    """Writes decisions back to Jira Service Management requests."""

    system = SYSTEM

    def write_back(self, item: WriteBack) -> WriteBackResult:
        """Comment once per version, then fields, then the escalation transition."""
        tally = Tally()
        key = quote(item.external_id, safe="")
        duplicate = False
        if item.body.strip():
            duplicate = self._has_comment(key, item, tally)
            if not duplicate:
                duplicate = self._post_comment(key, item, tally)
        fields = self._fields(item)
        if fields:
            self._sender.send(
                "PUT",
                f"/rest/api/2/issue/{key}",
                json=fields,
                key=item.get_idempotency_key("fields"),
                tally=tally,
            )
        transition = self._settings.jira_escalate_transition
        if item.escalated and transition and self._offers(key, transition, tally):
            self._sender.send(
                "POST",
                f"/rest/api/2/issue/{key}/transitions",
                json={"transition": {"id": transition}},
                key=item.get_idempotency_key("transition"),
                tally=tally,
            )
        return WriteBackResult(SYSTEM, item.external_id, tally.requests, tally.retries, duplicate)

    def _post_comment(self, key: str, item: WriteBack, tally: Tally) -> bool:
        sent = self._sender.send(
            "POST",
            f"/rest/servicedeskapi/request/{key}/comment",
            json={
                "body": item.get_comment(),
                "public": item.public and self._settings.public_replies,
            },
            key=item.get_idempotency_key("comment"),
            tally=tally,
            already_done=lambda: self._has_comment(key, item, tally),
        )
        return sent is None

    def _fields(self, item: WriteBack) -> dict[str, Any]:
        body: dict[str, Any] = {}
        if self._settings.set_priority and item.priority:
            body["fields"] = {"priority": {"name": PRIORITY[item.priority]}}
        if self._settings.set_tags and item.get_tags():
            body["update"] = {"labels": [{"add": tag} for tag in item.get_tags()]}
        return body

    def _has_comment(self, key: str, item: WriteBack, tally: Tally) -> bool:
        marker = item.get_marker()
        for page in range(_MAX_PAGES):
            response = self._sender.send(
                "GET",
                f"/rest/servicedeskapi/request/{key}/comment",
                params={"start": str(page * _PAGE), "limit": str(_PAGE)},
                tally=tally,
            )
            data = response.json() if response is not None else {}
            values = data.get("values", [])
            if any(marker in str(value.get("body") or "") for value in values):
                return True
            if data.get("isLastPage", True) or not values:
                return False
        return False

    def _offers(self, key: str, transition: str, tally: Tally) -> bool:
        response = self._sender.send("GET", f"/rest/api/2/issue/{key}/transitions", tally=tally)
        offered = response.json().get("transitions", []) if response is not None else []
        return any(str(option.get("id")) == transition for option in offered)


def flatten_adf(node: Any) -> str:
    """The plain text of an Atlassian Document Format node (text nodes, one line per block)."""
    if isinstance(node, str):
        return node
    if not isinstance(node, Mapping):
        return ""
    kind = node.get("type")
    if kind == "text":
        return str(node.get("text") or "")
    if kind == "hardBreak":
        return "\n"
    if kind in ("mention", "emoji", "status", "date"):
        attrs = node.get("attrs") or {}
        return str(attrs.get("text") or attrs.get("shortName") or "")
    children = [flatten_adf(child) for child in node.get("content") or []]
    separator = "\n" if any(child.get("type") in _BLOCKS for child in _nodes(node)) else ""
    text = separator.join(children)
    return text.strip("\n") if kind == "doc" else text


def _nodes(node: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [child for child in node.get("content") or [] if isinstance(child, Mapping)]


def parse_jira_webhook(payload: Mapping[str, Any], *, tenant: str) -> Ticket:
    """Our Ticket from a `jira:issue_created` or `jira:issue_updated` webhook."""
    key = str(require(payload, "issue.key", system=SYSTEM))
    fields = require(payload, "issue.fields", system=SYSTEM)
    reporter = require(payload, "issue.fields.reporter", system=SYSTEM)
    if not isinstance(fields, Mapping) or not isinstance(reporter, Mapping):
        raise TicketError("jira webhook payload: 'issue.fields' is not an object")
    customer = reporter.get("accountId") or reporter.get("name") or reporter.get("emailAddress")
    if not customer:
        raise TicketError("jira webhook payload has no 'issue.fields.reporter.accountId'")
    self_url = str(optional(payload, "issue.self") or "")
    root, found, _ = self_url.partition("/rest/")
    url = f"{root}/browse/{key}" if found else ""
    return build_ticket(
        system=SYSTEM,
        tenant=tenant,
        key=key,
        customer_id=str(customer),
        url=url,
        fields={
            "subject": str(require(payload, "issue.fields.summary", system=SYSTEM)),
            "body": flatten_adf(fields.get("description")),
            "created_at": parse_timestamp(
                fields.get("created"), field="issue.fields.created", system=SYSTEM
            ),
        },
    )
