"""Service wiring: the one place that turns settings into connected parts."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import Engine

from airlock.datadir import ensure_data_dir
from airlock.db import build_engine, require_current_schema, upgrade_database
from airlock.errors import ConfigError
from airlock.settings import AirlockSettings
from audit.log import AuditLog, build_audit_log

if TYPE_CHECKING:  # the guards and engines load models: imported when first built
    from guardrails.grounding import JudgeFn
    from guardrails.pipeline import GuardPipeline
    from helpdesk.desk import TicketDesk
    from models.embedder import Embedder
    from models.store import ModelStore
    from rag.ingest import KnowledgeBase
    from serving.types import ChatModel

JUDGE_MAX_TOKENS = 512  # one short verdict line per claim
TICKET_VECTORS = 4096  # texts whose embeddings the ticket pipeline keeps (about 6 MiB)


@dataclass(frozen=True)
class Services:
    """Everything a running Airlock process holds."""

    settings: AirlockSettings
    engine: Engine
    audit: AuditLog


def open_storage(settings: AirlockSettings, *, writable: bool) -> Engine:
    """Connect to the store; writers create and migrate it, readers require it current."""
    if writable:
        ensure_data_dir(settings.data_dir)
    engine = build_engine(settings, create=writable)
    if writable and settings.storage.auto_migrate:
        upgrade_database(engine)
    else:
        require_current_schema(engine)
    return engine


@contextmanager
def open_services(settings: AirlockSettings) -> Iterator[Services]:
    """Open storage and the audit log; on exit write the shutdown checkpoint and close."""
    engine = open_storage(settings, writable=True)
    try:
        audit = build_audit_log(settings, engine)
    except BaseException:
        engine.dispose()
        raise
    try:
        yield Services(settings, engine, audit)
    finally:
        try:
            audit.close()
        finally:
            engine.dispose()


@asynccontextmanager
async def build_services(settings: AirlockSettings) -> AsyncIterator[Services]:
    """Async form for servers (FastAPI lifespan); same parts as `open_services`."""
    with open_services(settings) as services:
        yield services


def build_guards(
    settings: AirlockSettings, engine: Engine | None = None, embedder: Embedder | None = None
) -> GuardPipeline:
    """The guard pipeline with the grounding judge on the served model when one is named."""
    from guardrails.registry import build_guard_pipeline

    judge = build_grounding_judge(settings)
    return build_guard_pipeline(settings, engine=engine, embedder=embedder, judge=judge)


@dataclass(frozen=True)
class DeskParts:
    """The ticket desk and the knowledge base it retrieves from (one store connection)."""

    desk: TicketDesk
    knowledge: KnowledgeBase
    chat: ChatModel


@contextmanager
def open_ticket_desk(services: Services) -> Iterator[TicketDesk]:
    """The ticket pipeline over every part it needs, and the desk that queues and decides."""
    with open_desk_parts(services) as parts:
        yield parts.desk


@contextmanager
def open_desk_parts(services: Services) -> Iterator[DeskParts]:
    """The desk with its knowledge base and engine chain (the API serves all three)."""
    from helpdesk.desk import TicketDesk
    from helpdesk.escalations import EscalationQueue
    from helpdesk.intents import DEFAULT_MODEL_DIR, load_intent_model
    from helpdesk.pipeline import PipelineParts, TicketPipeline
    from helpdesk.policy import load_escalation_policy
    from helpdesk.queue import WorkQueue
    from helpdesk.queue.subjects import SubjectRecords
    from helpdesk.signals import load_signals_policy
    from helpdesk.writeback import WritebackDelivery
    from models.embedder import load_embedder
    from models.embedding_cache import CachingEmbedder
    from models.registry import build_model_store
    from rag.registry import open_knowledge_base
    from serving.engines import build_chat_model

    settings, config = services.settings, services.settings.helpdesk
    # Cached: a batch warms it ahead of the tickets, and guards re-embed texts the pipeline saw.
    embedder = CachingEmbedder(load_embedder(settings), TICKET_VECTORS)
    store = build_model_store(settings)
    with open_knowledge_base(settings, services.engine, services.audit, embedder=embedder) as kb:
        intents = load_intent_model(config.intent_model or DEFAULT_MODEL_DIR, embedder)
        chat = build_chat_model(settings, store)
        parts = PipelineParts(
            guards=build_guards(settings, services.engine, embedder),
            intents=intents,
            signals=load_signals_policy(config.priority_policy, config.routing_table),
            escalation=load_escalation_policy(config.escalation_policy),
            retriever=kb.retriever,
            chat=chat,
            settings=config,
            history=SubjectRecords(services.engine),
            model_hashes=get_model_hashes(settings, store),
            shared_embedding=intents.embedder is kb.retriever.embedder,
        )
        pipeline = TicketPipeline(parts)
        pipeline.warm_up()
        queue = WorkQueue(services.engine, max_attempts=config.max_attempts)
        delivery = WritebackDelivery(config.writeback, services.audit)
        escalations = EscalationQueue(services.engine)
        escalations.sync_missing()  # decisions stored by a worker that died before opening them
        desk = TicketDesk(
            pipeline, queue, services.audit, config, deliver=delivery, escalations=escalations
        )
        try:
            yield DeskParts(desk, kb.kb, chat)
        finally:
            desk.close()
            delivery.close()


def get_model_hashes(settings: AirlockSettings, store: ModelStore) -> dict[str, str]:
    """Content hash of each engine's model that the local registry holds (by model id)."""
    ids = {config.model for config in settings.serving.engines if config.model}
    held = {manifest.id: manifest for manifest in store.list_manifests()}
    return {model: held[model].get_digest() for model in sorted(ids) if model in held}


def build_grounding_judge(settings: AirlockSettings) -> JudgeFn | None:
    """A judge on the serving engine `guardrails.grounding.judge_engine` names (None: unset)."""
    name = settings.guardrails.grounding.judge_engine
    if not name:
        return None
    configs = {config.name: config for config in settings.serving.engines}
    if name not in configs:
        raise ConfigError(
            f"guardrails.grounding.judge_engine {name!r} is not a serving engine "
            f"(configured: {', '.join(configs)})",
            remedy="name one of serving.engines, or leave judge_engine empty for CPU checks",
        )
    from models.registry import build_model_store
    from serving.engines import build_engine as build_chat_engine

    store = build_model_store(settings)
    return chat_judge(build_chat_engine(configs[name], store, settings.models.cpu_threads))


def chat_judge(model: ChatModel) -> JudgeFn:
    """The judge protocol (OpenAI-style messages in, reply text out) over a chat engine."""
    from serving.types import ChatMessage, ChatRequest, generate

    async def judge(messages: list[dict[str, str]]) -> str:
        request = ChatRequest(
            messages=tuple(ChatMessage.model_validate(message) for message in messages),
            max_tokens=JUDGE_MAX_TOKENS,
            temperature=0.0,
        )
        return (await generate(model, request)).text

    return judge
