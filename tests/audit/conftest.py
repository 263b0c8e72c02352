"""Audit fixtures: a log on the current backend with a controllable clock."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine

from airlock.services import open_storage
from airlock.settings import AirlockSettings
from audit.events import Actor, AuditEvent
from audit.log import AuditLog
from audit.signing import load_signer


class StepClock:
    """Each call returns one second after the previous one."""

    def __init__(self, start: datetime = datetime(2026, 1, 1, tzinfo=UTC)) -> None:
        self.now = start

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


@dataclass
class AuditFixture:
    settings: AirlockSettings
    engine: Engine
    log: AuditLog
    clock: StepClock

    def append(self, count: int) -> None:
        events = [
            AuditEvent(
                "ticket.received",
                actor=Actor("svc-zendesk", "zendesk"),
                roles=("ticketing-client",),
                tenant="acme",
                resource_type="ticket",
                resource_id=f"T-{i}",
                request_id=f"req-{i}",
                details={"channel": "email", "size_bytes": 100 + i},
            )
            for i in range(count)
        ]
        self.log.append_many(events)


@pytest.fixture
def make_audit(
    make_settings: Callable[..., AirlockSettings],
) -> Iterator[Callable[..., AuditFixture]]:
    created: list[AuditFixture] = []

    def build(*, checkpoint_every_events: int = 1000) -> AuditFixture:
        settings = make_settings(audit={"checkpoint_every_events": checkpoint_every_events})
        engine = open_storage(settings, writable=True)
        clock = StepClock()
        signer = load_signer(settings.get_signing_key_path(), create=True)
        log = AuditLog(
            engine,
            signer,
            checkpoint_every_events=checkpoint_every_events,
            checkpoint_every_s=10**9,
            clock=clock,
        )
        fixture = AuditFixture(settings, engine, log, clock)
        created.append(fixture)
        return fixture

    yield build
    for fixture in created:
        fixture.engine.dispose()
