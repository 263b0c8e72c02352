"""Work queue under concurrent threads: no job leased twice, no ticket enqueued twice."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine

from airlock.services import open_storage
from airlock.settings import AirlockSettings
from helpdesk.queue import Job, QueuedTicket, WorkQueue, run_worker
from helpdesk.queue.schema import decisions, jobs


@pytest.fixture
def engine(make_settings: Callable[..., AirlockSettings]) -> Iterator[Engine]:
    """A migrated store on the current backend."""
    engine = open_storage(make_settings(), writable=True)
    yield engine
    engine.dispose()


def wait_until(condition: Callable[[], bool], *, limit_s: float = 20.0) -> None:
    """Poll until the condition holds; the limit only stops a broken run from hanging."""
    deadline = time.monotonic() + limit_s
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.05)


def test_concurrent_enqueues_of_one_ticket_make_one_job(engine: Engine) -> None:
    queue = WorkQueue(engine)
    barrier = threading.Barrier(6)
    refs = []

    def enqueue() -> None:
        barrier.wait()
        refs.append(queue.enqueue(QueuedTicket("acme", "T-1", "1", {"subject": "hi"})))

    threads = [threading.Thread(target=enqueue) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({ref.job_id for ref in refs}) == 1
    assert sum(ref.created for ref in refs) == 1
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(jobs)).scalar_one() == 1


def test_worker_threads_never_lease_the_same_job(engine: Engine) -> None:
    queue = WorkQueue(engine)
    total = 40
    for n in range(total):
        queue.enqueue(QueuedTicket("acme", f"T-{n}", "1", {"n": n}))
    handled: list[str] = []
    lock = threading.Lock()

    def handler(job: Job) -> dict[str, str]:
        with lock:
            handled.append(job.job_id)
        return {"action": "auto_reply", "by": job.owner}

    stop = threading.Event()
    workers = [
        threading.Thread(
            target=run_worker,
            args=(queue, handler, f"w{i}"),
            kwargs={"lease_s": 60, "poll_s": 0.01, "stop_event": stop},
        )
        for i in range(4)
    ]
    for worker in workers:
        worker.start()
    try:
        wait_until(lambda: queue.stats().done == total)
    finally:
        stop.set()
        for worker in workers:
            worker.join()
    assert len(handled) == total and set(Counter(handled).values()) == {1}
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(decisions)).scalar_one() == total
