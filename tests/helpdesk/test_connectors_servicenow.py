"""Contract tests of the ServiceNow connector against a local Table API."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest

from airlock.settings_helpdesk import WritebackSettings
from helpdesk.connectors import ConnectorError, WriteBack, build_connector
from tests.helpdesk.ticketing_servers import TOKEN, USERNAME, TicketingServer, serve

SYS_ID = "9d385017c611228701d22104cc95c371"


@pytest.fixture
def server() -> Iterator[TicketingServer]:
    with serve("servicenow") as running:
        running.add(SYS_ID)
        yield running


def _settings(server: TicketingServer, **overrides: Any) -> WritebackSettings:
    values: dict[str, Any] = {
        "system": "servicenow",
        "base_url": server.url,
        "username": USERNAME,
        "token": TOKEN,
        "groups": {"network": "Network L2"},
    }
    return WritebackSettings(**(values | overrides))


def _item(**overrides: Any) -> WriteBack:
    values: dict[str, Any] = {
        "ticket_id": "servicenow:INC0010001",
        "version": "v1",
        "external_id": SYS_ID,
        "body": "VPN gateway restarted.",
        "tags": ("airlock",),
        "priority": "P2",
        "queue": "network",
    }
    return WriteBack(**(values | overrides))


def test_write_back_patches_incident_with_work_note_urgency_impact_and_group(server):
    result = build_connector(_settings(server)).write_back(_item())
    (patch,) = server.writes()
    assert (patch.method, patch.path) == ("PATCH", f"/api/now/table/incident/{SYS_ID}")
    assert patch.json == {
        "urgency": "2",
        "impact": "1",
        "assignment_group": "Network L2",
        "work_notes": "VPN gateway restarted.\n\n[airlock ticket servicenow:INC0010001 version v1]",
    }
    assert patch.headers["accept"] == "application/json"
    assert patch.headers["content-type"] == "application/json"
    assert result.skipped_duplicate is False


def test_write_back_authenticates_with_integration_user(server):
    build_connector(_settings(server)).write_back(_item())
    expected = base64.b64encode(f"{USERNAME}:{TOKEN}".encode()).decode()
    assert {r.headers["authorization"] for r in server.requests} == {f"Basic {expected}"}


def test_write_back_checks_journal_of_the_incident_before_writing(server):
    build_connector(_settings(server)).write_back(_item())
    lookup = server.requests[0]
    assert (lookup.method, lookup.path) == ("GET", "/api/now/table/sys_journal_field")
    assert lookup.query["sysparm_query"][0].startswith(f"element_id={SYS_ID}^")


def test_write_back_posts_public_comment_when_allowed(server):
    build_connector(_settings(server, public_replies=True)).write_back(_item(public=True))
    body = server.writes()[0].json
    assert "comments" in body and "work_notes" not in body


def test_write_back_skips_note_when_same_version_already_written(server):
    connector = build_connector(_settings(server))
    connector.write_back(_item())
    again = connector.write_back(_item())
    assert again.skipped_duplicate is True
    assert len(server.records[SYS_ID].comments) == 1
    assert "work_notes" not in server.writes()[-1].json


def test_write_back_does_not_repost_note_when_answer_lost(server):
    server.fail_next(1, status=504, retry_after=None, applied=True, method="PATCH")
    result = build_connector(_settings(server), sleep=lambda _: None).write_back(_item())
    assert result.skipped_duplicate is True
    assert len(server.records[SYS_ID].comments) == 1


def test_write_back_refuses_incident_number_instead_of_sys_id(server):
    with pytest.raises(ConnectorError, match="not a sys_id"):
        build_connector(_settings(server)).write_back(_item(external_id="INC0010001"))
    assert server.requests == []


def test_write_back_raises_connector_error_on_bad_password(server):
    with pytest.raises(ConnectorError) as caught:
        build_connector(_settings(server, token="wrong")).write_back(_item())
    message = str(caught.value)
    assert "servicenow" in message and "HTTP 401" in message
    assert "User Not Authenticated" in message and "VPN" not in message


def test_write_back_raises_connector_error_on_unknown_incident(server):
    with pytest.raises(
        ConnectorError, match=r"servicenow refused PATCH .* HTTP 404: No Record found"
    ):
        build_connector(_settings(server)).write_back(_item(external_id="0" * 32))
