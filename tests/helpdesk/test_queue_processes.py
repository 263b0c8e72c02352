"""Work queue across processes: a SIGKILLed worker's job is finished once by another.

Run as `python -m tests.helpdesk.test_queue_processes MODE ...` this module is the worker
process the tests start (MODE `crash`: lease one job and hang in the handler; MODE `drain`:
work until the queue is empty, appending each handled job id to a file).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine

from airlock.settings import AirlockSettings
from helpdesk.queue import Job, QueuedTicket, WorkQueue, run_worker
from helpdesk.queue.schema import decisions

ROOT = Path(__file__).resolve().parents[2]


def crash_worker(queue: WorkQueue, marker: Path) -> None:
    """Lease with a 1 s lease, record the lease in `marker`, then hang until killed."""

    def handler(job: Job) -> dict[str, str]:
        fields = {k: v for k, v in job.__dict__.items() if k != "payload"}
        marker.write_text(json.dumps(fields))
        time.sleep(600)
        return {"action": "never"}

    run_worker(queue, handler, f"crash-{os.getpid()}", lease_s=1.0, poll_s=0.05, max_jobs=1)


def drain_worker(queue: WorkQueue, log_file: Path) -> None:
    """Work until nothing is queued or leased; append each handled job id to `log_file`."""

    def handler(job: Job) -> dict[str, str]:
        with log_file.open("a") as out:
            out.write(job.job_id + "\n")
        time.sleep(0.02)  # a little work, so that both processes are leasing at the same time
        return {"action": "auto_reply", "by": job.owner}

    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            stats = queue.stats()
            if stats.queued == 0 and stats.leased == 0:
                stop.set()
            stop.wait(0.05)

    threading.Thread(target=watch, daemon=True).start()
    run_worker(queue, handler, f"drain-{os.getpid()}", lease_s=60, poll_s=0.02, stop_event=stop)


def start_worker(settings: AirlockSettings, mode: str, path: Path) -> subprocess.Popen[bytes]:
    """A worker process on the same store (settings travel as environment variables)."""
    # Not tests.conftest.env_for: importing the conftest (the whole CLI) costs the child seconds.
    env = {**os.environ, "AIRLOCK__DATA_DIR": str(settings.data_dir)}
    if settings.storage.url:
        env["AIRLOCK__STORAGE__URL"] = settings.storage.url
    command = [sys.executable, "-m", "tests.helpdesk.test_queue_processes", mode, str(path)]
    return subprocess.Popen(command, cwd=ROOT, env=env)


def wait_until(condition: Callable[[], bool], *, limit_s: float = 20.0) -> None:
    """Poll until the condition holds; the limit only stops a broken run from hanging."""
    deadline = time.monotonic() + limit_s
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.05)


def lease_when_available(queue: WorkQueue, owner: str, *, limit_s: float = 20.0) -> Job:
    """Lease as soon as a job is available; the limit only stops a broken run from hanging."""
    deadline = time.monotonic() + limit_s
    while (job := queue.lease(owner, lease_s=30)) is None:
        assert time.monotonic() < deadline, "no job became available"
        time.sleep(0.05)
    return job


@pytest.fixture
def settings(make_settings: Callable[..., AirlockSettings]) -> AirlockSettings:
    """Settings of a fresh store on the current backend."""
    return make_settings()


@pytest.fixture
def engine(settings: AirlockSettings) -> Iterator[Engine]:
    """The migrated store those settings name."""
    from airlock.services import open_storage

    engine = open_storage(settings, writable=True)
    yield engine
    engine.dispose()


def test_killed_worker_job_is_completed_once_by_another_after_its_lease(
    settings: AirlockSettings, engine: Engine, tmp_path: Path
) -> None:
    queue = WorkQueue(engine)
    ref = queue.enqueue(QueuedTicket("acme", "T-1", "1", {"subject": "Refund"}))
    marker = tmp_path / "leased.json"
    child = start_worker(settings, "crash", marker)
    try:
        wait_until(
            lambda: (marker.exists() and marker.stat().st_size > 0) or child.poll() is not None
        )
        assert child.poll() is None, "the worker process ended before its handler ran"
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    stale = Job(**json.loads(marker.read_text()), payload=None)
    assert stale.job_id == ref.job_id
    fresh = lease_when_available(queue, "survivor")
    assert fresh.job_id == ref.job_id and fresh.attempt == stale.attempt + 1
    assert not queue.complete(stale, {"action": "stale"})
    assert queue.complete(fresh, {"action": "auto_reply"})
    assert not queue.complete(stale, {"action": "stale"})
    with engine.connect() as conn:
        rows = conn.execute(sa.select(decisions.c.decided_by, decisions.c.decision)).all()
    assert [(by, json.loads(text)) for by, text in rows] == [("survivor", {"action": "auto_reply"})]


def test_worker_processes_never_lease_the_same_job(
    settings: AirlockSettings, engine: Engine, tmp_path: Path
) -> None:
    queue = WorkQueue(engine)
    total = 30
    for n in range(total):
        queue.enqueue(QueuedTicket("acme", f"T-{n}", "1", {"n": n}))
    logs = [tmp_path / f"worker{i}.log" for i in range(2)]
    children = [start_worker(settings, "drain", log) for log in logs]
    try:
        assert [child.wait(timeout=60) for child in children] == [0, 0]
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
    handled = [line for log in logs if log.exists() for line in log.read_text().split()]
    assert len(handled) == total and set(Counter(handled).values()) == {1}
    assert queue.stats().done == total


def main(mode: str, path: str) -> None:
    """Entry point of a worker process started by these tests."""
    from airlock.config import load_settings
    from airlock.services import open_storage

    engine = open_storage(load_settings(), writable=False)
    worker = crash_worker if mode == "crash" else drain_worker
    worker(WorkQueue(engine), Path(path))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
