"""Request protection: body limits, timeouts, rate limits, CORS, security headers, ids, logs."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import AsyncIterator, Callable, Iterator

import pytest
from fastapi import FastAPI
from fastapi.responses import StreamingResponse
from fastapi.testclient import TestClient

from airlock.config import load_settings
from airlock.server import build_api_app
from airlock.settings_api import ApiSettings
from api.auth.devissuer import DevIssuer
from api.errors import install_error_handlers
from api.protection import install_protection

MAX_BODY = 2048
TIMEOUT_S = 1.0
ORIGIN = "https://console.example.internal"
TICKET = {
    "id": "PROT-1",
    "subject": "Where is my parcel?",
    "body": "It was due on Monday and has not arrived yet.",
    "customer": {"id": "C-prot-1"},
}
Auth = Callable[[str], dict[str, str]]


@pytest.fixture(scope="module")
def strict(tmp_path_factory: pytest.TempPathFactory, dev_issuer: DevIssuer) -> Iterator[TestClient]:
    """An app with a small body limit, a short timeout, CORS, tiny buckets and no workers."""
    api = {
        "workers": 0,
        "max_body_bytes": MAX_BODY,
        "request_timeout_s": TIMEOUT_S,
        "max_wait_s": TIMEOUT_S / 2,
        "cors_origins": [ORIGIN],
        "rate_limits": {"ticketing-client": {"rate_per_s": 1, "burst": 2}},
    }
    settings = load_settings(
        overrides={
            "data_dir": str(tmp_path_factory.mktemp("protection-data")),
            "auth": {"issuer_url": dev_issuer.issuer},
            "api": api,
        },
        environ={},
    )
    with TestClient(build_api_app(settings), raise_server_exceptions=False) as test_client:
        yield test_client


def test_body_over_limit_with_content_length_is_413_problem(strict: TestClient, auth: Auth) -> None:
    body = b'{"padding": "' + b"x" * (MAX_BODY + 100) + b'"}'
    response = strict.post(
        "/v1/tickets",
        content=body,
        headers={**auth("ticketing-demo"), "Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert f"larger than {MAX_BODY} bytes" in problem["detail"]
    assert problem["request_id"] == response.headers["x-request-id"]


def test_chunked_body_over_limit_without_content_length_is_413(
    strict: TestClient, auth: Auth
) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"padding": "'
        for _ in range(8):
            yield b"x" * 512
        yield b'"}'

    response = strict.post(
        "/v1/tickets",
        content=chunks(),
        headers={**auth("ticketing-demo"), "Content-Type": "application/json"},
    )
    assert response.status_code == 413, response.text
    assert "content-length" not in response.request.headers
    assert response.json()["status"] == 413


def test_request_running_past_the_timeout_is_504_problem() -> None:
    with TestClient(slow_app(TIMEOUT_S)) as slow:
        began = time.monotonic()
        response = slow.get("/stall")
        elapsed = time.monotonic() - began
    assert response.status_code == 504, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert f"{TIMEOUT_S:g} s" in response.json()["detail"]
    assert elapsed < TIMEOUT_S * 3
    assert response.headers["x-content-type-options"] == "nosniff"


def test_wait_longer_than_allowed_answers_202_before_the_timeout(
    strict: TestClient, auth: Auth
) -> None:
    response = strict.post(
        "/v1/tickets?wait=20", json={**TICKET, "id": "PROT-202"}, headers=auth("ticketing-demo")
    )
    assert response.status_code == 202, response.text  # no worker: still queued, not 504
    assert response.json()["state"] == "queued"


def test_client_over_its_burst_gets_429_with_retry_after(strict: TestClient, auth: Auth) -> None:
    headers = auth("ticketing-acme")
    statuses = [strict.get("/v1/tickets/none", headers=headers) for _ in range(4)]
    assert [r.status_code for r in statuses[:2]] == [404, 404]
    refused = statuses[-1]
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) >= 1
    assert refused.json()["title"] == "Too many requests"


def test_cors_headers_are_sent_for_a_configured_origin_only(strict: TestClient) -> None:
    allowed = strict.get("/healthz", headers={"Origin": ORIGIN})
    assert allowed.headers["access-control-allow-origin"] == ORIGIN
    assert "x-request-id" in allowed.headers["access-control-expose-headers"].lower()
    other = strict.get("/healthz", headers={"Origin": "https://elsewhere.example"})
    assert "access-control-allow-origin" not in other.headers
    preflight = strict.options(
        "/v1/tickets",
        headers={"Origin": ORIGIN, "Access-Control-Request-Method": "POST"},
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == ORIGIN
    assert preflight.headers["x-frame-options"] == "DENY"


def test_cors_headers_are_absent_by_default(client: TestClient) -> None:
    response = client.get("/healthz", headers={"Origin": ORIGIN})
    assert "access-control-allow-origin" not in response.headers
    preflight = client.options(
        "/v1/tickets", headers={"Origin": ORIGIN, "Access-Control-Request-Method": "POST"}
    )
    assert "access-control-allow-origin" not in preflight.headers


def test_security_headers_are_on_every_response(client: TestClient) -> None:
    for response in (client.get("/healthz"), client.get("/v1/tickets/x"), client.get("/nowhere")):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["content-security-policy"].startswith("default-src 'none'")
        assert "strict-transport-security" not in response.headers


def test_hsts_is_sent_only_over_https(client: TestClient) -> None:
    response = client.get("https://testserver/healthz")
    assert response.headers["strict-transport-security"].startswith("max-age=")


def test_docs_page_gets_a_csp_that_lets_swagger_ui_load(client: TestClient) -> None:
    response = client.get("/docs")
    assert response.status_code == 200
    csp = response.headers["content-security-policy"]
    assert "https://cdn.jsdelivr.net" in csp and "'unsafe-inline'" in csp
    assert "frame-ancestors 'none'" in csp


def test_sane_request_id_is_echoed_and_quoted_in_problems(client: TestClient) -> None:
    response = client.get("/v1/tickets/x", headers={"X-Request-ID": "ticketing.42_retry-1"})
    assert response.status_code == 401
    assert response.headers["x-request-id"] == "ticketing.42_retry-1"
    assert response.json()["request_id"] == "ticketing.42_retry-1"


@pytest.mark.parametrize("incoming", ["has spaces", "x" * 129, "<script>"])
def test_unusable_request_id_is_replaced_by_a_new_one(client: TestClient, incoming: str) -> None:
    response = client.get("/healthz", headers={"X-Request-ID": incoming})
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["x-request-id"])


def test_access_log_has_route_status_and_caller_but_no_body_or_query(
    client: TestClient, auth: Auth, caplog: pytest.LogCaptureFixture
) -> None:
    marker = "Zebra-Marmalade-7731"
    ticket = {**TICKET, "id": "PROT-LOG", "body": f"My code is {marker}, please help."}
    with caplog.at_level(logging.INFO, logger="api.access"):
        response = client.post(
            "/v1/tickets?api_key=hunter2secret", json=ticket, headers=auth("ticketing-demo")
        )
    assert response.status_code == 202
    lines = [r for r in caplog.records if r.name == "api.access"]
    assert len(lines) == 1
    line = lines[0].__dict__
    assert line["method"] == "POST" and line["route"] == "/v1/tickets"
    assert line["status"] == 202 and line["duration_ms"] > 0
    assert line["client_id"] == "ticketing-demo" and line["tenant"] == "demo"
    assert line["request_id"] == response.headers["x-request-id"]
    assert line["bytes_in"] > 0 and line["bytes_out"] > 0
    logged = repr(line) + lines[0].getMessage()
    assert marker not in logged and "hunter2secret" not in logged


def slow_app(timeout_s: float) -> FastAPI:
    """A small app whose routes stream slowly, stall or fail, under the protection middleware."""
    app = FastAPI()
    settings = ApiSettings(request_timeout_s=timeout_s, max_wait_s=timeout_s / 2)
    install_protection(app, settings, None)
    install_error_handlers(app)

    @app.get("/fail")
    async def fail() -> None:
        raise RuntimeError("a bug")

    @app.get("/stream")
    async def stream() -> StreamingResponse:
        async def events() -> AsyncIterator[bytes]:
            for n in range(4):
                await asyncio.sleep(timeout_s / 2)
                yield f"data: {n}\n\n".encode()

        return StreamingResponse(events(), media_type="text/event-stream")

    @app.get("/stall")
    async def stall() -> dict[str, str]:
        await asyncio.sleep(timeout_s * 4)
        return {"status": "late"}

    return app


def test_streaming_response_is_not_cut_by_the_timeout_once_started() -> None:
    with TestClient(slow_app(0.2)) as slow:
        response = slow.get("/stream")
        stalled = slow.get("/stall")
    assert response.status_code == 200
    assert response.text.count("data: ") == 4
    assert stalled.status_code == 504


def test_unhandled_error_is_500_problem_with_security_headers() -> None:
    with TestClient(slow_app(1.0), raise_server_exceptions=False) as app:
        response = app.get("/fail", headers={"X-Request-ID": "bug-1"})
    assert response.status_code == 500
    assert response.json()["request_id"] == "bug-1"
    assert response.headers["x-frame-options"] == "DENY"
    assert "a bug" not in response.text
