"""Analytics over HTTP: the caller's tenant only, a window of decisions, agents and admins."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import TICKETS

Auth = Callable[[str], dict[str, str]]
SAMPLES = {row["id"]: row for row in map(json.loads, TICKETS.read_text().splitlines())}


def submit(client: TestClient, auth: Auth, sample_id: str, ticket_id: str) -> str:
    """Decide a sample ticket under a new id as the demo ticketing system; its action."""
    ticket = {k: v for k, v in SAMPLES[sample_id].items() if k not in ("tenant", "created_at")}
    ticket |= {"id": ticket_id, "customer": {**ticket["customer"], "id": f"c-{ticket_id}"}}
    response = client.post("/v1/tickets?wait=30", json=ticket, headers=auth("ticketing-demo"))
    assert response.status_code == 200, response.text
    action: str = response.json()["decision"]["decision"]["action"]
    return action


def summary(client: TestClient, auth: Auth, who: str, **params: str) -> dict[str, Any]:
    """`who`'s analytics summary."""
    response = client.get("/v1/analytics/summary", params=params, headers=auth(who))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.fixture(scope="module")
def decided(client: TestClient, auth: Auth) -> dict[str, str]:
    """One answered and one escalated ticket of tenant demo."""
    return {
        "ANA-AUTO": submit(client, auth, "T-1001", "ANA-AUTO"),
        "ANA-LEGAL": submit(client, auth, "T-1005", "ANA-LEGAL"),
    }


def test_summary_counts_the_tenants_decisions_rates_and_times(
    client: TestClient, auth: Auth, decided: dict[str, str]
) -> None:
    assert decided == {"ANA-AUTO": "auto_reply", "ANA-LEGAL": "escalate"}
    body = summary(client, auth, "alice")
    assert body["tenant"] == "demo" and body["decisions"] >= 2
    assert body["actions"]["auto_reply"] >= 1 and body["actions"]["escalate"] >= 1
    assert body["decisions"] == sum(body["actions"].values()) == sum(body["intents"].values())
    assert 0 < body["auto_resolution_rate"] < 1 and 0 < body["escalation_rate"] < 1
    assert sum(body["escalation_reasons"].values()) >= 1
    assert all(0 < rate <= 1 for rate in body["escalation_reason_rates"].values())
    auto = body["first_response"]["auto_reply"]
    assert auto["count"] >= 1 and 0 <= auto["p50"] <= auto["p90"] <= auto["p99"]
    assert body["truncated"] is False


def test_summary_is_limited_to_the_callers_tenant(
    client: TestClient, auth: Auth, decided: dict[str, str]
) -> None:
    before = summary(client, auth, "bob")["decisions"]
    submit(client, auth, "T-1017", "ANA-DEMO-ONLY")
    assert summary(client, auth, "bob")["decisions"] == before
    assert summary(client, auth, "bob")["tenant"] == "acme"


def test_summary_window_selects_decisions_by_time(
    client: TestClient, auth: Auth, decided: dict[str, str]
) -> None:
    now = datetime.now(UTC)
    future = summary(client, auth, "olga", since=(now + timedelta(hours=1)).isoformat())
    assert future["decisions"] == 0 and future["auto_resolution_rate"] is None
    assert future["first_response"]["all"] == {"count": 0, "p50": None, "p90": None, "p99": None}
    recent = summary(client, auth, "olga", since=(now - timedelta(hours=1)).isoformat())
    assert recent["decisions"] >= 2 and recent["since"] is not None


def test_summary_with_since_after_until_is_a_bad_request(client: TestClient, auth: Auth) -> None:
    params = {"since": "2026-11-02T10:00:00Z", "until": "2026-11-01T10:00:00Z"}
    response = client.get("/v1/analytics/summary", params=params, headers=auth("alice"))
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("who", ["kim", "audrey", "ticketing-demo"])
def test_summary_needs_an_agent_or_admin(client: TestClient, auth: Auth, who: str) -> None:
    assert client.get("/v1/analytics/summary", headers=auth(who)).status_code == 403
