"""Input and output guards run in order for a tenant, each timed and held to a time budget."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence

from pydantic import BaseModel, ConfigDict

from airlock.settings_guardrails import GuardPolicy, GuardrailsSettings
from guardrails.errors import GuardrailsError
from guardrails.types import Guard, GuardContext, GuardVerdict


class PipelineVerdict(BaseModel):
    """Every guard's verdict on one text, and what they add up to."""

    model_config = ConfigDict(frozen=True)

    allowed: bool
    verdicts: tuple[GuardVerdict, ...]
    redacted: str | None = None
    elapsed_ms: float = 0.0

    @property
    def flags(self) -> tuple[str, ...]:
        """Every flag raised, in guard order."""
        return tuple(flag for verdict in self.verdicts for flag in verdict.flags)

    def get(self, guard: str) -> GuardVerdict | None:
        """One guard's verdict, if it ran."""
        return next((v for v in self.verdicts if v.guard == guard), None)


class GuardPipeline:
    """The configured guards; which run is the tenant's policy (or the default one)."""

    def __init__(self, guards: Mapping[str, Guard], settings: GuardrailsSettings) -> None:
        self.guards = dict(guards)
        self.settings = settings

    def policy(self, tenant: str) -> GuardPolicy:
        """The tenant's policy, or the default."""
        return self.settings.tenants.get(tenant, self.settings.policy)

    async def check_input(self, text: str, context: GuardContext) -> PipelineVerdict:
        """Language, PII (the redacted text is what the model and the logs get), injection."""
        policy = self.policy(context.tenant)
        return await self._run(policy.input_guards, text, context, policy.time_budget_ms)

    async def check_output(self, draft: str, context: GuardContext) -> PipelineVerdict:
        """Groundedness, PII leak and injection echo of a draft answer."""
        policy = self.policy(context.tenant)
        return await self._run(policy.output_guards, draft, context, policy.time_budget_ms)

    async def _run(
        self, names: Sequence[str], text: str, context: GuardContext, budget_ms: int
    ) -> PipelineVerdict:
        start = time.perf_counter()
        # Guards are independent; their CPU work runs in threads (torch and numpy release the
        # GIL), so running them together shortens a ticket on more than one core.
        verdicts = await asyncio.gather(
            *(self._one(name, text, context, budget_ms) for name in names)
        )
        redacted = next((v.redacted for v in verdicts if v.redacted is not None), None)
        return PipelineVerdict(
            allowed=all(v.allowed for v in verdicts),
            verdicts=tuple(verdicts),
            redacted=redacted,
            elapsed_ms=(time.perf_counter() - start) * 1000,
        )

    async def _one(
        self, name: str, text: str, context: GuardContext, budget_ms: int
    ) -> GuardVerdict:
        """One guard's verdict; missing, failing or over-budget guards fail closed."""
        guard = self.guards.get(name)
        if guard is None:
            return _closed(name, "not_configured", f"guard {name} is not configured", 0.0)
        start = time.perf_counter()
        try:
            verdict = await asyncio.wait_for(guard.check(text, context=context), budget_ms / 1000)
        except TimeoutError:
            return _closed(name, "timeout", f"no verdict within {budget_ms} ms", budget_ms)
        except GuardrailsError as exc:  # e.g. a text over the size limit
            return _closed(name, "error", exc.message, (time.perf_counter() - start) * 1000)
        elapsed = (time.perf_counter() - start) * 1000
        if elapsed > budget_ms:  # a CPU-bound guard cannot be interrupted, only judged late
            return verdict.model_copy(
                update={
                    "allowed": False,
                    "flags": (*verdict.flags, "over_budget"),
                    "reasons": (*verdict.reasons, f"took {elapsed:.0f} ms of {budget_ms} ms"),
                }
            )
        return verdict


def _closed(name: str, flag: str, reason: str, elapsed_ms: float) -> GuardVerdict:
    return GuardVerdict(
        guard=name, allowed=False, flags=(flag,), reasons=(reason,), elapsed_ms=elapsed_ms
    )
