"""`airlock demo`: run what exists end to end on embedded defaults and say plainly what it did."""

from __future__ import annotations

import asyncio
import getpass
import hashlib
import json
import time
from collections.abc import Callable
from pathlib import Path

from airlock.config import render_settings
from airlock.db import get_schema_revision
from airlock.services import Services, build_guards, open_services, open_ticket_desk
from airlock.settings import AirlockSettings
from audit.events import Actor, AuditEvent
from audit.export import export_events, verify_export
from audit.log import format_ts, utc_now
from audit.signing import get_public_pem
from audit.verify import verify_log
from guardrails.pipeline import GuardPipeline, PipelineVerdict
from guardrails.types import GuardContext
from helpdesk.replay import read_tickets, replay
from helpdesk.summary import ReplaySummary
from models.embedder import load_embedder
from models.registry import build_model_store
from rag.ingest import IngestTarget
from rag.loaders import load_paths
from rag.registry import open_knowledge_base
from rag.types import AccessScope
from serving.engines import build_chat_model
from serving.prompt import build_grounded_messages
from serving.types import ChatRequest, ContextPassage, generate

Echo = Callable[[str], None]

_DEMO_QUESTION = "How long is a password reset link valid?"
_DEMO_TICKET = (
    "Hi, this is Anna Berg (anna.berg@example.com, +1 415 555 0132). "
    f"I asked for a new password yesterday. {_DEMO_QUESTION}"
)
_INVENTED_DRAFT = "A password reset link stays valid for 72 hours after it is sent [1]."
_DEMO_TENANT = "demo"
# Seed cases of examples/tickets.jsonl shown one per line (the rest are counted).
_SHOWN = ("T-1001", "T-1002", "T-1004", "T-1005", "T-1007", "T-1008", "T-1012", "T-1015", "T-1020")
_INSTRUCTIONS = "Answer the customer's question only from the passages; cite them as [n]."
# The sample knowledge base of a fictional company, beside the package in a source checkout.
_EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "kb"


def run_demo(settings: AirlockSettings, *, once: bool, echo: Echo) -> None:
    """Configuration, storage and the audit log, exercised and verified."""
    echo(f"Airlock demo — profile {settings.profile}, data directory {settings.data_dir.resolve()}")
    actor = Actor(subject=f"local:{getpass.getuser()}", client_id="airlock-demo")
    with open_services(settings) as services:
        _record_startup(services, actor, echo)
        _verify_and_export(services, echo)
        _answer_from_knowledge_base(services, actor, echo)
        _work_tickets(services, actor, echo)
        services.audit.append(AuditEvent("system.stopped", actor=actor, resource_type="demo"))
    echo("11. On shutdown the audit log wrote a final signed checkpoint.")
    echo("")
    echo("Next: `airlock tickets process --input YOUR.jsonl --output decisions.jsonl` replays your")
    echo("own tickets; `airlock subjects erase ID` erases a customer. The API arrives with a later")
    echo("issue; until then the demo exits here" + ("." if once else " (with or without --once)."))


def _work_tickets(services: Services, actor: Actor, echo: Echo) -> None:
    """The example tickets through the durable queue and the whole pipeline."""
    tickets = _EXAMPLES.parent / "tickets.jsonl"
    if not tickets.is_file():
        return
    echo(
        f"10. The example tickets of {_rel(tickets)} through the durable queue and the whole "
        "pipeline; the seed cases:"
    )
    with open_ticket_desk(services) as desk:
        summary = ReplaySummary()
        started = time.perf_counter()
        for row in replay(desk, read_tickets(tickets), owner="demo", actor=actor):
            summary.add(row)
            if row.data.get("ticket_id") in _SHOWN:
                echo(_describe_record(row.data))
        report = summary.to_dict(time.perf_counter() - started)
    echo(
        f"    {report['rows']} tickets ({report['decided']} decided now, "
        f"{report['already_decided']} in an earlier run): automatic replies "
        f"{report['auto_reply_rate']:.0%}, actions {report['actions']}."
    )


def _describe_record(record: dict[str, object]) -> str:
    """One line per decision: ticket, action, intent, route and the first reason."""
    decision = record["decision"]
    intent = record["intent"]
    route = record["route"]
    assert isinstance(decision, dict) and isinstance(route, dict)
    label = intent.get("label") if isinstance(intent, dict) else "not analysed"
    reasons = decision["reasons"]
    why = f": {'; '.join(reasons[:2])}" if reasons else ""
    return (
        f"    {record['ticket_id']} -> {decision['action']} (intent {label}, route "
        f"{route['team']}){why}"
    )


def _answer_from_knowledge_base(services: Services, actor: Actor, echo: Echo) -> None:
    settings = services.settings
    embedder = load_embedder(settings)
    echo(
        f"5. Embedding model {embedder.model_id} loaded after its pinned SHA-256 matched "
        f"({embedder.dimension} dimensions)."
    )
    if not _EXAMPLES.is_dir():
        echo(f"6. The sample knowledge base {_EXAMPLES} is not here (not a source checkout).")
        return
    with open_knowledge_base(settings, services.engine, services.audit, embedder=embedder) as kb:
        loaded = load_paths([_EXAMPLES])
        reports = kb.kb.ingest(loaded.documents, IngestTarget(_DEMO_TENANT), actor)
        written = [r for r in reports if r.status in ("added", "updated")]
        echo(
            f"6. Knowledge base: {len(reports)} documents of {_rel(_EXAMPLES)} "
            f"({len(written)} new or changed, {sum(r.chunks for r in written)} chunks written, "
            f"the rest unchanged) in Milvus Lite at {_rel(Path(settings.get_milvus_uri()))}."
        )
        found = kb.retriever.search(_DEMO_QUESTION, top_k=3, scope=AccessScope(tenant=_DEMO_TENANT))
    passages = [
        ContextPassage(ref=i, text=p.text, title=p.title, source=p.source)
        for i, p in enumerate(found, 1)
    ]
    guards = build_guards(settings, services.engine)
    context = GuardContext(
        tenant=_DEMO_TENANT, ticket_text=_DEMO_TICKET, passages=tuple(p.text for p in passages)
    )
    checked = asyncio.run(guards.check_input(_DEMO_TICKET, context))
    echo(f"7. Ticket: {_DEMO_TICKET}")
    echo(f"   Input guards ({_describe(checked)}); the model and the logs get:")
    echo(f"   {checked.redacted}")
    chain = build_chat_model(settings, build_model_store(settings))
    request = ChatRequest(messages=build_grounded_messages(_INSTRUCTIONS, passages, _DEMO_QUESTION))
    result = asyncio.run(generate(chain, request))
    echo(f"8. Q: {_DEMO_QUESTION}")
    echo(f"   A ({result.engine} engine): {result.text}")
    for passage in passages:
        echo(f"   [{passage.ref}] {passage.title} ({passage.source})")
    _check_drafts(guards, context, result.text, echo)


def _check_drafts(guards: GuardPipeline, context: GuardContext, answer: str, echo: Echo) -> None:
    """The output guards on the answer, and on a draft with an invented figure."""
    verdict = asyncio.run(guards.check_output(answer, context))
    echo(f"9. Output guards on that answer: {_describe(verdict)}.")
    invented = asyncio.run(guards.check_output(_INVENTED_DRAFT, context))
    echo(f"   A draft saying {_INVENTED_DRAFT!r}: {_describe(invented)}.")


def _describe(verdict: PipelineVerdict) -> str:
    """Allowed or blocked, each guard's flags and time, in one line."""
    parts = [
        f"{v.guard}: {', '.join(v.flags) or 'ok'} ({v.elapsed_ms:.0f} ms)" for v in verdict.verdicts
    ]
    return f"{'allowed' if verdict.allowed else 'BLOCKED'}: {'; '.join(parts)}"


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
