"""Per-client token buckets: each client gets its most generous role's rate and burst."""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from airlock.settings_api import RateLimit
from api.auth.principal import Principal
from api.errors import RateLimitedError

MAX_CLIENTS = 10_000  # buckets kept (least recently used dropped beyond this)


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """Token bucket per (tenant, client); `take` raises 429 with Retry-After when empty."""

    def __init__(
        self, limits: Mapping[str, RateLimit], *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limits = dict(limits)
        self._clock = clock
        self._buckets: OrderedDict[tuple[str, str], _Bucket] = OrderedDict()
        self._lock = threading.Lock()

    def get_limit(self, principal: Principal) -> RateLimit | None:
        """The most generous limit among the caller's roles (None: no limited role)."""
        limits = [self.limits[role] for role in principal.roles if role in self.limits]
        return max(limits, key=lambda limit: (limit.rate_per_s, limit.burst), default=None)

    def take(self, principal: Principal) -> None:
        """Spend one token of the caller's bucket, or refuse with how long to wait."""
        limit = self.get_limit(principal)
        if limit is None:
            return
        key = (principal.tenant, principal.client_id or principal.subject)
        now = self._clock()
        with self._lock:
            bucket = self._buckets.pop(key, None) or _Bucket(float(limit.burst), now)
            bucket.tokens = min(
                float(limit.burst), bucket.tokens + (now - bucket.updated) * limit.rate_per_s
            )
            bucket.updated = now
            self._buckets[key] = bucket
            if len(self._buckets) > MAX_CLIENTS:
                self._buckets.popitem(last=False)
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return
            wait = (1.0 - bucket.tokens) / limit.rate_per_s
        raise RateLimitedError(
            f"rate limit of {limit.rate_per_s:g} requests/s (burst {limit.burst}) reached "
            f"for client {key[1]!r}",
            remedy="retry after the number of seconds in Retry-After",
            headers={"Retry-After": str(max(1, math.ceil(wait)))},
        )
