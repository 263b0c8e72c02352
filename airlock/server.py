"""API and worker processes: identity, parts and app wired from settings (`serve`, `worker`)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import (
    AbstractAsyncContextManager,
    ExitStack,
    asynccontextmanager,
    contextmanager,
    nullcontext,
)
from typing import TYPE_CHECKING

import sqlalchemy as sa

from airlock.errors import ConfigError
from airlock.services import open_desk_parts, open_services
from airlock.settings import AirlockSettings

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from fastapi import FastAPI

    from api.parts import ApiParts, ReadinessCheck
    from guardrails.pii.vault import PiiVault
    from rag.ingest import KnowledgeBase
    from serving.types import ChatModel


@contextmanager
def open_identity(settings: AirlockSettings) -> Iterator[str]:
    """The realm URL tokens come from: the configured Keycloak, or the dev issuer started here."""
    if settings.auth.issuer_url:
        yield settings.auth.issuer_url
        return
    if settings.profile != "dev" or not settings.auth.dev_issuer.enabled:
        raise ConfigError(
            "auth.issuer_url is empty and the development issuer is off",
            remedy="set auth.issuer_url to the Keycloak realm URL (…/realms/airlock)",
        )
    from api.auth.devissuer import run_dev_issuer

    with run_dev_issuer(settings.auth.dev_issuer) as issuer:
        yield issuer.issuer


def open_api_parts(settings: AirlockSettings) -> AbstractAsyncContextManager[ApiParts]:
    """Storage, audit, the desk, the knowledge base and the realm for one API process."""
    return _open_parts(settings, identity=True)


def open_worker_parts(settings: AirlockSettings) -> AbstractAsyncContextManager[ApiParts]:
    """The parts of a worker process: the realm only when /metrics takes tokens."""
    return _open_parts(settings, identity=settings.api.metrics_require_token)


@asynccontextmanager
async def _open_parts(settings: AirlockSettings, *, identity: bool) -> AsyncIterator[ApiParts]:
    from api.parts import ApiParts

    # Opening loads models and runs a warm-up ticket on its own event loop: in a thread.
    stack = ExitStack()
    try:
        realm = open_identity(settings) if identity else nullcontext("")
        issuer_url = await asyncio.to_thread(stack.enter_context, realm)
        services = await asyncio.to_thread(stack.enter_context, open_services(settings))
        desk_parts = await asyncio.to_thread(stack.enter_context, open_desk_parts(services))
        log.info("api parts open", extra={"issuer": issuer_url})
        yield ApiParts(
            settings=settings,
            engine=services.engine,
            audit=services.audit,
            desk=desk_parts.desk,
            knowledge=desk_parts.knowledge,
            issuer_url=issuer_url,
            vault=build_pii_vault(settings, services.engine),
            checks=build_readiness_checks(services.engine, desk_parts.knowledge, desk_parts.chat),
        )
    finally:
        await asyncio.to_thread(stack.close)
        log.info("api parts closed: workers stopped, final audit checkpoint written")


def build_api_app(settings: AirlockSettings) -> FastAPI:
    """The API app over parts opened from `settings` for its lifetime."""
    from api.app import create_app

    return create_app(settings, open_api_parts)


def build_worker_app(settings: AirlockSettings) -> FastAPI:
    """A ticket worker process: `api.workers` threads, with probes and /metrics only."""
    from api.app import create_app

    return create_app(settings, open_worker_parts, role="worker")


def build_pii_vault(settings: AirlockSettings, engine: sa.Engine) -> PiiVault | None:
    """The PII vault agents reveal from, when tickets are redacted in vault mode."""
    if settings.guardrails.pii.anonymize != "vault":
        return None
    from guardrails.pii.keys import load_master_key
    from guardrails.pii.vault import PiiVault

    return PiiVault(engine, load_master_key(settings))


def build_readiness_checks(
    engine: sa.Engine, knowledge: KnowledgeBase, chat: ChatModel
) -> dict[str, ReadinessCheck]:
    """Database, Milvus and the engine chain, each as a readiness probe."""

    async def database() -> tuple[bool, str]:
        def ping() -> None:
            with engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))

        await asyncio.to_thread(ping)
        return True, engine.dialect.name

    async def milvus() -> tuple[bool, str]:
        present = await asyncio.to_thread(knowledge.store.has, knowledge.collection)
        return present, knowledge.collection if present else "collection missing"

    async def engines() -> tuple[bool, str]:
        health = await chat.health()
        return health.ok, health.detail or health.name

    return {"database": database, "milvus": milvus, "engines": engines}
