"""Contract tests of the Jira Service Management connector against local REST endpoints."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest

from airlock.settings_helpdesk import WritebackSettings
from helpdesk.connectors import ConnectorError, WriteBack, build_connector
from tests.helpdesk.ticketing_servers import TOKEN, USERNAME, TicketingServer, serve

MARKER = "[airlock ticket jira:SUP-7 version v1]"


@pytest.fixture
def server() -> Iterator[TicketingServer]:
    with serve("jira") as running:
        running.add("SUP-7", transitions=("11", "31"))
        yield running


def _settings(server: TicketingServer, **overrides: Any) -> WritebackSettings:
    values: dict[str, Any] = {
        "system": "jira",
        "base_url": server.url + "/",
        "username": USERNAME,
        "token": TOKEN,
        "jira_escalate_transition": "31",
    }
    return WritebackSettings(**(values | overrides))


def _item(**overrides: Any) -> WriteBack:
    values: dict[str, Any] = {
        "ticket_id": "jira:SUP-7",
        "version": "v1",
        "external_id": "SUP-7",
        "body": "Draft answer for the agent.",
        "tags": ("airlock", "escalate"),
        "priority": "P1",
        "escalated": True,
    }
    return WriteBack(**(values | overrides))


def test_write_back_posts_internal_comment_then_fields_then_transition(server):
    result = build_connector(_settings(server)).write_back(_item())
    comment, fields, transition = server.writes()
    assert (comment.method, comment.path) == ("POST", "/rest/servicedeskapi/request/SUP-7/comment")
    assert comment.json == {"body": f"Draft answer for the agent.\n\n{MARKER}", "public": False}
    assert (fields.method, fields.path) == ("PUT", "/rest/api/2/issue/SUP-7")
    assert fields.json == {
        "fields": {"priority": {"name": "Highest"}},
        "update": {"labels": [{"add": "airlock"}, {"add": "escalate"}]},
    }
    assert (transition.method, transition.path) == ("POST", "/rest/api/2/issue/SUP-7/transitions")
    assert transition.json == {"transition": {"id": "31"}}
    assert result.skipped_duplicate is False


def test_write_back_authenticates_with_email_and_token(server):
    build_connector(_settings(server)).write_back(_item())
    expected = base64.b64encode(f"{USERNAME}:{TOKEN}".encode()).decode()
    assert {r.headers["authorization"] for r in server.requests} == {f"Basic {expected}"}


def test_write_back_gives_each_write_its_own_idempotency_key(server):
    build_connector(_settings(server)).write_back(_item())
    keys = [r.headers["idempotency-key"] for r in server.writes()]
    assert len(set(keys)) == 3
    assert all(key.startswith("airlock-") for key in keys)


def test_write_back_skips_comment_and_transition_on_retry_of_same_version(server):
    connector = build_connector(_settings(server))
    connector.write_back(_item())
    again = connector.write_back(_item())
    assert again.skipped_duplicate is True
    assert len(server.records["SUP-7"].comments) == 1
    assert [r.method for r in server.writes()] == ["POST", "PUT", "POST", "PUT"]


def test_write_back_finds_marker_on_a_later_comment_page(server):
    record = server.records["SUP-7"]
    record.comments += [{"id": str(i), "body": f"note {i}", "public": True} for i in range(150)]
    record.comments.append({"id": "151", "body": f"earlier draft\n\n{MARKER}", "public": False})
    result = build_connector(_settings(server)).write_back(_item(escalated=False))
    assert result.skipped_duplicate is True
    starts = [r.query["start"] for r in server.requests if r.method == "GET"]
    assert starts == [["0"], ["100"]]


def test_write_back_does_not_repost_comment_when_answer_lost(server):
    server.fail_next(1, status=500, retry_after=None, applied=True, method="POST")
    connector = build_connector(_settings(server), sleep=lambda _: None)
    result = connector.write_back(_item(escalated=False))
    assert result.skipped_duplicate is True
    assert len(server.records["SUP-7"].comments) == 1


def test_write_back_without_transition_setting_does_not_transition(server):
    build_connector(_settings(server, jira_escalate_transition="")).write_back(_item())
    assert [r.path.endswith("/transitions") for r in server.requests] == [False] * 3


def test_write_back_without_body_only_sets_fields(server):
    result = build_connector(_settings(server)).write_back(_item(body="", escalated=False))
    assert [(r.method, r.path) for r in server.requests] == [("PUT", "/rest/api/2/issue/SUP-7")]
    assert result.requests == 1


def test_write_back_raises_connector_error_naming_system_on_unknown_issue(server):
    with pytest.raises(ConnectorError) as caught:
        build_connector(_settings(server)).write_back(_item(external_id="SUP-404"))
    message = str(caught.value)
    assert "jira" in message and "HTTP 404" in message
    assert "The request could not be found." in message and "record exists" in message


def test_write_back_raises_connector_error_on_bad_token(server):
    with pytest.raises(
        ConnectorError, match=r"jira refused .* HTTP 401: You are not authenticated"
    ):
        build_connector(_settings(server, token="nope")).write_back(_item())
