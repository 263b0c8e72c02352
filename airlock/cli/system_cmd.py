"""`airlock config`, `airlock db` and `airlock demo`."""

from __future__ import annotations

import click

from airlock.cli.context import CliState, emit_json, pass_state
from airlock.config import render_settings
from airlock.db import build_engine, get_head_revision, get_schema_revision, upgrade_database
from airlock.demo import run_demo
from airlock.services import open_storage


@click.group()
def config() -> None:
    """Inspect the effective configuration."""


@config.command("show")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable JSON.")
@pass_state
def config_show(state: CliState, as_json: bool) -> None:
    """Print the effective configuration (defaults < YAML < env < args), secrets masked."""
    data = render_settings(state.settings)
    if as_json:
        emit_json(data)
        return
    for key, value in data.items():
        if isinstance(value, dict):
            click.echo(f"{key}:")
            for sub, sub_value in value.items():
                click.echo(f"  {sub}: {sub_value}")
        else:
            click.echo(f"{key}: {value}")


@click.group()
def db() -> None:
    """Relational store schema."""


@db.command("upgrade")
@pass_state
def db_upgrade(state: CliState) -> None:
    """Create the database if needed and apply pending migrations."""
    engine = open_storage(state.settings, writable=True)
    revision = upgrade_database(engine)
    click.echo(f"database at schema {revision}")


@db.command("status")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable JSON.")
@pass_state
def db_status(state: CliState, as_json: bool) -> None:
    """Show the schema revision of the database and of this build."""
    engine = build_engine(state.settings, create=False)
    current, head = get_schema_revision(engine), get_head_revision()
    if as_json:
        emit_json({"current": current, "head": head, "up_to_date": current == head})
    else:
        click.echo(f"database schema {current or '(empty)'}; this build {head}")


WORKER_PORT = 8081  # probes and /metrics of `airlock worker`


@click.command()
@click.option("--once", is_flag=True, help="Do the demo's work and exit instead of serving.")
@pass_state
def demo(state: CliState, once: bool) -> None:
    """Run Airlock end to end on embedded defaults and say what it did."""
    run_demo(state.settings, once=once, echo=click.echo)


@click.command()
@click.option("--host", default=None, help="Listen address (default: api.host).")
@click.option("--port", type=int, default=None, help="Listen port (default: api.port).")
@pass_state
def serve(state: CliState, host: str | None, port: int | None) -> None:
    """Run the API for real deployments until SIGTERM or Ctrl-C (tickets finish first)."""
    import uvicorn

    from airlock.server import build_api_app

    settings = state.settings
    uvicorn.run(
        build_api_app(settings),
        host=host or settings.api.host,
        port=settings.api.port if port is None else port,
        log_config=None,  # our JSON logging, configured once by the CLI
        access_log=False,  # the API writes its own access lines (no bodies, no query strings)
        timeout_graceful_shutdown=int(settings.api.request_timeout_s),
        server_header=False,
    )


@click.command()
@click.option(
    "--threads",
    type=click.IntRange(1, 64),
    default=None,
    help="Ticket worker threads (default: api.workers, at least 1).",
)
@click.option("--host", default=None, help="Listen address of the probes (default: api.host).")
@click.option("--port", type=int, default=WORKER_PORT, show_default=True, help="Probe port.")
@pass_state
def worker(state: CliState, threads: int | None, host: str | None, port: int) -> None:
    """Decide queued tickets until SIGTERM (tickets in progress finish); serves only probes."""
    import uvicorn

    from airlock.server import build_worker_app

    settings = state.settings
    count = threads if threads is not None else max(1, settings.api.workers)
    api = settings.api.model_copy(update={"workers": count})
    settings = settings.model_copy(update={"api": api})
    uvicorn.run(
        build_worker_app(settings),
        host=host or settings.api.host,
        port=port,
        log_config=None,
        access_log=False,
        # A ticket may take a while on CPU: the lifespan waits for the workers, not uvicorn.
        timeout_graceful_shutdown=5,
        server_header=False,
    )
