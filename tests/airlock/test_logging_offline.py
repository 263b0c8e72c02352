"""JSON logs with a bound unit-of-work id, sensitive keys dropped; offline switches forced."""

from __future__ import annotations

import io
import json
import logging
import os

import pytest

from airlock.logs import REDACTED, bound_context, configure_logging
from airlock.offline import OFFLINE_ENVIRONMENT, enforce_offline, offline_violations
from airlock.settings import LogSettings


def test_log_lines_are_json_with_the_bound_request_id() -> None:
    stream = io.StringIO()
    configure_logging(LogSettings(level="INFO", format="json"), stream=stream)
    with bound_context(ticket_id="T-1") as request_id:
        logging.getLogger("airlock.test").info("ticket routed", extra={"queue": "billing"})
    line = json.loads(stream.getvalue().strip().splitlines()[-1])
    assert line["event"] == "ticket routed"
    assert line["request_id"] == request_id
    assert line["ticket_id"] == "T-1"
    assert line["queue"] == "billing"
    assert line["level"] == "info"


def test_ticket_text_and_personal_data_never_reach_the_log() -> None:
    stream = io.StringIO()
    configure_logging(LogSettings(level="INFO", format="json"), stream=stream)
    logging.getLogger("airlock.test").info(
        "drafted", extra={"prompt": "My card 4111 1111 1111 1111", "email": "jo@example.com"}
    )
    output = stream.getvalue()
    assert "4111" not in output and "jo@example.com" not in output
    line = json.loads(output.strip().splitlines()[-1])
    assert line["prompt"] == REDACTED and line["email"] == REDACTED


def test_importing_airlock_forces_offline_switches() -> None:
    assert offline_violations() == {}
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    assert os.environ["RAY_USAGE_STATS_ENABLED"] == "0"
    assert os.environ["VLLM_NO_USAGE_STATS"] == "1"


def test_operator_cannot_switch_a_library_back_online(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setenv("RAY_USAGE_STATS_ENABLED", "1")
    assert set(offline_violations()) == {"HF_HUB_OFFLINE", "RAY_USAGE_STATS_ENABLED"}
    enforce_offline()
    assert offline_violations() == {}
    assert all(os.environ[key] == value for key, value in OFFLINE_ENVIRONMENT.items())
