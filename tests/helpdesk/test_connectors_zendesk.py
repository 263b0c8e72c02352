"""Contract tests of the Zendesk connector against a local Tickets API."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest

from airlock.settings_helpdesk import WritebackSettings
from helpdesk.connectors import ConnectorError, WriteBack, build_connector
from tests.helpdesk.ticketing_servers import TOKEN, USERNAME, TicketingServer, serve


@pytest.fixture
def server() -> Iterator[TicketingServer]:
    with serve("zendesk") as running:
        running.add("4242")
        yield running


def _settings(server: TicketingServer, **overrides: Any) -> WritebackSettings:
    values: dict[str, Any] = {
        "system": "zendesk",
        "base_url": server.url,
        "username": USERNAME,
        "token": TOKEN,
        "groups": {"billing": "360001"},
    }
    return WritebackSettings(**(values | overrides))


def _item(**overrides: Any) -> WriteBack:
    values: dict[str, Any] = {
        "ticket_id": "zendesk:4242",
        "version": "v1",
        "external_id": "4242",
        "body": "Your refund was issued.",
        "tags": ("airlock", "Refund Request"),
        "priority": "P2",
        "queue": "billing",
    }
    return WriteBack(**(values | overrides))


def test_write_back_puts_comment_priority_tags_and_group_in_one_update(server):
    connector = build_connector(_settings(server))
    result = connector.write_back(_item())
    (put,) = server.writes()
    assert (put.method, put.path) == ("PUT", "/api/v2/tickets/4242.json")
    assert put.json == {
        "ticket": {
            "priority": "high",
            "additional_tags": ["airlock", "refund_request"],
            "group_id": 360001,
            "comment": {
                "body": "Your refund was issued.\n\n[airlock ticket zendesk:4242 version v1]",
                "public": False,
            },
        }
    }
    assert result.skipped_duplicate is False
    assert (result.requests, result.retries) == (2, 0)


def test_write_back_authenticates_with_api_token_basic_auth(server):
    build_connector(_settings(server)).write_back(_item())
    expected = base64.b64encode(f"{USERNAME}/token:{TOKEN}".encode()).decode()
    assert {r.headers["authorization"] for r in server.requests} == {f"Basic {expected}"}


def test_write_back_sends_idempotency_key_of_ticket_version_on_writes(server):
    build_connector(_settings(server)).write_back(_item())
    build_connector(_settings(server)).write_back(_item(version="v2"))
    first, second = server.writes()
    assert first.headers["idempotency-key"].startswith("airlock-")
    assert first.headers["idempotency-key"] != second.headers["idempotency-key"]


def test_write_back_posts_public_reply_only_when_settings_allow(server):
    build_connector(_settings(server)).write_back(_item(public=True))
    build_connector(_settings(server, public_replies=True)).write_back(
        _item(public=True, version="v2")
    )
    notes = [r.json["ticket"]["comment"]["public"] for r in server.writes()]
    assert notes == [False, True]


def test_write_back_skips_comment_when_same_version_already_posted(server):
    connector = build_connector(_settings(server))
    connector.write_back(_item())
    again = connector.write_back(_item())
    assert again.skipped_duplicate is True
    assert len(server.records["4242"].comments) == 1
    assert "comment" not in server.writes()[-1].json["ticket"]


def test_write_back_does_not_repost_when_update_applied_but_answer_lost(server):
    server.fail_next(1, status=502, retry_after=None, applied=True, method="PUT")
    result = build_connector(_settings(server), sleep=lambda _: None).write_back(_item())
    assert result.skipped_duplicate is True
    assert len(server.records["4242"].comments) == 1
    assert len(server.writes()) == 1


def test_write_back_leaves_out_priority_and_tags_when_disabled(server):
    settings = _settings(server, set_priority=False, set_tags=False, groups={})
    build_connector(settings).write_back(_item())
    assert set(server.writes()[0].json["ticket"]) == {"comment"}


def test_write_back_raises_connector_error_on_bad_token(server):
    connector = build_connector(_settings(server, token="wrong"))
    with pytest.raises(ConnectorError) as caught:
        connector.write_back(_item())
    message = str(caught.value)
    assert "zendesk" in message and "401" in message
    assert "Couldn't authenticate you" in message and "token" in message
    assert "refund" not in message.lower()


def test_write_back_raises_connector_error_on_unknown_ticket(server):
    with pytest.raises(ConnectorError, match=r"zendesk refused GET .* HTTP 404: RecordNotFound"):
        build_connector(_settings(server)).write_back(_item(external_id="999"))


def test_write_back_refuses_non_numeric_ticket_id(server):
    with pytest.raises(ConnectorError, match="not a number"):
        build_connector(_settings(server)).write_back(_item(external_id="ABC-1"))
    assert server.requests == []
