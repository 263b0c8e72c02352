"""gpu-bench's tickets workload against the live API: a Keycloak token, decisions timed."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from gpu_bench.auth import AuthError, KeycloakClient, auth_headers, fetch_keycloak_token
from gpu_bench.cli import cli
from gpu_bench.records import RequestRecord
from gpu_bench.report import read_result
from gpu_bench.tickets import send_ticket

from airlock.config import load_settings
from airlock.server import build_api_app
from airlock.settings import AirlockSettings
from api.auth.devissuer import DevIssuer
from api.loopback import serve_in_thread

from .conftest import CLIENT_SECRETS, TICKETS

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def live_url(api_settings: AirlockSettings, dev_issuer: DevIssuer) -> Iterator[str]:
    """The API with one worker on a loopback port."""
    settings = load_settings(
        overrides={
            "data_dir": str(api_settings.data_dir),
            "auth": {"issuer_url": dev_issuer.issuer},
        },
        environ={},
    )
    with serve_in_thread(build_api_app(settings), lifespan="on", start_timeout_s=300) as url:
        yield url


def test_tickets_are_decided_through_the_api_with_a_keycloak_token(
    live_url: str, dev_issuer: DevIssuer
) -> None:
    secret = CLIENT_SECRETS["ticketing-demo"]
    token = fetch_keycloak_token(KeycloakClient(dev_issuer.issuer, "ticketing-demo", secret))
    tickets = [json.loads(line) for line in TICKETS.read_text().splitlines()[:3]]

    async def run() -> list[RequestRecord]:
        async with httpx.AsyncClient(timeout=120) as client:
            origin = time.perf_counter()
            return [
                await send_ticket(
                    client,
                    base_url=live_url,
                    ticket=ticket,
                    phase="concurrency=1",
                    request_id=f"gb-{n}",
                    started_at=origin,
                    headers=auth_headers(token),
                )
                for n, ticket in enumerate(tickets)
            ]

    records = asyncio.run(run())
    assert [r.status for r in records] == ["ok", "ok", "ok"]
    assert all(r.extra["action"] in ("auto_reply", "escalate", "needs_info") for r in records)
    assert all(r.e2e_s and r.e2e_s > 0 for r in records)
    assert records[0].server_request_id == "gb-0"


def test_refused_client_secret_is_a_clear_auth_error(dev_issuer: DevIssuer) -> None:
    with pytest.raises(AuthError, match="refused client 'ticketing-demo'"):
        fetch_keycloak_token(KeycloakClient(dev_issuer.issuer, "ticketing-demo", "wrong"))


def test_missing_token_is_an_http_4xx_record_not_an_exception(live_url: str) -> None:
    ticket = json.loads(TICKETS.read_text().splitlines()[0])

    async def run() -> RequestRecord:
        async with httpx.AsyncClient(timeout=60) as client:
            return await send_ticket(
                client,
                base_url=live_url,
                ticket=ticket,
                phase="p",
                request_id="gb-x",
                started_at=time.perf_counter(),
                headers={},
            )

    record = asyncio.run(run())
    assert record.status == "error" and record.error_kind == "http_4xx"
    assert record.http_status == 401


def test_gpu_bench_run_tickets_workload_reports_tickets_per_hour_at_the_slo(
    live_url: str, dev_issuer: DevIssuer, tmp_path: Path
) -> None:
    dataset = tmp_path / "tickets.jsonl"
    dataset.write_text("\n".join(TICKETS.read_text().splitlines()[:4]) + "\n")
    args = ["run", "--endpoint", live_url, "--model", "airlock", "--workload", "tickets"]
    args += ["--dataset", str(dataset), "--concurrency", "2", "--num-requests", "6"]
    args += ["--auth", "keycloak", "--keycloak-realm", dev_issuer.issuer]
    args += ["--client-id", "ticketing-demo", "--client-secret", CLIENT_SECRETS["ticketing-demo"]]
    args += ["--slo", "e2e=30s", "--out", str(tmp_path / "run")]
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    point = read_result(tmp_path / "run" / "result.json")["points"][0]
    assert point["phase"] == "concurrency=2" and point["stats"]["ok"] == 6
    assert point["goodput"]["attainment"] == 1.0
    assert point["tickets_per_hour_at_slo"] > 0
    assert "tickets/hour" in (tmp_path / "run" / "summary.md").read_text()
