"""Retries of the connectors' HTTP sender: 429, 5xx, Retry-After and connection errors."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from airlock.settings_helpdesk import WritebackSettings
from helpdesk.connectors import ConnectorError, WriteBack, build_connector
from helpdesk.connectors.http import retry_after_delay
from tests.helpdesk.ticketing_servers import TOKEN, USERNAME, TicketingServer, serve

NOW = datetime(2026, 3, 2, 12, 0, 0, tzinfo=UTC)


@pytest.fixture
def server() -> Iterator[TicketingServer]:
    with serve("zendesk") as running:
        running.add("17")
        yield running


def _settings(url: str, **overrides: Any) -> WritebackSettings:
    values: dict[str, Any] = {
        "system": "zendesk",
        "base_url": url,
        "username": USERNAME,
        "token": TOKEN,
        "backoff_s": 0.5,
        "max_backoff_s": 4.0,
        "max_retries": 4,
    }
    return WritebackSettings(**(values | overrides))


def _item() -> WriteBack:
    return WriteBack(ticket_id="zendesk:17", version="v1", external_id="17", body="Hello.")


def test_write_back_retries_429_after_retry_after_seconds(server):
    sleeps: list[float] = []
    server.fail_next(2, status=429, retry_after="1")
    result = build_connector(_settings(server.url), sleep=sleeps.append).write_back(_item())
    assert sleeps == [1.0, 1.0]
    assert (result.requests, result.retries) == (4, 2)
    assert len(server.records["17"].comments) == 1


def test_write_back_retries_503_with_doubling_backoff_capped(server):
    sleeps: list[float] = []
    server.fail_next(4, status=503, retry_after=None)
    build_connector(_settings(server.url), sleep=sleeps.append).write_back(_item())
    assert sleeps == [0.5, 1.0, 2.0, 4.0]
    assert len(server.records["17"].comments) == 1


def test_write_back_caps_long_retry_after_at_max_backoff(server):
    sleeps: list[float] = []
    server.fail_next(1, status=429, retry_after="3600")
    build_connector(_settings(server.url), sleep=sleeps.append).write_back(_item())
    assert sleeps == [4.0]


def test_write_back_raises_connector_error_when_retries_run_out(server):
    sleeps: list[float] = []
    server.fail_next(10, status=503, retry_after="2")
    connector = build_connector(_settings(server.url, max_retries=2), sleep=sleeps.append)
    with pytest.raises(ConnectorError, match=r"zendesk answered HTTP 503 after 2 retries"):
        connector.write_back(_item())
    assert sleeps == [2.0, 2.0]
    assert len(server.requests) == 3


def test_write_back_does_not_retry_client_errors(server):
    sleeps: list[float] = []
    connector = build_connector(_settings(server.url, token="bad"), sleep=sleeps.append)
    with pytest.raises(ConnectorError, match="HTTP 401"):
        connector.write_back(_item())
    assert sleeps == []
    assert len(server.requests) == 1


def test_write_back_retries_connection_errors_then_names_the_host():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}"
    sleeps: list[float] = []
    connector = build_connector(_settings(url, max_retries=2), sleep=sleeps.append)
    with pytest.raises(ConnectorError, match=r"could not reach zendesk at http://127\.0\.0\.1"):
        connector.write_back(_item())
    assert sleeps == [0.5, 1.0]


def test_retry_after_delay_reads_seconds():
    assert retry_after_delay("7", NOW) == 7.0


def test_retry_after_delay_reads_http_date():
    assert retry_after_delay("Mon, 02 Mar 2026 12:00:30 GMT", NOW) == 30.0


def test_retry_after_delay_of_past_date_is_zero():
    assert retry_after_delay("Mon, 02 Mar 2026 11:00:00 GMT", NOW) == 0.0


@pytest.mark.parametrize("value", [None, "", "soon", "-5", "inf"])
def test_retry_after_delay_ignores_missing_or_malformed_values(value):
    assert retry_after_delay(value, NOW) is None


def test_build_connector_refuses_missing_credentials():
    settings = WritebackSettings(system="jira", base_url="https://jira.acme.internal")
    with pytest.raises(ConnectorError, match="no username or token"):
        build_connector(settings)
