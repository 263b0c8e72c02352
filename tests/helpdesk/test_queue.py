"""Work queue protocol on SQLite and PostgreSQL: idempotent enqueue, fenced leases, retries."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine

from airlock.services import open_storage
from airlock.settings import AirlockSettings
from helpdesk.errors import HelpdeskError
from helpdesk.queue import Job, QueuedTicket, WorkQueue, WorkQueueError, run_worker
from helpdesk.queue.rows import format_ts
from helpdesk.queue.schema import decisions, jobs


class ManualClock:
    """A clock the test moves by hand, so that backoff and expiry need no sleeping."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def engine(make_settings: Callable[..., AirlockSettings]) -> Iterator[Engine]:
    """A migrated store on the current backend."""
    engine = open_storage(make_settings(), writable=True)
    yield engine
    engine.dispose()


def ticket(ticket_id: str = "T-1", version: str = "1", tenant: str = "acme") -> QueuedTicket:
    return QueuedTicket(tenant, ticket_id, version, {"subject": "Refund", "body": "I want it"})


def count(engine: Engine, table: sa.Table) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def test_enqueue_same_ticket_version_twice_returns_one_job(engine: Engine) -> None:
    queue = WorkQueue(engine)
    first = queue.enqueue(ticket())
    again = queue.enqueue(ticket())
    newer = queue.enqueue(ticket(version="2"))
    assert first.created and not again.created and newer.created
    assert again.job_id == first.job_id and newer.job_id != first.job_id
    assert count(engine, jobs) == 2


def test_lease_then_complete_stores_the_decision_once(engine: Engine) -> None:
    queue = WorkQueue(engine)
    queue.enqueue(ticket())
    job = queue.lease("w1", lease_s=30)
    assert job is not None and job.attempt == 1 and job.payload == ticket().payload
    assert queue.lease("w2", lease_s=30) is None  # the only job is held
    assert queue.complete(job, {"action": "auto_reply"})
    assert not queue.complete(job, {"action": "escalate"})
    assert queue.get_decision("acme", "T-1", "1") == {"action": "auto_reply"}
    assert count(engine, decisions) == 1
    assert queue.stats().done == 1


def test_complete_by_another_owner_is_rejected(engine: Engine) -> None:
    queue = WorkQueue(engine)
    queue.enqueue(ticket())
    job = queue.lease("w1", lease_s=30)
    assert job is not None
    assert not queue.complete(dataclasses.replace(job, owner="intruder"), {"action": "x"})
    assert queue.get_decision("acme", "T-1", "1") is None
    assert queue.complete(job, {"action": "auto_reply"})


def test_expired_lease_is_taken_over_and_the_old_lease_cannot_complete(engine: Engine) -> None:
    clock = ManualClock()
    queue = WorkQueue(engine, clock=clock)
    queue.enqueue(ticket())
    stale = queue.lease("w1", lease_s=5)
    assert stale is not None
    clock.advance(6)
    # The same owner name re-leasing does not revive the old lease: the attempt is the fence.
    fresh = queue.lease("w1", lease_s=5)
    assert fresh is not None and fresh.job_id == stale.job_id and fresh.attempt == 2
    assert not queue.complete(stale, {"action": "stale"})
    assert queue.fail(stale, "late") is None
    assert queue.complete(fresh, {"action": "fresh"})
    assert queue.get_decision("acme", "T-1", "1") == {"action": "fresh"}


def test_recover_returns_expired_leases_to_the_queue(engine: Engine) -> None:
    clock = ManualClock()
    queue = WorkQueue(engine, clock=clock)
    ref = queue.enqueue(ticket())
    assert queue.lease("w1", lease_s=5) is not None
    assert queue.recover() == 0
    clock.advance(6)
    assert queue.stats().expired == 1
    assert queue.recover() == 1
    status = queue.get_status(ref.job_id)
    assert status is not None and status.state == "queued" and status.last_error == "lease expired"


def test_failed_job_is_not_leased_again_before_its_backoff(engine: Engine) -> None:
    clock = ManualClock()
    queue = WorkQueue(engine, backoff_base_s=10, clock=clock)
    ref = queue.enqueue(ticket())
    job = queue.lease("w1", lease_s=30)
    assert job is not None
    assert queue.fail(job, "TimeoutError: engine slow") == "queued"
    status = queue.get_status(ref.job_id)
    assert status is not None and status.available_at == format_ts(
        clock.now + timedelta(seconds=10)
    )
    assert queue.lease("w1", lease_s=30) is None
    clock.advance(9.9)
    assert queue.lease("w1", lease_s=30) is None
    clock.advance(0.2)
    second = queue.lease("w1", lease_s=30)
    assert second is not None and second.attempt == 2
    queue.fail(second, "TimeoutError: engine slow")
    status = queue.get_status(ref.job_id)
    assert status is not None and status.available_at == format_ts(
        clock.now + timedelta(seconds=20)
    )


def test_poison_job_is_dead_lettered_and_other_jobs_complete(engine: Engine) -> None:
    queue = WorkQueue(engine, max_attempts=3, backoff_base_s=0)
    poison = queue.enqueue(ticket("POISON"))
    good = [queue.enqueue(ticket(f"T-{n}")) for n in range(2)]

    def handler(job: Job) -> dict[str, str]:
        if job.ticket_id == "POISON":
            raise RuntimeError("model exploded\nwith a traceback that must not be stored")
        return {"action": "auto_reply"}

    stop = threading.Event()
    safety = threading.Timer(20, stop.set)  # never needed when the protocol holds
    safety.start()
    report = run_worker(queue, handler, "w1", lease_s=30, poll_s=0.01, stop_event=stop, max_jobs=5)
    safety.cancel()
    assert (report.leased, report.completed, report.failed) == (5, 2, 3)
    status = queue.get_status(poison.job_id)
    assert status is not None and status.state == "dead" and status.attempts == 3
    assert status.last_error == "RuntimeError: model exploded"
    assert all(queue.get_decision("acme", ref.ticket_id, "1") for ref in good)
    assert queue.get_decision("acme", "POISON", "1") is None
    stats = queue.stats()
    assert (stats.queued, stats.leased, stats.done, stats.dead) == (0, 0, 2, 1)


def test_last_attempt_lost_with_its_worker_is_dead_lettered(engine: Engine) -> None:
    clock = ManualClock()
    queue = WorkQueue(engine, max_attempts=1, clock=clock)
    ref = queue.enqueue(ticket())
    assert queue.lease("w1", lease_s=5) is not None
    clock.advance(6)
    assert queue.lease("w2", lease_s=5) is None
    status = queue.get_status(ref.job_id)
    assert status is not None and status.state == "dead" and status.last_error == "lease expired"


def test_erasing_a_ticket_blanks_its_payload_and_stops_queued_versions(engine: Engine) -> None:
    queue = WorkQueue(engine)
    leased_ref = queue.enqueue(ticket(version="1"))
    queued_ref = queue.enqueue(ticket(version="2"))
    job = queue.lease("w1", lease_s=30)
    assert job is not None and job.job_id == leased_ref.job_id
    assert queue.erase_ticket("acme", "T-1") == 2
    with engine.connect() as conn:
        assert conn.execute(sa.select(jobs.c.payload)).scalars().all() == [None, None]
    queued = queue.get_status(queued_ref.job_id)
    assert queued is not None and queued.state == "dead" and queued.erased
    assert queue.lease("w2", lease_s=30) is None
    assert queue.complete(job, {"action": "escalate"})  # the worker already holds the text


def test_non_json_payload_or_decision_is_a_helpdesk_error(engine: Engine) -> None:
    queue = WorkQueue(engine)
    with pytest.raises(WorkQueueError, match="ticket payload is not JSON"):
        queue.enqueue(QueuedTicket("acme", "T-1", "1", {"at": datetime.now(UTC)}))
    queue.enqueue(ticket())
    job = queue.lease("w1", lease_s=30)
    assert job is not None
    with pytest.raises(HelpdeskError, match="decision is not JSON"):
        queue.complete(job, {"score": float("nan")})
    assert queue.complete(job, {"score": 0.5})


def test_extending_a_held_lease_keeps_it_past_its_first_expiry(engine: Engine) -> None:
    clock = ManualClock()
    queue = WorkQueue(engine, clock=clock)
    queue.enqueue(ticket())
    held = queue.lease("w1", lease_s=5)
    assert held is not None
    clock.advance(4)
    assert queue.extend(held, lease_s=5)
    clock.advance(4)  # 8 s after the lease, 4 s after the extension
    assert queue.lease("w2", lease_s=5) is None
    assert queue.complete(held, {"action": "slow but done"})


def test_a_lost_lease_cannot_be_extended(engine: Engine) -> None:
    clock = ManualClock()
    queue = WorkQueue(engine, clock=clock)
    queue.enqueue(ticket())
    stale = queue.lease("w1", lease_s=5)
    assert stale is not None
    clock.advance(6)
    assert queue.lease("w2", lease_s=5) is not None
    assert not queue.extend(stale, lease_s=5)


def test_worker_heartbeat_keeps_a_slow_handler_s_job_from_other_workers(engine: Engine) -> None:
    queue = WorkQueue(engine)
    queue.enqueue(ticket())
    taken_over: list[Job | None] = []

    def slow(job: Job) -> dict[str, str]:
        # Twice the lease: without the heartbeat the job would be free to take by now.
        threading.Event().wait(2.0)
        taken_over.append(queue.lease("w2", lease_s=1.0))
        return {"action": "done"}

    report = run_worker(queue, slow, "w1", lease_s=1.0, max_jobs=1)
    assert report.completed == 1 and taken_over == [None]
    assert queue.get_decision("acme", "T-1", "1") == {"action": "done"}
