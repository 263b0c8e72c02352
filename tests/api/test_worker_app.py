"""`airlock worker`: decides what API processes without workers queued; serves only probes."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient

from airlock.config import load_settings
from airlock.server import build_api_app, build_worker_app
from airlock.settings import AirlockSettings
from api.auth.devissuer import DevIssuer
from tests.api.test_metrics_api import sample

Auth = Callable[[str], dict[str, str]]
TICKET = {
    "id": "WRK-1",
    "subject": "Cannot reset my password",
    "body": "The reset link says it expired. How do I get a new one?",
    "customer": {"id": "C-worker-1"},
}


def settings_for(data_dir: Path, issuer: str, workers: int) -> AirlockSettings:
    return load_settings(
        overrides={
            "data_dir": str(data_dir),
            "auth": {"issuer_url": issuer},
            "api": {"workers": workers},
        },
        environ={},
    )


def wait_for_decisions(worker: TestClient, count: int) -> float:
    """The decided-ticket count the worker's /metrics reports once it reaches `count`."""
    decided = 0.0
    for _ in range(600):  # a ticket takes a few seconds on CPU; this is waiting, not timing
        decided = sample(worker.get("/metrics").text, "airlock_tickets_decided_total") or 0.0
        if decided >= count:
            break
        time.sleep(0.1)
    return decided


def test_worker_decides_tickets_an_api_without_workers_queued(
    tmp_path: Path, dev_issuer: DevIssuer, auth: Auth
) -> None:
    data_dir = tmp_path / "data"
    api_settings = settings_for(data_dir, dev_issuer.issuer, workers=0)
    with TestClient(build_api_app(api_settings)) as api:
        accepted = api.post("/v1/tickets", json=TICKET, headers=auth("ticketing-demo"))
        assert accepted.status_code == 202, accepted.text
        assert (
            api.get("/v1/tickets/WRK-1", headers=auth("ticketing-demo")).json()["decision"] is None
        )

    with TestClient(build_worker_app(settings_for(data_dir, "", workers=1))) as worker:
        assert wait_for_decisions(worker, 1) >= 1
        assert worker.get("/healthz").status_code == 200
        assert worker.get("/readyz").status_code == 200
        only_probes = worker.get("/v1/tickets/WRK-1", headers=auth("ticketing-demo"))
        assert only_probes.status_code == 404

    with TestClient(build_api_app(api_settings)) as api:
        read = api.get("/v1/tickets/WRK-1", headers=auth("ticketing-demo"))
        assert read.json()["decision"]["ticket_id"] == "WRK-1"


def test_worker_needs_no_identity_provider(tmp_path: Path) -> None:
    settings = load_settings(
        overrides={
            "data_dir": str(tmp_path),
            "profile": "dev",
            "auth": {"dev_issuer": {"enabled": False}},
        },
        environ={},
    )
    with TestClient(build_worker_app(settings)) as worker:
        assert worker.get("/healthz").status_code == 200
        assert worker.get("/openapi.json").json()["info"]["title"] == "Airlock worker"
