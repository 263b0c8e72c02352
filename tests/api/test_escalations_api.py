"""The agents' escalation queue over HTTP, and revealing a ticket's PII from the vault."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from airlock.config import load_settings
from airlock.server import build_api_app
from api.auth.devissuer import DevIssuer
from audit.events import Actor
from audit.reader import fetch_tail
from helpdesk.erasure import erase_subject
from tests.api.conftest import TICKETS

Auth = Callable[[str], dict[str, str]]
OPERATOR = Actor(subject="test-operator")
SAMPLES = {row["id"]: row for row in map(json.loads, TICKETS.read_text().splitlines())}


def sample(sample_id: str, ticket_id: str) -> dict[str, Any]:
    """A sample ticket under a new id and customer (the store is shared by the API tests)."""
    ticket = {k: v for k, v in SAMPLES[sample_id].items() if k not in ("tenant", "created_at")}
    return {**ticket, "id": ticket_id, "customer": {**ticket["customer"], "id": f"c-{ticket_id}"}}


def decide(client: TestClient, auth: Auth, ticket: dict[str, Any]) -> dict[str, Any]:
    """Submit a ticket as the demo ticketing system and wait for its decision."""
    response = client.post("/v1/tickets?wait=30", json=ticket, headers=auth("ticketing-demo"))
    assert response.status_code == 200, response.text
    decision: dict[str, Any] = response.json()["decision"]
    return decision


def find(client: TestClient, auth: Auth, who: str, ticket_id: str) -> dict[str, Any] | None:
    """The escalation of a ticket in `who`'s queue, paging through it."""
    cursor: str | None = None
    while True:
        params = {"limit": 200, **({"cursor": cursor} if cursor else {})}
        page = client.get("/v1/escalations", params=params, headers=auth(who))
        assert page.status_code == 200, page.text
        for item in page.json()["items"]:
            if item["ticket_id"] == ticket_id:
                found: dict[str, Any] = item
                return found
        cursor = page.json()["next_cursor"]
        if cursor is None:
            return None


@pytest.fixture(scope="module")
def legal(client: TestClient, auth: Auth) -> dict[str, Any]:
    """The escalation of a legal threat (escalated), as alice sees it."""
    assert decide(client, auth, sample("T-1005", "ESC-LEGAL"))["decision"]["action"] == "escalate"
    item = find(client, auth, "alice", "ESC-LEGAL")
    assert item is not None
    return item


def test_escalations_list_only_escalated_decisions_with_summary_and_draft(
    client: TestClient, auth: Auth, legal: dict[str, Any]
) -> None:
    answered = decide(client, auth, sample("T-1001", "ESC-AUTO"))
    assert answered["decision"]["action"] == "auto_reply"
    assert find(client, auth, "alice", "ESC-AUTO") is None
    assert legal["state"] == "open" and legal["action"] == "escalate"
    assert legal["reasons"] and legal["summary"]
    assert legal["priority"].startswith("P") and legal["team"]


def test_needs_info_decision_is_queued_too(client: TestClient, auth: Auth) -> None:
    assert decide(client, auth, sample("T-1016", "ESC-SHORT"))["decision"]["action"] == "needs_info"
    item = find(client, auth, "alice", "ESC-SHORT")
    assert item is not None and item["action"] == "needs_info"
    filtered = client.get(
        "/v1/escalations", params={"state": "open", "team": item["team"]}, headers=auth("alice")
    )
    assert "ESC-SHORT" in {i["ticket_id"] for i in filtered.json()["items"]}


def test_other_tenants_agent_sees_none_and_claim_is_not_found(
    client: TestClient, auth: Auth, legal: dict[str, Any]
) -> None:
    assert find(client, auth, "bob", "ESC-LEGAL") is None
    claim = client.post(f"/v1/escalations/{legal['escalation_id']}/claim", headers=auth("bob"))
    assert claim.status_code == 404
    assert claim.headers["content-type"] == "application/problem+json"


def test_claim_held_by_another_agent_is_a_conflict(
    client: TestClient, auth: Auth, legal: dict[str, Any]
) -> None:
    path = f"/v1/escalations/{legal['escalation_id']}/claim"
    first = client.post(path, headers=auth("alice"))
    assert first.status_code == 200, first.text
    assert first.json()["state"] == "claimed" and first.json()["claimed_by"] == "alice"
    assert client.post(path, headers=auth("alice")).status_code == 200  # idempotent
    taken = client.post(path, headers=auth("olga"))
    assert taken.status_code == 409
    assert "alice" in taken.json()["detail"]


def test_resolve_records_feedback_audits_it_and_analytics_counts_it(
    client: TestClient, auth: Auth, legal: dict[str, Any]
) -> None:
    before = client.get("/v1/analytics/summary", headers=auth("alice")).json()
    path = f"/v1/escalations/{legal['escalation_id']}/resolve"
    body = {"final_reply": "We are sorry; a manager will call you.", "feedback": "edited"}
    resolved = client.post(
        path, json={**body, "corrected_intent": "legal_threat"}, headers=auth("alice")
    )
    assert resolved.status_code == 200, resolved.text
    assert resolved.json()["state"] == "resolved" and resolved.json()["feedback"] == "edited"
    again = client.post(path, json=body, headers=auth("alice"))
    assert again.status_code == 409
    after = client.get("/v1/analytics/summary", headers=auth("alice")).json()
    assert after["feedback"]["edited"] == before["feedback"]["edited"] + 1
    assert after["feedback"]["corrected_intents"] == before["feedback"]["corrected_intents"] + 1
    assert after["first_response"]["escalation"]["count"] >= 1
    events = fetch_tail(client.app.state.api.parts.engine, 50)  # type: ignore[attr-defined]
    event = next(e for e in reversed(events) if e.action == "escalation.resolved")
    assert event.resource_id == legal["escalation_id"] and event.actor_subject == "alice"
    assert event.details["feedback"] == "edited" and event.roles == ("agent",)
    assert "manager" not in json.dumps(event.details)


def test_resolve_with_a_bad_body_is_unprocessable(
    client: TestClient, auth: Auth, legal: dict[str, Any]
) -> None:
    path = f"/v1/escalations/{legal['escalation_id']}/resolve"
    for body in (
        {"final_reply": "x", "feedback": "liked"},
        {"final_reply": "x" * 20_001, "feedback": "used"},
        {"final_reply": "x", "feedback": "used", "corrected_intent": "Not A Label"},
    ):
        assert client.post(path, json=body, headers=auth("alice")).status_code == 422


def test_non_agents_are_forbidden(client: TestClient, auth: Auth) -> None:
    assert client.get("/v1/escalations", headers=auth("kim")).status_code == 403
    assert client.post("/v1/escalations/x/claim", headers=auth("kim")).status_code == 403
    reveal = {"ticket_id": "ESC-LEGAL", "text": "<PERSON_1>"}
    assert client.post("/v1/pii/reveal", json=reveal, headers=auth("kim")).status_code == 403
    assert client.get("/v1/escalations").status_code == 401


def test_list_with_a_forged_cursor_is_a_bad_request(client: TestClient, auth: Auth) -> None:
    response = client.get("/v1/escalations", params={"cursor": "forged"}, headers=auth("alice"))
    assert response.status_code == 400
    assert "next_cursor" in response.json()["remedy"]


def test_reveal_without_the_vault_is_a_conflict_naming_the_setting(
    client: TestClient, auth: Auth, legal: dict[str, Any]
) -> None:
    body = {"ticket_id": "ESC-LEGAL", "text": "Hello <PERSON_1>"}
    response = client.post("/v1/pii/reveal", json=body, headers=auth("alice"))
    assert response.status_code == 409
    assert "guardrails.pii.anonymize: vault" in response.json()["remedy"]


@pytest.fixture(scope="module")
def vault_client(
    tmp_path_factory: pytest.TempPathFactory, dev_issuer: DevIssuer
) -> Iterator[TestClient]:
    """An app whose PII guard keeps originals in the vault (empty knowledge base)."""
    settings = load_settings(
        overrides={
            "data_dir": str(tmp_path_factory.mktemp("vault-api-data")),
            "auth": {"issuer_url": dev_issuer.issuer},
            "guardrails": {"pii": {"anonymize": "vault"}},
        },
        environ={},
    )
    with TestClient(build_api_app(settings), raise_server_exceptions=False) as test_client:
        yield test_client


def test_reveal_restores_the_tickets_originals_and_audits_only_the_count(
    vault_client: TestClient, auth: Auth
) -> None:
    decision = decide(vault_client, auth, sample("T-1007", "PII-1"))
    redacted = decision["ticket_text"]
    assert "margaret.okafor@example.com" not in redacted and "<EMAIL_ADDRESS_1>" in redacted
    body = {"ticket_id": "PII-1", "text": redacted}
    response = vault_client.post("/v1/pii/reveal", json=body, headers=auth("alice"))
    assert response.status_code == 200, response.text
    assert "margaret.okafor@example.com" in response.json()["text"]
    assert response.json()["revealed"] >= 2
    other = vault_client.post("/v1/pii/reveal", json=body, headers=auth("bob"))
    assert other.status_code == 404
    events = fetch_tail(vault_client.app.state.api.parts.engine, 20)  # type: ignore[attr-defined]
    event = next(e for e in reversed(events) if e.action == "pii.revealed")
    assert event.resource_id == "PII-1" and event.details == {
        "placeholders_revealed": response.json()["revealed"]
    }


def test_reveal_after_the_subjects_erasure_is_gone(vault_client: TestClient, auth: Auth) -> None:
    decide(vault_client, auth, sample("T-1007", "PII-2"))
    parts = vault_client.app.state.api.parts  # type: ignore[attr-defined]
    receipt = erase_subject("c-PII-2", engine=parts.engine, audit=parts.audit, actor=OPERATOR)
    assert receipt.pii_vault_keys_deleted == ("demo",)
    assert receipt.escalations_erased == 1  # nothing retrieved from an empty KB: escalated
    body = {"ticket_id": "PII-2", "text": "<EMAIL_ADDRESS_1>"}
    response = vault_client.post("/v1/pii/reveal", json=body, headers=auth("alice"))
    assert response.status_code == 410
    assert "erased" in response.json()["remedy"]
