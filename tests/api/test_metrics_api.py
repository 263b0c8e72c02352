"""GET /metrics: request latency per route template, ticket decisions, queue depth."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from airlock.config import load_settings
from airlock.server import build_api_app
from api.auth.devissuer import DevIssuer
from helpdesk.policy.reasons import reason_kinds

Auth = Callable[[str], dict[str, str]]
TICKET = {
    "subject": "Cannot reset my password",
    "body": "The reset link says it expired. How do I get a new one?",
    "customer": {"id": "C-metrics-1"},
}


def sample(text: str, name: str, **labels: str) -> float | None:
    """The value of one sample of the exposition, or None when absent."""
    for family in text_string_to_metric_families(text):
        for one in family.samples:
            if one.name == name and all(one.labels.get(k) == v for k, v in labels.items()):
                return float(one.value)
    return None


@pytest.fixture(scope="module")
def idle(tmp_path_factory: pytest.TempPathFactory, dev_issuer: DevIssuer) -> Iterator[TestClient]:
    """An app without workers (jobs stay queued) whose /metrics asks for a token."""
    settings = load_settings(
        overrides={
            "data_dir": str(tmp_path_factory.mktemp("metrics-data")),
            "auth": {"issuer_url": dev_issuer.issuer},
            "api": {"workers": 0, "metrics_require_token": True},
        },
        environ={},
    )
    with TestClient(build_api_app(settings), raise_server_exceptions=False) as test_client:
        yield test_client


def test_metrics_serve_the_prometheus_text_format(client: TestClient) -> None:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert sample(response.text, "airlock_http_requests_in_flight") is not None


def test_request_histogram_is_labelled_by_route_template(client: TestClient, auth: Auth) -> None:
    for ticket_id in ("MET-missing-1", "MET-missing-2"):
        assert client.get(f"/v1/tickets/{ticket_id}", headers=auth("ticketing-demo")).status_code
    text = client.get("/metrics").text
    count = sample(
        text,
        "airlock_http_request_duration_seconds_count",
        method="GET",
        route="/v1/tickets/{ticket_id}",
        status="4xx",
    )
    assert count is not None and count >= 2
    assert "MET-missing-1" not in text


def test_decided_ticket_is_counted_by_action_intent_and_tenant(
    client: TestClient, auth: Auth
) -> None:
    response = client.post(
        "/v1/tickets?wait=30", json={**TICKET, "id": "MET-1"}, headers=auth("ticketing-demo")
    )
    assert response.status_code == 200, response.text
    decision = response.json()["decision"]
    text = client.get("/metrics").text
    decided = sample(
        text,
        "airlock_tickets_decided_total",
        action=decision["decision"]["action"],
        intent=decision["intent"]["label"],
        tenant="demo",
    )
    assert decided is not None and decided >= 1
    total = sample(text, "airlock_ticket_stage_duration_seconds_count", stage="total")
    assert total is not None and total >= 1
    assert (sample(text, "airlock_queue_jobs", state="done") or 0) >= 1


def test_queue_depth_counts_waiting_jobs_and_their_age(idle: TestClient, auth: Auth) -> None:
    for n in range(3):
        ticket = {**TICKET, "id": f"MET-Q-{n}"}
        assert idle.post("/v1/tickets", json=ticket, headers=auth("ticketing-demo")).is_success
    text = idle.get("/metrics", headers=auth("mo")).text
    assert sample(text, "airlock_queue_jobs", state="queued") == 3
    assert sample(text, "airlock_queue_jobs", state="done") == 0
    assert (sample(text, "airlock_queue_oldest_queued_age_seconds") or -1) >= 0
    assert sample(text, "airlock_queue_up") == 1


def test_metrics_need_a_scraper_role_when_configured(idle: TestClient, auth: Auth) -> None:
    assert idle.get("/metrics").status_code == 401
    assert idle.get("/metrics", headers=auth("alice")).status_code == 403
    assert idle.get("/metrics", headers=auth("olga")).status_code == 200


def test_escalation_reasons_are_counted_by_kind_not_by_sentence() -> None:
    reasons = (
        "sentiment -0.71 below -0.50",
        "not auto-answerable: best passage score 0.120 below 0.300; grounding 0.40 below 0.60",
        "tier gold: priority routing",
        "guardrail flags on input (injection): no automatic reply",
    )
    assert reason_kinds(reasons) == {
        "negative_sentiment",
        "low_passage_score",
        "low_grounding",
        "guardrail",
    }
