"""Tickets over HTTP: accepted durably, idempotent, decided, tenant-scoped."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

TICKET = {
    "id": "API-1",
    "subject": "Cannot reset my password",
    "body": "The reset link says it expired. How do I get a new one?",
    "customer": {"id": "C-api-1"},
}


def test_submit_returns_202_with_location_and_stores_once(
    client: TestClient, auth: Callable[[str], dict[str, str]]
) -> None:
    first = client.post("/v1/tickets", json=TICKET, headers=auth("ticketing-demo"))
    assert first.status_code == 202, first.text
    assert first.headers["location"] == "/v1/tickets/API-1"
    again = client.post("/v1/tickets", json=TICKET, headers=auth("ticketing-demo"))
    assert again.status_code == 202
    assert again.json()["job_id"] == first.json()["job_id"]
    assert first.json()["created"] is True and again.json()["created"] is False


def test_wait_returns_the_decision_inline(
    client: TestClient, auth: Callable[[str], dict[str, str]]
) -> None:
    ticket = {**TICKET, "id": "API-2"}
    response = client.post("/v1/tickets?wait=20", json=ticket, headers=auth("ticketing-demo"))
    assert response.status_code == 200, response.text
    decision = response.json()["decision"]
    assert decision["ticket_id"] == "API-2"
    assert decision["decision"]["action"] in ("auto_reply", "escalate", "needs_info")
    read = client.get("/v1/tickets/API-2", headers=auth("ticketing-demo"))
    assert read.status_code == 200
    assert read.json()["decision"]["decision"] == decision["decision"]


def test_other_tenants_ticket_is_not_found(
    client: TestClient, auth: Callable[[str], dict[str, str]]
) -> None:
    client.post("/v1/tickets", json={**TICKET, "id": "API-3"}, headers=auth("ticketing-demo"))
    response = client.get("/v1/tickets/API-3", headers=auth("ticketing-acme"))
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
