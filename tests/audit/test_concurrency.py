"""Four writer processes appending at once leave one unforked, verifiable chain."""

from __future__ import annotations

import itertools
import json
import multiprocessing
import random
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa

from airlock.config import load_settings
from airlock.services import open_storage
from airlock.settings import AirlockSettings
from audit import schema
from audit.events import Actor, AuditEvent
from audit.log import build_audit_log
from audit.verify import verify_log

WRITERS = 4
EVENTS_PER_WRITER = 150


def write_events(overrides: dict[str, Any], writer: int, start: Any) -> None:
    """One writer process: its own engine, its own key load, batches of 1-5 events."""
    settings = load_settings(overrides=overrides)
    log = build_audit_log(settings, open_storage(settings, writable=True))
    rng = random.Random(writer)
    start.wait(timeout=120)  # all writers begin together
    written = 0
    while written < EVENTS_PER_WRITER:
        size = min(rng.randint(1, 5), EVENTS_PER_WRITER - written)
        log.append_many(
            [
                AuditEvent(
                    "ticket.received",
                    actor=Actor(client_id=f"writer-{writer}"),
                    details={"writer": writer, "n": written + i},
                )
                for i in range(size)
            ]
        )
        written += size
        time.sleep(rng.uniform(0, 0.004))  # a request's own work between appends
    log.close()


@pytest.mark.slow
def test_four_writer_processes_leave_a_valid_chain(
    make_settings: Callable[..., AirlockSettings],
) -> None:
    settings = make_settings(audit={"checkpoint_every_events": 50})
    build_audit_log(settings, open_storage(settings, writable=True))  # schema and key first
    overrides = {"data_dir": str(settings.data_dir), "audit": {"checkpoint_every_events": 50}}
    if settings.storage.url:
        overrides["storage"] = {"url": settings.storage.url}
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(WRITERS)
    workers = [
        context.Process(target=write_events, args=(overrides, w, start)) for w in range(WRITERS)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=300)
        assert worker.exitcode == 0
    engine = open_storage(settings, writable=False)
    report = verify_log(engine, build_audit_log(settings, engine).signer.public_key)
    assert report.ok, report.damage
    assert report.events_checked == WRITERS * EVENTS_PER_WRITER
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(schema.events.c.seq, schema.events.c.details).order_by(schema.events.c.seq)
        ).all()
    assert [row.seq for row in rows] == list(range(1, WRITERS * EVENTS_PER_WRITER + 1))
    details = [json.loads(row.details) for row in rows]
    assert Counter(d["writer"] for d in details) == dict.fromkeys(range(WRITERS), EVENTS_PER_WRITER)
    for writer in range(WRITERS):  # each writer's events keep its own order
        assert [d["n"] for d in details if d["writer"] == writer] == list(range(EVENTS_PER_WRITER))
    switches = sum(1 for a, b in itertools.pairwise(details) if a["writer"] != b["writer"])
    # Writers that ran one after another would switch WRITERS - 1 times; they interleaved.
    assert switches > WRITERS - 1
