"""Timed streams for bench_serving_overhead: the engine in-process and through a server process."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import measure

from models.store import ModelStore
from models.tiny import build_tiny_model
from serving.openai_protocol import ChatCompletionBody
from serving.transformers_engine import TransformersEngine

MODEL_ID = "tiny-llama"


@dataclass(frozen=True)
class Stream:
    """One timed request: time to first text, time per token after it, and what came back."""

    ttft_ms: float
    per_token_ms: float
    tokens: int
    text_events: int
    text: str


def machine_info() -> dict[str, Any]:
    """The machine and the versions that shape the serving numbers."""
    return measure.machine_info(("torch", "transformers", "uvicorn", "httpx"))


def build_tiny_store(work: Path, seed: int) -> ModelStore:
    """The tiny model built with `seed` and imported into a fresh store under `work`."""
    source = work / "src" / MODEL_ID
    build_tiny_model(source, MODEL_ID, seed=seed)
    store = ModelStore(work / "models")
    store.import_model(source, MODEL_ID, manifest_file=source / "manifest.yaml")
    return store


def chat_body(prompt: str, max_tokens: int) -> dict[str, Any]:
    """The streamed, greedy chat request sent to the server (and parsed for the engine)."""
    return {
        "model": MODEL_ID,
        "messages": [{"role": "user", "content": prompt}],
        "max_tokens": max_tokens,
        "temperature": 0.0,
        "stream": True,
        "stream_options": {"include_usage": True},
    }


def _stream(text_times: Sequence[float], start: float, tokens: int, text: str) -> Stream:
    if not text_times:
        raise RuntimeError("the stream carried no text")
    per_token = (text_times[-1] - text_times[0]) / (tokens - 1) if tokens > 1 else 0.0
    return Stream(
        ttft_ms=(text_times[0] - start) * 1000,
        per_token_ms=per_token * 1000,
        tokens=tokens,
        text_events=len(text_times),
        text=text,
    )


async def time_inprocess(engine: TransformersEngine, body: dict[str, Any]) -> Stream:
    """Consume `engine.stream_chat` in this process; the clock starts at the call."""
    request = ChatCompletionBody.model_validate(body).to_request()  # the server's own mapping
    times: list[float] = []
    parts: list[str] = []
    tokens = 0
    start = time.perf_counter()
    async for chunk in engine.stream_chat(request):
        if chunk.text:
            times.append(time.perf_counter())
            parts.append(chunk.text)
        if chunk.usage is not None:
            tokens = chunk.usage.completion_tokens
    return _stream(times, start, tokens, "".join(parts))


def time_http(client: httpx.Client, url: str, body: dict[str, Any]) -> Stream:
    """POST a streamed chat completion; stamp each line now, parse the events after the stream."""
    stamped: list[tuple[float, str]] = []
    start = time.perf_counter()
    with client.stream("POST", f"{url}/v1/chat/completions", json=body) as response:
        response.raise_for_status()
        for line in response.iter_lines():
            stamped.append((time.perf_counter(), line))
    times: list[float] = []
    parts: list[str] = []
    tokens = 0
    for at, line in stamped:
        if not line.startswith("data: ") or line == "data: [DONE]":
            continue
        event = json.loads(line[len("data: ") :])
        if "error" in event:
            raise RuntimeError(f"the server reported an error in the stream: {event['error']}")
        for choice in event.get("choices", ()):
            content = choice.get("delta", {}).get("content")
            if content:
                times.append(at)
                parts.append(content)
        if event.get("usage"):
            tokens = int(event["usage"]["completion_tokens"])
    return _stream(times, start, tokens, "".join(parts))


def get_free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_ready(proc: subprocess.Popen[bytes], url: str, timeout_s: float, log: Path) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}:\n{_tail(log)}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}/v1/models", timeout=2).status_code == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"server not ready after {timeout_s:.0f} s:\n{_tail(log)}")


def _tail(log: Path, lines: int = 30) -> str:
    with contextlib.suppress(OSError):
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    return "(no server log)"


def _stop(proc: subprocess.Popen[bytes], grace_s: float) -> None:
    """Ctrl-C (the CLI's way to stop), then kill the server's own session if it hangs."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # the session we created for it, nothing else
        proc.wait(timeout=10)


@contextlib.contextmanager
def running_server(work: Path, store: ModelStore, mode: str, threads: int) -> Iterator[str]:
    """`airlock serving up --engine transformers` in its own process; yields its base URL."""
    airlock = Path(sys.executable).parent / "airlock"
    if not airlock.exists():
        raise RuntimeError(f"{airlock} not found: run with the project's venv python")
    port = get_free_port()
    env = os.environ | {
        "AIRLOCK__DATA_DIR": str(work / "data"),
        "AIRLOCK__MODELS__STORE_DIR": str(store.root),
        "AIRLOCK__MODELS__CPU_THREADS": str(threads),
        "AIRLOCK__LOG__LEVEL": "WARNING",
    }
    command = [str(airlock), "serving", "up", "--engine", "transformers", "--model", MODEL_ID]
    command += ["--mode", mode, "--host", "127.0.0.1", "--port", str(port)]
    log = work / f"server-{mode}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(proc, url, 180.0 if mode == "ray" else 60.0, log)
        yield url
    finally:
        _stop(proc, 60.0 if mode == "ray" else 20.0)
