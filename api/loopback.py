"""An ASGI app served by uvicorn in a background thread (dev issuer, demo, tests)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal

import uvicorn

from api.errors import ApiStartupError


@contextmanager
def serve_in_thread(
    app: Any,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    lifespan: Literal["auto", "on", "off"] = "off",
    start_timeout_s: float = 60.0,
) -> Iterator[str]:
    """Serve `app` until the block ends; yield its base URL (port 0 picks a free port)."""
    server = uvicorn.Server(
        uvicorn.Config(
            app, host=host, port=port, log_level="warning", lifespan=lifespan, access_log=False
        )
    )
    thread = threading.Thread(target=server.run, name=f"uvicorn-{host}", daemon=True)
    thread.start()
    deadline = time.monotonic() + start_timeout_s
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            server.should_exit = True
            raise ApiStartupError(
                f"the HTTP server on {host}:{port} did not start",
                remedy="is the port already in use? pick another one or 0 for a free port",
            )
        time.sleep(0.01)
    bound = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://{host}:{bound}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
