"""Waiting for a ticket's decision: woken by this process's workers, polling for others."""

from __future__ import annotations

import asyncio
import threading
from collections import defaultdict
from collections.abc import Callable
from typing import Any

POLL_S = 0.25  # decisions made by workers in other processes are found this often


class DecisionWaiter:
    """Futures per job id, resolved when a local worker stores the job's decision."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._waiting: dict[str, list[asyncio.Future[None]]] = defaultdict(list)
        self._lock = threading.Lock()

    def notify(self, job_id: str) -> None:
        """A decision was stored (called from a worker thread)."""
        with self._lock:
            futures = self._waiting.pop(job_id, [])
        for future in futures:
            self._loop.call_soon_threadsafe(_resolve, future)

    async def wait(self, job_id: str, fetch: Callable[[], Any], timeout_s: float) -> Any:
        """`fetch()` once it returns something, or None after `timeout_s`."""
        deadline = self._loop.time() + timeout_s
        while True:
            future: asyncio.Future[None] = self._loop.create_future()
            with self._lock:
                self._waiting[job_id].append(future)
            found = await asyncio.to_thread(fetch)
            remaining = deadline - self._loop.time()
            if found is not None or remaining <= 0:
                self._forget(job_id, future)
                return found
            try:
                await asyncio.wait_for(future, min(POLL_S, remaining))
            except TimeoutError:
                self._forget(job_id, future)

    def _forget(self, job_id: str, future: asyncio.Future[None]) -> None:
        with self._lock:
            futures = self._waiting.get(job_id)
            if futures and future in futures:
                futures.remove(future)
                if not futures:
                    del self._waiting[job_id]


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
