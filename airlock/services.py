"""Service wiring: the one place that turns settings into connected parts."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass

from sqlalchemy import Engine

from airlock.datadir import ensure_data_dir
from airlock.db import build_engine, require_current_schema, upgrade_database
from airlock.settings import AirlockSettings
from audit.log import AuditLog, build_audit_log


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
