"""Ticket workers inside the API process (embedded default; production also runs them apart)."""

from __future__ import annotations

import logging
import os
import threading

from airlock.errors import AirlockError
from helpdesk.desk import TicketDesk

log = logging.getLogger(__name__)

POLL_S = 0.05  # an idle worker looks for new tickets this often (one indexed query)
RESTART_S = 2.0  # a worker whose store failed waits this long before it tries again


class LocalWorkers:
    """`count` threads working the queue until `stop`; a failing store never kills them."""

    def __init__(self, desk: TicketDesk, count: int) -> None:
        self.desk = desk
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._run, args=(index,), name=f"ticket-worker-{index}")
            for index in range(count)
        ]

    def start(self) -> None:
        """Start the threads."""
        for thread in self._threads:
            thread.start()

    def stop(self, timeout_s: float = 60.0) -> None:
        """Let each worker finish its ticket, then end (a ticket in progress is not dropped)."""
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=timeout_s)

    def _run(self, index: int) -> None:
        owner = f"api-{os.getpid()}-{index}"
        while not self._stop.is_set():
            try:
                self.desk.work(owner, stop_event=self._stop, poll_s=POLL_S)
            except AirlockError as exc:
                log.error("ticket worker paused", extra={"worker": owner, "error": str(exc)})
                self._stop.wait(RESTART_S)
