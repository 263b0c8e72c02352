"""Running the OpenAI-compatible server: on Ray Serve (as in production) or plain uvicorn."""

from __future__ import annotations

import logging
import signal
import threading
from typing import Any

import uvicorn

from airlock.settings import AirlockSettings
from serving.server import build_server_app

log = logging.getLogger(__name__)

APP_NAME = "airlock-llm"
DEPLOYMENT_NAME = "airlock-openai"


def serve_with_uvicorn(settings: AirlockSettings, engine: str, model_id: str) -> None:
    """Serve in this process until interrupted (fast start; used by tests and benchmarks)."""
    app = build_server_app(settings, engine, model_id)
    uvicorn.run(
        app,
        host=settings.serving.host,
        port=settings.serving.port,
        log_level="warning",
        access_log=False,
    )


def serve_on_ray(settings: AirlockSettings, engine: str, model_id: str, cpus: int = 1) -> None:
    """Serve as a Ray Serve deployment on a local Ray runtime until SIGINT or SIGTERM."""
    import ray
    from ray import serve

    stop = threading.Event()
    # A signal during startup is remembered and stops the server once it is up: interrupting
    # ray.init half-way leaves Ray unable to shut down cleanly. Installed again after ray.init,
    # which sets its own SIGTERM handler.
    _on_stop_signals(stop)
    try:
        ray.init(include_dashboard=False, log_to_driver=False, configure_logging=False)
        _on_stop_signals(stop)
        serve.start(http_options={"host": settings.serving.host, "port": settings.serving.port})

        def builder() -> Any:  # Ray calls a plain function on the replica to build the app
            return build_server_app(settings, engine, model_id)

        deployment: Any = serve.deployment(
            name=DEPLOYMENT_NAME, ray_actor_options={"num_cpus": cpus}
        )(serve.ingress(builder)())
        serve.run(deployment.bind(), name=APP_NAME, route_prefix="/", blocking=False)
        log.info("serving on Ray Serve", extra={"port": settings.serving.port})
        stop.wait()
    finally:
        if ray.is_initialized():
            serve.shutdown()  # type: ignore[no-untyped-call]  # ray ships no annotations here
            ray.shutdown()


def _on_stop_signals(stop: threading.Event) -> None:
    """SIGINT and SIGTERM set `stop` instead of raising."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
