"""A circuit breaker: after N consecutive failures, refuse calls for a while, then try one."""

from __future__ import annotations

import time
from collections.abc import Callable


class CircuitBreaker:
    """closed → (N failures) → open → (reset_s later) → half-open: one trial call decides."""

    def __init__(
        self, failures: int, reset_s: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.threshold = failures
        self.reset_s = reset_s
        self._clock = clock
        self._failures = 0
        self._opened_at: float | None = None
        self._trial_running = False

    @property
    def state(self) -> str:
        """closed, open or half-open."""
        if self._opened_at is None:
            return "closed"
        if self._clock() - self._opened_at >= self.reset_s:
            return "half-open"
        return "open"

    def allow(self) -> bool:
        """Whether a call may go ahead now (half-open lets exactly one trial through)."""
        state = self.state
        if state == "closed":
            return True
        if state == "half-open" and not self._trial_running:
            self._trial_running = True
            return True
        return False

    def get_retry_in(self) -> float:
        """Seconds until an open breaker lets a trial through."""
        if self._opened_at is None:
            return 0.0
        return max(0.0, self.reset_s - (self._clock() - self._opened_at))

    def record_success(self) -> None:
        """A call succeeded: close."""
        self._failures = 0
        self._opened_at = None
        self._trial_running = False

    def record_abandoned(self) -> None:
        """A call ended without a verdict (cancelled): a half-open trial may be tried again."""
        self._trial_running = False

    def record_failure(self) -> bool:
        """A call failed; return True when this failure (re)opened the breaker."""
        self._failures += 1
        reopened = self._trial_running
        self._trial_running = False
        if reopened or self._failures >= self.threshold:
            self._opened_at = self._clock()
            return True
        return False
