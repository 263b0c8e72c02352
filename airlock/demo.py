"""`airlock demo`: run what exists end to end on embedded defaults and say plainly what it did."""

from __future__ import annotations

import getpass
import hashlib
import json
import logging
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from airlock.config import render_settings
from airlock.db import get_schema_revision
from airlock.demo_http import (
    DemoApi,
    fetch_client_token,
    format_table,
    serve_demo_api,
    submit_tickets,
)
from airlock.services import Services, open_services
from airlock.settings import AirlockSettings
from audit.events import Actor, AuditEvent
from audit.export import export_events, verify_export
from audit.log import format_ts, utc_now
from audit.signing import get_public_pem
from audit.verify import verify_log
from rag.ingest import IngestTarget
from rag.loaders import load_paths
from rag.registry import open_knowledge_base

Echo = Callable[[str], None]

_DEMO_TENANT = "demo"
# The sample knowledge base of a fictional company, beside the package in a source checkout.
_EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "kb"


def run_demo(settings: AirlockSettings, *, once: bool, echo: Echo) -> None:
    """The audit log, the knowledge base and the API with the example tickets over HTTP."""
    echo(f"Airlock demo — profile {settings.profile}, data directory {settings.data_dir.resolve()}")
    actor = Actor(subject=f"local:{getpass.getuser()}", client_id="airlock-demo")
    # The demo's own lines tell the story; info-level logs (a line per queued job, per HTTP
    # request) would bury them. Warnings and errors still show; serving restores the level.
    root = logging.getLogger()
    level = root.level
    root.setLevel(max(level, logging.WARNING))
    try:
        _run_steps(settings, actor, once=once, echo=echo, log_level=level)
    finally:
        root.setLevel(level)


def _run_steps(
    settings: AirlockSettings, actor: Actor, *, once: bool, echo: Echo, log_level: int
) -> None:
    with open_services(settings) as services:
        _record_startup(services, actor, echo)
        _verify_and_export(services, echo)
        _ingest_knowledge_base(services, actor, echo)
        services.audit.append(AuditEvent("system.stopped", actor=actor, resource_type="demo"))
    _run_api(settings, once=once, echo=echo, log_level=log_level)


def _run_api(settings: AirlockSettings, *, once: bool, echo: Echo, log_level: int) -> None:
    """The API on loopback: a token, the example tickets over HTTP, then serve until Ctrl-C."""
    echo("6. Starting the API (the development issuer, the ticket pipeline and a worker)…")
    started = time.perf_counter()
    with serve_demo_api(settings) as api:
        echo(f"   API ready at {api.url} in {time.perf_counter() - started:.0f} s.")
        token = fetch_client_token(settings, api.issuer_url, _DEMO_TENANT)
        echo(
            f"7. Token for the ticketing client of tenant {_DEMO_TENANT!r} from {api.issuer_url} "
            "(client-credentials grant, python-keycloak)."
        )
        _tickets_over_http(api, token, echo)
        echo("")
        echo(f"   API docs:   {api.url}/docs   (OpenAPI: {api.url}/openapi.json)")
        echo(f"   Metrics:    {api.url}/metrics      Health: {api.url}/readyz")
        echo(f"   Identity:   {api.issuer_url}/.well-known/openid-configuration")
        echo("   Clients and users of the development realm: api/keycloak/dev-realm.yaml")
        if once:
            echo("Done (--once): the API stops and the audit log writes its final checkpoint.")
            return
        echo("Serving until Ctrl-C (access logs follow).")
        logging.getLogger().setLevel(log_level)
        _wait_for_interrupt()
    echo("Stopped; the audit log wrote its final signed checkpoint.")


def _tickets_over_http(api: DemoApi, token: str, echo: Echo) -> None:
    tickets = _EXAMPLES.parent / "tickets.jsonl"
    if not tickets.is_file():
        echo(f"8. No example tickets at {tickets} (not a source checkout).")
        return
    echo(f"8. The tickets of {_rel(tickets)}, one by one: POST /v1/tickets?wait=…")
    started = time.perf_counter()
    decisions = submit_tickets(api, token, tickets, progress=lambda _decision: None)
    elapsed = time.perf_counter() - started
    for line in format_table(decisions):
        echo(f"   {line}")
    actions = Counter(str(d["decision"]["action"]) for d in decisions)
    auto = actions.get("auto_reply", 0) / len(decisions) if decisions else 0.0
    echo(
        f"   {len(decisions)} tickets decided in {elapsed:.1f} s: automatic replies {auto:.0%}, "
        f"actions {dict(sorted(actions.items()))}."
    )


def _wait_for_interrupt() -> None:
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        return


def _ingest_knowledge_base(services: Services, actor: Actor, echo: Echo) -> None:
    settings = services.settings
    if not _EXAMPLES.is_dir():
        echo(f"5. The sample knowledge base {_EXAMPLES} is not here (not a source checkout).")
        return
    with open_knowledge_base(settings, services.engine, services.audit) as kb:
        embedder = kb.kb.embedder
        loaded = load_paths([_EXAMPLES])
        reports = kb.kb.ingest(loaded.documents, IngestTarget(_DEMO_TENANT), actor)
    written = [r for r in reports if r.status in ("added", "updated")]
    echo(
        f"5. Embedding model {embedder.model_id} loaded after its pinned SHA-256 matched. "
        f"Knowledge base: {len(reports)} documents of {_rel(_EXAMPLES)} ({len(written)} new or "
        f"changed, {sum(r.chunks for r in written)} chunks written, the rest unchanged) in "
        f"Milvus Lite at {_rel(Path(settings.get_milvus_uri()))}."
    )


def _record_startup(services: Services, actor: Actor, echo: Echo) -> None:
    settings = services.settings
    effective = json.dumps(render_settings(settings), sort_keys=True).encode()
    revision = get_schema_revision(services.engine)
    echo(
        f"1. Configuration loaded (sha256 {hashlib.sha256(effective).hexdigest()[:16]}…; "
        "see `airlock config show`)."
    )
    echo(
        f"2. Storage ready: {services.engine.url.render_as_string(hide_password=True)} "
        f"at schema {revision}."
    )
    events = [
        AuditEvent("system.started", actor=actor, resource_type="demo"),
        AuditEvent(
            "config.loaded",
            actor=actor,
            resource_type="config",
            details={
                "profile": settings.profile,
                "config_sha256": hashlib.sha256(effective).hexdigest(),
            },
        ),
        AuditEvent(
            "storage.ready",
            actor=actor,
            resource_type="database",
            resource_id=services.engine.dialect.name,
            details={"schema": revision},
        ),
        AuditEvent(
            "audit.key_loaded",
            actor=actor,
            resource_type="signing_key",
            resource_id=services.audit.signer.key_id,
        ),
    ]
    records = services.audit.append_many(events)
    checkpoint = services.audit.checkpoint()
    echo(
        f"3. Appended {len(records)} audit events (seq {records[0].seq}..{records[-1].seq}) and "
        f"signed a checkpoint at seq {checkpoint.seq if checkpoint else records[-1].seq} "
        f"with key {services.audit.signer.key_id[:16]}."
    )


def _verify_and_export(services: Services, echo: Echo) -> None:
    signer = services.audit.signer
    report = verify_log(services.engine, signer.public_key)
    if not report.ok:
        assert report.damage is not None
        raise SystemExit(f"audit log damaged at seq {report.damage.seq}: {report.damage.detail}")
    data_dir = services.settings.data_dir
    public_key = data_dir / "audit-public-key.pem"
    public_key.write_text(get_public_pem(signer.public_key), encoding="ascii")
    export = data_dir / "exports" / f"audit-{format_ts(utc_now()).replace(':', '')}.jsonl"
    manifest = export_events(services.engine, signer, export)
    check = verify_export(export, signer.public_key)
    echo(
        f"4. Verified the whole chain ({report.events_checked} events, "
        f"{report.checkpoints_checked} checkpoints): intact. Exported it to {_rel(export)} with a "
        f"signed manifest and re-verified the export offline with {_rel(public_key)}: "
        + ("intact." if check.ok else f"FAILED ({check.problem}).")
    )
    echo(
        f"   Auditors: airlock audit verify --export {_rel(export)} --public-key "
        f"{_rel(public_key)}   ({manifest.count} events)"
    )


def _rel(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)
