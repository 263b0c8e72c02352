"""Periodic verification of the audit chain, reported as metrics for the alert rules."""

from __future__ import annotations

import asyncio
import logging
import time

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from airlock.errors import AirlockError
from api.metrics import ApiMetrics
from audit.verify import verify_log

log = logging.getLogger(__name__)


class AuditWatch:
    """Verifies the chain every `every_s` seconds; broken: airlock_audit_chain_intact 0."""

    def __init__(
        self, engine: Engine, public_key: Ed25519PublicKey, metrics: ApiMetrics, every_s: float
    ) -> None:
        self.engine = engine
        self.public_key = public_key
        self.metrics = metrics
        self.every_s = every_s

    async def run(self) -> None:
        """Verify now, then every interval, until cancelled."""
        while True:
            await self.verify_once()
            await asyncio.sleep(self.every_s)

    async def verify_once(self) -> str:
        """One verification off the event loop; its result (intact, broken, error) is counted."""
        try:
            report = await asyncio.to_thread(verify_log, self.engine, self.public_key)
        except (AirlockError, SQLAlchemyError) as exc:
            log.error("audit verification could not run", extra={"error": str(exc)})
            result = "error"
        else:
            result = "intact" if report.damage is None else "broken"
            if report.damage is not None:
                log.error(
                    "audit chain verification failed",
                    extra={"seq": report.damage.seq, "kind": report.damage.kind.value},
                )
        self.metrics.observe_audit_verification(result, time.time())
        return result
