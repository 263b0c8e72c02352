"""Serving fixtures: the tiny model in a store, and live servers on loopback."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import uvicorn

from models.store import ModelStore
from models.tiny import build_tiny_model
from serving.transformers_engine import TransformersEngine, load_transformers_engine

TINY_ID = "tiny-llama"


@pytest.fixture(scope="session")
def tiny_store(tmp_path_factory: pytest.TempPathFactory) -> ModelStore:
    """A model store holding the tiny test model (built and imported once per session)."""
    source = tmp_path_factory.mktemp("tiny-src") / TINY_ID
    build_tiny_model(source, TINY_ID)
    store = ModelStore(tmp_path_factory.mktemp("store") / "models")
    store.import_model(source, TINY_ID, manifest_file=source / "manifest.yaml")
    return store


@pytest.fixture(scope="session")
def tiny_engine(tiny_store: ModelStore) -> TransformersEngine:
    """The tiny model loaded once for the session."""
    return load_transformers_engine("transformers", tiny_store, TINY_ID)


def get_free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def run_live(app: Any) -> Iterator[str]:
    """Serve an ASGI app with uvicorn on a loopback port in a thread; yield its base URL."""
    port = get_free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def live_server() -> Callable[[Any], Any]:
    """`with live_server(app) as url:` runs the app on loopback for the block."""
    return run_live


@pytest.fixture
def refused_url() -> str:
    """A loopback URL where nothing listens (connections are refused)."""
    return f"http://127.0.0.1:{get_free_port()}/v1"
