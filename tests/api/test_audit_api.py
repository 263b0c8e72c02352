"""The audit log over HTTP: the tenant's events only, paged, verified, exported verifiably."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from airlock.settings import AirlockSettings
from audit.export import verify_export
from audit.signing import load_public_key

Auth = Callable[[str], dict[str, str]]


def _ticket(ticket_id: str) -> dict[str, Any]:
    return {"id": ticket_id, "subject": "Where is my order?", "customer": {"id": "C-audit"}}


def _submit(client: TestClient, auth: Auth, sender: str, ticket_id: str) -> None:
    response = client.post("/v1/tickets", json=_ticket(ticket_id), headers=auth(sender))
    assert response.status_code in (200, 202), response.text


def _all_events(client: TestClient, auth: Auth, **filters: Any) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    cursor = 0
    while cursor is not None:
        params = {**filters, "after": cursor, "limit": 500}
        page = client.get("/v1/audit/events", params=params, headers=auth("audrey"))
        assert page.status_code == 200, page.text
        events += page.json()["events"]
        cursor = page.json()["next_cursor"]
    return events


def test_events_are_only_the_callers_tenants(client: TestClient, auth: Auth) -> None:
    _submit(client, auth, "ticketing-acme", "AUD-ACME-1")
    _submit(client, auth, "ticketing-demo", "AUD-DEMO-1")
    events = _all_events(client, auth)
    assert events, "the knowledge base ingestion of tenant demo is audited"
    assert {event["tenant"] for event in events} == {"demo"}
    ids = {event["resource_id"] for event in events}
    assert "AUD-DEMO-1" in ids and "AUD-ACME-1" not in ids


def test_events_page_by_seq_cursor(client: TestClient, auth: Auth) -> None:
    first = client.get("/v1/audit/events", params={"limit": 3}, headers=auth("audrey")).json()
    assert len(first["events"]) == 3
    assert first["next_cursor"] == first["events"][-1]["seq"]
    params = {"limit": 3, "after": first["next_cursor"]}
    second = client.get("/v1/audit/events", params=params, headers=auth("audrey")).json()
    seqs = [event["seq"] for event in first["events"] + second["events"]]
    assert seqs == sorted(set(seqs))


def test_events_filter_by_action_and_resource(client: TestClient, auth: Auth) -> None:
    _submit(client, auth, "ticketing-demo", "AUD-DEMO-2")
    events = _all_events(client, auth, action="ticket.received", resource_id="AUD-DEMO-2")
    assert [event["action"] for event in events] == ["ticket.received"]
    assert events[0]["resource_id"] == "AUD-DEMO-2"


def test_page_limit_above_500_is_422(client: TestClient, auth: Auth) -> None:
    response = client.get("/v1/audit/events", params={"limit": 501}, headers=auth("audrey"))
    assert response.status_code == 422


def test_verify_reports_intact_chain_and_is_audited(client: TestClient, auth: Auth) -> None:
    response = client.get("/v1/audit/verify", headers=auth("audrey"))
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["ok"] is True and report["damage"] is None
    assert report["events_checked"] > 0
    verified = _all_events(client, auth, action="audit.verified", actor="audrey")
    assert verified and verified[-1]["details"]["ok"] is True


def test_export_streams_signed_runs_that_verify_offline(
    client: TestClient, auth: Auth, api_settings: AirlockSettings, tmp_path: Path
) -> None:
    # Another tenant's event between two of demo's cuts demo's events into separate runs.
    for sender, ticket_id in (("ticketing-demo", "AUD-X-1"), ("ticketing-acme", "AUD-X-2")):
        _submit(client, auth, sender, ticket_id)
    _submit(client, auth, "ticketing-demo", "AUD-X-3")
    response = client.get("/v1/audit/export", headers=auth("audrey"))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        archive.extractall(tmp_path)
    runs = sorted(tmp_path.glob("events-*.jsonl"))
    assert len(runs) >= 2
    public_key = load_public_key(api_settings.get_signing_key_path())
    exported: list[dict[str, Any]] = []
    for run in runs:
        check = verify_export(run, public_key)
        assert check.ok, (run.name, check.problem)
        exported += [json.loads(line) for line in run.read_text("utf-8").splitlines()]
    assert {event["tenant"] for event in exported} == {"demo"}
    listed = [e["seq"] for e in _all_events(client, auth) if e["seq"] <= exported[-1]["seq"]]
    assert [event["seq"] for event in exported] == listed
    assert _all_events(client, auth, action="audit.exported", actor="audrey")


def test_tampered_export_run_fails_offline_verification(
    client: TestClient, auth: Auth, api_settings: AirlockSettings, tmp_path: Path
) -> None:
    response = client.get("/v1/audit/export", headers=auth("audrey"))
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        archive.extractall(tmp_path)
    run = sorted(tmp_path.glob("events-*.jsonl"))[0]
    run.write_text(run.read_text("utf-8").replace('"success"', '"failure"', 1), "utf-8")
    check = verify_export(run, load_public_key(api_settings.get_signing_key_path()))
    assert not check.ok


def test_agent_cannot_read_the_audit_log(client: TestClient, auth: Auth) -> None:
    for path in ("/v1/audit/events", "/v1/audit/verify", "/v1/audit/export"):
        assert client.get(path, headers=auth("alice")).status_code == 403


def test_cursor_beyond_a_64_bit_sequence_is_422_not_500(client: TestClient, auth: Auth) -> None:
    response = client.get(f"/v1/audit/events?after={2**64}", headers=auth("audrey"))
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
