"""Webhook payloads of Zendesk, Jira and ServiceNow parsed into our Ticket."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from helpdesk.connectors import TicketError, parse_webhook
from helpdesk.tickets import content_version

ZENDESK = {
    "ticket": {
        "id": "35436",
        "subject": "Refund not received",
        "description": "I returned the order two weeks ago.",
        "requester_id": "20978392",
        "channel": "Email",
        "created_at": "2026-03-02T09:15:00Z",
        "url": "acme.zendesk.com/agent/tickets/35436",
    }
}
JIRA = {
    "webhookEvent": "jira:issue_created",
    "issue": {
        "id": "10002",
        "key": "SUP-7",
        "self": "https://jira.acme.internal/rest/api/2/issue/10002",
        "fields": {
            "summary": "VPN drops every hour",
            "description": {
                "type": "doc",
                "version": 1,
                "content": [
                    {"type": "paragraph", "content": [{"type": "text", "text": "It drops."}]},
                    {
                        "type": "paragraph",
                        "content": [
                            {"type": "text", "text": "Since "},
                            {"type": "text", "text": "Monday", "marks": [{"type": "strong"}]},
                            {"type": "hardBreak"},
                            {"type": "mention", "attrs": {"id": "x", "text": "@Ops"}},
                        ],
                    },
                ],
            },
            "reporter": {"accountId": "5b10ac8d82e05b22cc7d4ef5", "emailAddress": "a@b.test"},
            "created": "2026-03-02T10:30:00.000+0100",
            "priority": {"name": "High"},
        },
    },
}
SERVICENOW = {
    "sys_id": "9d385017c611228701d22104cc95c371",
    "number": "INC0010001",
    "short_description": "Printer offline",
    "description": "The third-floor printer is offline.",
    "caller_id": "5137153cc611227c000bbd1bd8cd2005",
    "contact_type": "phone",
    "priority": "3",
    "sys_created_on": "2026-03-02 08:00:05",
    "url": "https://acme.service-now.com/incident.do?sys_id=9d385017c611228701d22104cc95c371",
}


def _without(payload: dict[str, Any], *path: str) -> dict[str, Any]:
    """A deep copy of `payload` without the field at `path`."""
    copy: dict[str, Any] = {
        k: (_without(v) if isinstance(v, dict) else v) for k, v in payload.items()
    }
    if path:
        parent = copy
        for part in path[:-1]:
            parent = parent[part]
        del parent[path[-1]]
    return copy


def test_zendesk_template_becomes_ticket_of_the_given_tenant():
    ticket = parse_webhook("zendesk", ZENDESK, tenant="acme")
    assert (ticket.id, ticket.tenant, ticket.customer.id) == ("zendesk:35436", "acme", "20978392")
    assert (ticket.subject, ticket.body) == (
        "Refund not received",
        ZENDESK["ticket"]["description"],
    )
    assert ticket.channel == "email"
    assert ticket.created_at == datetime(2026, 3, 2, 9, 15, tzinfo=UTC)
    assert (ticket.external.system, ticket.external.id) == ("zendesk", "35436")


def test_zendesk_event_webhook_becomes_ticket():
    payload = {
        "type": "zen:event-type:ticket.created",
        "detail": {
            "id": "35436",
            "subject": "Refund not received",
            "description": "I returned the order.",
            "requester_id": "20978392",
            "created_at": "2026-03-02T09:15:00Z",
            "via": {"channel": "web"},
        },
    }
    ticket = parse_webhook("zendesk", payload, tenant="acme")
    assert (ticket.id, ticket.channel, ticket.body) == (
        "zendesk:35436",
        "web",
        "I returned the order.",
    )


def test_jira_issue_with_adf_description_becomes_ticket():
    ticket = parse_webhook("jira", JIRA, tenant="acme")
    assert (ticket.id, ticket.customer.id) == ("jira:SUP-7", "5b10ac8d82e05b22cc7d4ef5")
    assert ticket.subject == "VPN drops every hour"
    assert ticket.body == "It drops.\nSince Monday\n@Ops"
    assert ticket.created_at == datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
    assert ticket.external.url == "https://jira.acme.internal/browse/SUP-7"


def test_jira_issue_with_plain_description_keeps_text():
    payload = _without(JIRA)
    payload["issue"]["fields"]["description"] = "Plain *wiki* text"
    assert parse_webhook("jira", payload, tenant="acme").body == "Plain *wiki* text"


def test_jira_reporter_without_account_id_falls_back_to_name():
    payload = _without(JIRA)
    payload["issue"]["fields"]["reporter"] = {"name": "jdoe", "emailAddress": "j@doe.test"}
    assert parse_webhook("jira", payload, tenant="acme").customer.id == "jdoe"


def test_servicenow_payload_becomes_ticket_with_utc_creation_time():
    ticket = parse_webhook("servicenow", SERVICENOW, tenant="acme")
    assert (ticket.id, ticket.customer.id) == ("servicenow:INC0010001", SERVICENOW["caller_id"])
    assert (ticket.subject, ticket.body, ticket.channel) == (
        "Printer offline",
        "The third-floor printer is offline.",
        "phone",
    )
    assert ticket.created_at == datetime(2026, 3, 2, 8, 0, 5, tzinfo=UTC)
    assert ticket.external.id == SERVICENOW["sys_id"]


def test_webhook_ticket_version_is_content_hash_stable_across_updates():
    first = parse_webhook("zendesk", ZENDESK, tenant="acme")
    updated = _without(ZENDESK)
    updated["ticket"]["url"] = "changed by our own write-back"
    second = parse_webhook("zendesk", updated, tenant="acme")
    assert first.version is None
    assert first.get_version() == second.get_version() == content_version(first)


def test_webhook_ticket_version_changes_when_body_is_edited():
    edited = _without(SERVICENOW)
    edited["description"] = "The printer is on fire."
    before = parse_webhook("servicenow", SERVICENOW, tenant="acme").get_version()
    assert parse_webhook("servicenow", edited, tenant="acme").get_version() != before


@pytest.mark.parametrize(
    ("system", "payload", "missing"),
    [
        ("zendesk", _without(ZENDESK, "ticket", "requester_id"), "requester_id"),
        ("zendesk", _without(ZENDESK, "ticket", "description"), "description"),
        ("zendesk", {}, "ticket"),
        ("jira", _without(JIRA, "issue", "key"), "issue.key"),
        ("jira", _without(JIRA, "issue", "fields", "summary"), "issue.fields.summary"),
        ("jira", _without(JIRA, "issue", "fields", "reporter"), "issue.fields.reporter"),
        ("servicenow", _without(SERVICENOW, "caller_id"), "caller_id"),
        ("servicenow", _without(SERVICENOW, "sys_id"), "sys_id"),
    ],
)
def test_webhook_without_required_field_raises_ticket_error_naming_it(system, payload, missing):
    with pytest.raises(TicketError, match=f"{system} webhook payload has no '{missing}'"):
        parse_webhook(system, payload, tenant="acme")


def test_webhook_with_bad_timestamp_raises_ticket_error_naming_field():
    payload = _without(SERVICENOW)
    payload["sys_created_on"] = "yesterday"
    with pytest.raises(TicketError, match="'sys_created_on' is not a timestamp"):
        parse_webhook("servicenow", payload, tenant="acme")


def test_webhook_with_bad_tenant_raises_ticket_error_without_ticket_text():
    with pytest.raises(TicketError, match="tenant") as caught:
        parse_webhook("zendesk", ZENDESK, tenant="not a tenant")
    assert "Refund" not in str(caught.value)


def test_webhook_of_unknown_system_raises_ticket_error():
    with pytest.raises(TicketError, match="unknown ticketing system 'freshdesk'"):
        parse_webhook("freshdesk", ZENDESK, tenant="acme")
