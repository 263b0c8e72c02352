"""Webhooks over HTTP: the sender is proven on the raw body, each delivery lands exactly once."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from airlock.config import load_settings
from airlock.server import build_api_app
from api.auth.devissuer import DevIssuer
from audit.schema import events
from helpdesk.queue.schema import jobs

ZENDESK_SECRET = "zendesk-signing-secret"
JIRA_SECRET = "jira-hmac-secret"
SERVICENOW_TOKEN = "servicenow-shared-token"
TOKEN_HEADER = "X-Globex-Token"
WEBHOOKS = {
    "demo": {"system": "zendesk", "secret": ZENDESK_SECRET},
    "acme": {"system": "jira", "secret": JIRA_SECRET},
    "initech": {"system": "jira", "secret": "another-jira-secret"},
    "globex": {"system": "servicenow", "secret": SERVICENOW_TOKEN, "token_header": TOKEN_HEADER},
}
MAX_BODY = 8192


@pytest.fixture(scope="module")
def hooks(tmp_path_factory: pytest.TempPathFactory, dev_issuer: DevIssuer) -> Iterator[TestClient]:
    """An app with webhooks for four tenants and no workers (jobs stay queued to be counted)."""
    settings = load_settings(
        overrides={
            "data_dir": str(tmp_path_factory.mktemp("webhooks-data")),
            "auth": {"issuer_url": dev_issuer.issuer},
            "api": {"workers": 0, "max_body_bytes": MAX_BODY, "webhooks": WEBHOOKS},
        },
        environ={},
    )
    with TestClient(build_api_app(settings), raise_server_exceptions=False) as test_client:
        yield test_client


def zendesk_payload(ticket_id: str, description: str = "My refund never arrived.") -> bytes:
    """The documented Zendesk trigger body for one ticket."""
    ticket = {
        "id": ticket_id,
        "subject": "Refund not received",
        "description": description,
        "requester_id": "20978392",
        "channel": "Email",
        "created_at": "2026-03-02T09:15:00Z",
    }
    return json.dumps({"ticket": ticket}).encode()


def jira_payload(key: str) -> bytes:
    """Jira's issue-created body for one issue."""
    fields = {
        "summary": "VPN drops every hour",
        "description": "It drops since Monday.",
        "reporter": {"accountId": "5b10ac8d82e05b22cc7d4ef5"},
        "created": "2026-03-02T10:30:00.000+0100",
    }
    issue = {"id": "1", "key": key, "fields": fields}
    return json.dumps({"webhookEvent": "jira:issue_created", "issue": issue}).encode()


def servicenow_payload(number: str, **extra: str) -> bytes:
    """The documented ServiceNow business-rule body for one incident."""
    incident = {
        "sys_id": hashlib.sha256(number.encode()).hexdigest()[:32],
        "number": number,
        "short_description": "Printer offline",
        "description": "The third-floor printer is offline.",
        "caller_id": "5137153cc611227c000bbd1bd8cd2005",
        "sys_created_on": "2026-03-02 08:00:05",
        **extra,
    }
    return json.dumps(incident).encode()


def zendesk_headers(
    body: bytes, invocation: str, *, at: datetime | None = None, secret: str = ZENDESK_SECRET
) -> dict[str, str]:
    """Headers as Zendesk signs them: base64 HMAC-SHA256 of timestamp + body."""
    stamp = (at or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    mac = hmac.new(secret.encode(), stamp.encode() + body, hashlib.sha256).digest()
    return {
        "Content-Type": "application/json",
        "X-Zendesk-Webhook-Signature": base64.b64encode(mac).decode(),
        "X-Zendesk-Webhook-Signature-Timestamp": stamp,
        "X-Zendesk-Webhook-Invocation-Id": invocation,
    }


def jira_headers(body: bytes, identifier: str, *, secret: str = JIRA_SECRET) -> dict[str, str]:
    """Headers as Jira signs them: X-Hub-Signature sha256=<hex HMAC of the body>."""
    mac = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {
        "Content-Type": "application/json",
        "X-Hub-Signature": f"sha256={mac}",
        "X-Atlassian-Webhook-Identifier": identifier,
    }


def count_jobs(client: TestClient, tenant: str, ticket_id: str) -> int:
    """How many jobs (ticket versions) are stored for one ticket."""
    engine = client.app.state.api.parts.engine  # type: ignore[attr-defined]
    query = sa.select(sa.func.count()).where(jobs.c.tenant == tenant, jobs.c.ticket_id == ticket_id)
    with engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


def test_zendesk_delivery_is_stored_and_acknowledged_with_202(
    hooks: TestClient, auth: Callable[[str], dict[str, str]]
) -> None:
    body = zendesk_payload("Z-1")
    response = hooks.post("/v1/webhooks/zendesk", content=body, headers=zendesk_headers(body, "i1"))
    assert response.status_code == 202, response.text
    accepted = response.json()
    assert accepted["ticket_id"] == "zendesk:Z-1"
    assert (accepted["state"], accepted["duplicate"], accepted["delivery_id"]) == (
        "queued",
        False,
        "i1",
    )
    stored = hooks.get("/v1/tickets/zendesk:Z-1", headers=auth("ticketing-demo"))
    assert stored.status_code == 200
    assert stored.json()["job_id"] == accepted["job_id"]


def test_zendesk_delivery_is_audited_as_the_webhook_sender(hooks: TestClient) -> None:
    body = zendesk_payload("Z-audit")
    hooks.post("/v1/webhooks/zendesk", content=body, headers=zendesk_headers(body, "i-audit"))
    engine = hooks.app.state.api.parts.engine  # type: ignore[attr-defined]
    query = sa.select(events.c.actor_subject, events.c.actor_client_id).where(
        events.c.action == "ticket.received", events.c.resource_id == "zendesk:Z-audit"
    )
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    assert [tuple(row) for row in rows] == [("webhook:zendesk", "zendesk:demo")]


def test_jira_delivery_with_valid_signature_returns_202(hooks: TestClient) -> None:
    body = jira_payload("SUP-1")
    response = hooks.post(
        "/v1/webhooks/jira?tenant=acme", content=body, headers=jira_headers(body, "j1")
    )
    assert response.status_code == 202, response.text
    assert response.json()["ticket_id"] == "jira:SUP-1"
    assert count_jobs(hooks, "acme", "jira:SUP-1") == 1


def test_servicenow_delivery_with_shared_token_returns_202(hooks: TestClient) -> None:
    body = servicenow_payload("INC0000001")
    headers = {TOKEN_HEADER: SERVICENOW_TOKEN, "X-Airlock-Delivery-Id": "s1"}
    response = hooks.post("/v1/webhooks/servicenow", content=body, headers=headers)
    assert response.status_code == 202, response.text
    assert response.json()["ticket_id"] == "servicenow:INC0000001"
    assert count_jobs(hooks, "globex", "servicenow:INC0000001") == 1


def test_bad_signature_is_refused_with_401_before_the_body_is_parsed(hooks: TestClient) -> None:
    signed = zendesk_headers(zendesk_payload("Z-2"), "i2")
    response = hooks.post("/v1/webhooks/zendesk", content=b"{not json", headers=signed)
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert "signature does not match" in response.json()["detail"]


@pytest.mark.parametrize(
    ("path", "headers", "system"),
    [
        ("/v1/webhooks/zendesk", lambda b: zendesk_headers(b, "i3", secret="wrong"), "zendesk"),
        ("/v1/webhooks/jira?tenant=acme", lambda b: jira_headers(b, "j3", secret="x"), "jira"),
        ("/v1/webhooks/servicenow", lambda b: {TOKEN_HEADER: "wrong-token"}, "servicenow"),
    ],
)
def test_wrong_secret_is_refused_with_401_and_stores_nothing(
    hooks: TestClient,
    path: str,
    headers: Callable[[bytes], dict[str, str]],
    system: str,
) -> None:
    body = servicenow_payload("INC0000003") if system == "servicenow" else b"{}"
    response = hooks.post(path, content=body, headers=headers(body))
    assert response.status_code == 401, response.text
    assert count_jobs(hooks, "globex", "servicenow:INC0000003") == 0


@pytest.mark.parametrize("system", ["zendesk", "jira", "servicenow"])
def test_missing_signature_is_refused_with_401(hooks: TestClient, system: str) -> None:
    tenant = "?tenant=acme" if system == "jira" else ""
    response = hooks.post(
        f"/v1/webhooks/{system}{tenant}",
        content=servicenow_payload("INC0000004"),
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 401, response.text
    assert "missing" in response.json()["detail"] or "lacks" in response.json()["detail"]


@pytest.mark.parametrize("skew", [timedelta(seconds=-301), timedelta(seconds=301)])
def test_stale_timestamp_is_refused_with_401_naming_the_clock(
    hooks: TestClient, skew: timedelta
) -> None:
    body = zendesk_payload("Z-4")
    headers = zendesk_headers(body, "i4", at=datetime.now(UTC) + skew)
    response = hooks.post("/v1/webhooks/zendesk", content=body, headers=headers)
    assert response.status_code == 401
    problem = response.json()
    assert "timestamp is stale" in problem["detail"]
    assert "clock" in problem["remedy"]
    assert count_jobs(hooks, "demo", "zendesk:Z-4") == 0


def test_replayed_delivery_returns_200_duplicate_and_one_job(hooks: TestClient) -> None:
    body = zendesk_payload("Z-5")
    headers = zendesk_headers(body, "i5")
    first = hooks.post("/v1/webhooks/zendesk", content=body, headers=headers)
    replay = hooks.post("/v1/webhooks/zendesk", content=body, headers=headers)
    assert (first.status_code, replay.status_code) == (202, 200)
    assert replay.json()["duplicate"] is True
    assert replay.json()["job_id"] == first.json()["job_id"]
    assert count_jobs(hooks, "demo", "zendesk:Z-5") == 1


def test_same_version_under_a_new_delivery_id_creates_no_second_job(hooks: TestClient) -> None:
    body = jira_payload("SUP-6")
    first = hooks.post(
        "/v1/webhooks/jira?tenant=acme", content=body, headers=jira_headers(body, "j6")
    )
    again = hooks.post(
        "/v1/webhooks/jira?tenant=acme", content=body, headers=jira_headers(body, "j6-retry")
    )
    assert (first.status_code, again.status_code) == (202, 200)
    assert again.json()["duplicate"] is True and again.json()["delivery_id"] == "j6-retry"
    assert count_jobs(hooks, "acme", "jira:SUP-6") == 1


def test_same_delivery_id_with_a_different_body_is_409(hooks: TestClient) -> None:
    first = zendesk_payload("Z-7")
    other = zendesk_payload("Z-7", description="Something else entirely.")
    assert (
        hooks.post(
            "/v1/webhooks/zendesk", content=first, headers=zendesk_headers(first, "i7")
        ).status_code
        == 202
    )
    response = hooks.post(
        "/v1/webhooks/zendesk", content=other, headers=zendesk_headers(other, "i7")
    )
    assert response.status_code == 409
    assert "delivery id 'i7'" in response.json()["detail"]
    assert count_jobs(hooks, "demo", "zendesk:Z-7") == 1


def test_servicenow_without_delivery_header_dedupes_on_sys_id_and_update_time(
    hooks: TestClient,
) -> None:
    body = servicenow_payload("INC0000008", sys_updated_on="2026-03-02 08:00:05")
    headers = {TOKEN_HEADER: SERVICENOW_TOKEN}
    first = hooks.post("/v1/webhooks/servicenow?tenant=globex", content=body, headers=headers)
    again = hooks.post("/v1/webhooks/servicenow?tenant=globex", content=body, headers=headers)
    assert (first.status_code, again.status_code) == (202, 200)
    sys_id = json.loads(body)["sys_id"]
    assert first.json()["delivery_id"] == f"{sys_id}:2026-03-02 08:00:05"
    assert count_jobs(hooks, "globex", "servicenow:INC0000008") == 1


@pytest.mark.parametrize(
    "path",
    [
        "/v1/webhooks/zendesk?tenant=nope",
        "/v1/webhooks/zendesk?tenant=acme",  # acme posts Jira webhooks, not Zendesk
        "/v1/webhooks/jira",  # two tenants post Jira webhooks: the URL must name one
    ],
)
def test_unknown_tenant_is_404_without_naming_tenants(hooks: TestClient, path: str) -> None:
    body = jira_payload("SUP-9")
    response = hooks.post(path, content=body, headers=jira_headers(body, "j9"))
    assert response.status_code == 404
    detail = response.json()["detail"]
    assert "acme" not in detail and "initech" not in detail and "demo" not in detail


def test_oversize_body_is_413_before_verification(hooks: TestClient) -> None:
    body = zendesk_payload("Z-10", description="x" * MAX_BODY)
    response = hooks.post(
        "/v1/webhooks/zendesk", content=body, headers=zendesk_headers(body, "i10")
    )
    assert response.status_code == 413
    assert count_jobs(hooks, "demo", "zendesk:Z-10") == 0


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (b"{not json", "not a JSON object"),
        (b"[1, 2]", "not a JSON object"),
        (json.dumps({"ticket": {"id": "Z-11", "requester_id": "1"}}).encode(), "description"),
    ],
)
def test_malformed_payload_with_valid_signature_is_422(
    hooks: TestClient, body: bytes, detail: str
) -> None:
    response = hooks.post(
        "/v1/webhooks/zendesk", content=body, headers=zendesk_headers(body, "i11")
    )
    assert response.status_code == 422, response.text
    assert detail in response.json()["detail"]
    assert count_jobs(hooks, "demo", "zendesk:Z-11") == 0


def test_webhook_routes_need_no_bearer_token_in_openapi(hooks: TestClient) -> None:
    operation: dict[str, Any] = hooks.get("/openapi.json").json()["paths"]["/v1/webhooks/jira"]
    assert "security" not in operation["post"]
    assert operation["post"]["requestBody"]["content"]["application/json"]
