"""`airlock serve`: the API as its own process, with the development issuer, until SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from keycloak import KeycloakOpenID

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_healthy(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        assert process.poll() is None, "airlock serve exited early"
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.5)
    raise AssertionError("airlock serve did not answer /healthz")


def test_serve_answers_probes_tokens_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    port, issuer_port = _free_port(), _free_port()
    env = {
        **os.environ,
        "AIRLOCK__DATA_DIR": str(tmp_path / "data"),
        "AIRLOCK__AUTH__DEV_ISSUER__PORT": str(issuer_port),
    }
    airlock = Path(sys.executable).with_name("airlock")
    process = subprocess.Popen(
        [str(airlock), "serve", "--port", str(port)], env=env, stderr=subprocess.PIPE
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, process)
        ready = httpx.get(f"{url}/readyz", timeout=30)
        checks = ready.json()["checks"]
        assert checks["database"]["ok"] and checks["engines"]["ok"], checks
        assert ready.status_code == (200 if all(c["ok"] for c in checks.values()) else 503)
        keycloak = KeycloakOpenID(
            f"http://127.0.0.1:{issuer_port}/", "airlock", "ticketing-demo", "dev-ticketing-secret"
        )
        token = keycloak.token(grant_type="client_credentials")["access_token"]
        missing = httpx.get(
            f"{url}/v1/tickets/none", headers={"Authorization": f"Bearer {token}"}, timeout=30
        )
        assert missing.status_code == 404
        assert httpx.get(f"{url}/v1/tickets/none", timeout=30).status_code == 401
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=120)
    # uvicorn shuts down gracefully, then re-raises the signal so the exit status tells it
    assert process.returncode in (0, -signal.SIGTERM), stderr.decode()[-2000:]
    assert "api parts closed" in stderr.decode()  # the lifespan ran to its end
