"""Data-subject erasure over HTTP: texts blanked, a receipt, idempotent, tenant-scoped."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

Auth = Callable[[str], dict[str, str]]


def _decided(client: TestClient, auth: Auth, sender: str, ticket_id: str, customer: str) -> None:
    ticket = {
        "id": ticket_id,
        "subject": "Cannot reset my password",
        "body": "The reset link says it expired. My name is Jane Roe, how do I get a new one?",
        "customer": {"id": customer},
    }
    response = client.post("/v1/tickets?wait=30", json=ticket, headers=auth(sender))
    assert response.status_code == 200, response.text  # decided within the wait


def _decision(client: TestClient, auth: Auth, sender: str, ticket_id: str) -> dict[str, Any]:
    response = client.get(f"/v1/tickets/{ticket_id}", headers=auth(sender))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_erasure_blanks_decision_texts_and_returns_receipt(client: TestClient, auth: Auth) -> None:
    _decided(client, auth, "ticketing-demo", "ERASE-1", "C-erase-1")
    assert _decision(client, auth, "ticketing-demo", "ERASE-1")["decision"]["ticket_text"]
    response = client.delete("/v1/subjects/C-erase-1", headers=auth("olga"))
    assert response.status_code == 200, response.text
    receipt = response.json()
    assert receipt["subject_id"] == "C-erase-1" and receipt["tenants"] == ["demo"]
    assert receipt["tickets"] == ["ERASE-1"]
    assert receipt["decision_records_scrubbed"] == 1 and receipt["audit_seq"] > 0
    status = _decision(client, auth, "ticketing-demo", "ERASE-1")
    assert status["erased"] is True
    decision = status["decision"]
    assert decision["erased"] is True
    assert decision["ticket_text"] == "" and decision["summary"] == ""
    assert decision["draft"] in (None, "")


def test_erasing_again_counts_nothing(client: TestClient, auth: Auth) -> None:
    _decided(client, auth, "ticketing-demo", "ERASE-2", "C-erase-2")
    first = client.delete("/v1/subjects/C-erase-2", headers=auth("olga")).json()
    assert first["ticket_texts_erased"] == 1
    again = client.delete("/v1/subjects/C-erase-2", headers=auth("olga"))
    assert again.status_code == 200
    receipt = again.json()
    counts = ("ticket_texts_erased", "queued_tickets_cancelled", "decision_records_scrubbed")
    assert all(receipt[name] == 0 for name in counts)
    assert receipt["kb_documents_deleted"] == []
    assert receipt["receipt_id"] != first["receipt_id"]


def test_erasure_leaves_other_tenants_alone(client: TestClient, auth: Auth) -> None:
    _decided(client, auth, "ticketing-demo", "ERASE-3", "C-shared")
    _decided(client, auth, "ticketing-acme", "ERASE-3", "C-shared")
    response = client.delete("/v1/subjects/C-shared", headers=auth("olga"))
    assert response.json()["tenants"] == ["demo"]
    assert _decision(client, auth, "ticketing-demo", "ERASE-3")["erased"] is True
    acme = _decision(client, auth, "ticketing-acme", "ERASE-3")
    assert acme["erased"] is False and acme["decision"]["ticket_text"]


def test_erasure_is_audited_with_the_admin_as_actor(client: TestClient, auth: Auth) -> None:
    receipt = client.delete("/v1/subjects/C-erase-audit", headers=auth("olga")).json()
    params = {"action": "subject.erased", "resource_id": "C-erase-audit"}
    events = client.get("/v1/audit/events", params=params, headers=auth("audrey")).json()
    [event] = events["events"]
    assert event["seq"] == receipt["audit_seq"] and event["actor_subject"] == "olga"


def test_agent_cannot_erase(client: TestClient, auth: Auth) -> None:
    response = client.delete("/v1/subjects/C-erase-1", headers=auth("alice"))
    assert response.status_code == 403


def test_erasure_deletes_the_subjects_chat_turns(client: TestClient, auth: Auth) -> None:
    question = {
        "model": "airlock",
        "user": "C-erase-chat",
        "messages": [{"role": "user", "content": "How long is a password reset link valid?"}],
    }
    answered = client.post("/v1/chat/completions", json=question, headers=auth("mo"))
    assert answered.status_code == 200, answered.text
    conversation = answered.json()["airlock"]["conversation_id"]
    receipt = client.delete("/v1/subjects/C-erase-chat", headers=auth("olga")).json()
    assert receipt["chat_turns_erased"] == 2  # the question and the answer
    follow_up = {**question, "metadata": {"conversation_id": conversation}}
    again = client.post("/v1/chat/completions", json=follow_up, headers=auth("mo"))
    assert again.status_code == 404  # an erased conversation cannot be continued
