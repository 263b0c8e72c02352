"""`airlock serving up`: the server as an operator starts it, on Ray Serve and on uvicorn."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import openai
import pytest

from models.store import ModelStore
from tests.serving.conftest import TINY_ID, get_free_port

ASK = [{"role": "user", "content": "Where is my parcel?"}]


@contextmanager
def serving_up(store: ModelStore, mode: str, startup_s: float) -> Iterator[str]:
    """Start the CLI server in a child process; yield its /v1 URL; stop it with SIGINT."""
    port = get_free_port()
    env = {**os.environ, "AIRLOCK__MODELS__STORE_DIR": str(store.root)}
    airlock = str(Path(sys.executable).with_name("airlock"))
    command = [airlock, "serving", "up", "--engine"]
    command += ["transformers", "--model", TINY_ID, "--port", str(port), "--mode", mode]
    child = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_ready(child, url, startup_s)
        yield f"{url}/v1"
    finally:
        child.send_signal(signal.SIGINT)
        try:
            child.wait(timeout=60)
        finally:
            if child.poll() is None:
                child.kill()
    assert child.returncode == 0, child.stderr.read() if child.stderr else ""


def wait_until_ready(child: subprocess.Popen[str], url: str, startup_s: float) -> None:
    deadline = time.monotonic() + startup_s
    while time.monotonic() < deadline:
        if child.poll() is not None:
            pytest.fail(f"serving up exited with {child.returncode}: {child.stderr.read()}")
        try:
            if httpx.get(f"{url}/v1/models", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    pytest.fail(f"serving up did not answer within {startup_s} s")


def check_answers(base_url: str) -> None:
    client = openai.OpenAI(base_url=base_url, api_key="unused", max_retries=0)
    reply = client.chat.completions.create(model=TINY_ID, messages=ASK, max_tokens=6)
    assert reply.usage is not None and reply.usage.completion_tokens >= 1
    stream = client.chat.completions.create(model=TINY_ID, messages=ASK, max_tokens=6, stream=True)
    reasons = [c.choices[0].finish_reason for c in stream if c.choices]
    assert reasons[-1] in ("stop", "length")


@pytest.mark.slow
def test_serving_up_uvicorn_mode_answers_the_openai_client(tiny_store: ModelStore) -> None:
    with serving_up(tiny_store, "uvicorn", startup_s=60) as url:
        check_answers(url)


@pytest.mark.ray
@pytest.mark.slow
def test_serving_up_on_ray_serve_answers_the_openai_client(tiny_store: ModelStore) -> None:
    with serving_up(tiny_store, "ray", startup_s=180) as url:
        check_answers(url)


def test_serving_up_transformers_without_a_model_is_a_usage_error(run_cli) -> None:  # type: ignore[no-untyped-def]
    result = run_cli("serving", "up", "--engine", "transformers")
    assert result.code == 2 and "--engine transformers needs --model ID" in result.err
