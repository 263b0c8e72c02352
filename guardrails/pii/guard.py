"""The PII guards: `PiiGuard` (input: find and redact) and `PiiLeakGuard` (output: leaks)."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Sequence

import sqlalchemy as sa

from airlock.errors import ConfigError
from airlock.settings import AirlockSettings
from guardrails.errors import GuardInputError
from guardrails.pii.anonymize import PiiSession, Redactor
from guardrails.pii.engine import PiiAnalyzer, build_analyzer
from guardrails.pii.keys import load_master_key
from guardrails.pii.leak import find_leaks
from guardrails.pii.vault import PiiVault
from guardrails.types import Entity, GuardContext, GuardVerdict


def _max_scores(entities: Sequence[Entity]) -> dict[str, float]:
    scores: dict[str, float] = {}
    for e in entities:
        scores[e.type] = max(scores.get(e.type, 0.0), e.score)
    return scores


class PiiGuard:
    """Input guard: finds PII and returns the redacted text; PII is redacted, never blocked."""

    name = "pii"

    def __init__(self, analyzer: PiiAnalyzer, redactor: Redactor) -> None:
        self.analyzer = analyzer
        self.redactor = redactor

    def analyze(self, text: str) -> list[Entity]:
        """PII entities of `text` (sorted, not overlapping; `end` exclusive)."""
        return self.analyzer.analyze(text)

    def new_session(self, *, tenant: str = "", subject_id: str = "", scope: str = "") -> PiiSession:
        """A placeholder session for one ticket (`scope`, e.g. its id) of one data subject."""
        return PiiSession(tenant=tenant, subject_id=subject_id, scope=scope)

    def redact(
        self,
        text: str,
        entities: Sequence[Entity] | None = None,
        session: PiiSession | None = None,
    ) -> str:
        """`text` with PII replaced; pass one session for every text of a ticket."""
        found = self.analyze(text) if entities is None else entities
        return self.redactor.redact(text, found, session or self.new_session())

    def reveal(self, text: str, *, tenant: str, subject_id: str, scope: str = "") -> str:
        """Vault mode: the originals behind the subject's placeholders in `text`."""
        return self._vault().reveal(text, tenant=tenant, subject_id=subject_id, scope=scope)

    def erase_subject(self, tenant: str, subject_id: str) -> bool:
        """Vault mode: crypto-shred the subject's originals; True when a key was deleted."""
        return self._vault().erase_subject(tenant, subject_id)

    def _vault(self) -> PiiVault:
        if self.redactor.vault is None:
            raise GuardInputError(
                "the PII vault is off", remedy="set guardrails.pii.anonymize to 'vault'"
            )
        return self.redactor.vault

    def check_sync(self, text: str, *, context: GuardContext) -> GuardVerdict:
        """`check` without the event loop (for worker threads and scripts).

        Placeholders are numbered per text; in vault mode per data subject (context.subject_id),
        continuing across that subject's texts, so `reveal` needs only tenant and subject.
        Use `new_session(scope=ticket_id)` with `redact` for per-ticket numbering.
        """
        started = time.perf_counter()
        entities = self.analyze(text)
        session = self.new_session(tenant=context.tenant, subject_id=context.subject_id)
        redacted = self.redactor.redact(text, entities, session)
        counts = Counter(e.type for e in entities)
        return GuardVerdict(
            guard=self.name,
            allowed=True,
            flags=("pii",) if entities else (),
            scores=_max_scores(entities),
            reasons=tuple(f"redacted {n} {t}" for t, n in sorted(counts.items())),
            elapsed_ms=(time.perf_counter() - started) * 1000,
            redacted=redacted,
            entities=tuple(entities),
        )

    async def check(self, text: str, *, context: GuardContext) -> GuardVerdict:
        """Find and redact PII; `allowed` stays True (the redacted text goes on)."""
        return await asyncio.to_thread(self.check_sync, text, context=context)

    def leak_guard(self) -> PiiLeakGuard:
        """The output leak guard on the same analyzer."""
        return PiiLeakGuard(self.analyzer)


class PiiLeakGuard:
    """Output guard: flags PII in a draft that the customer's ticket and the passages lack."""

    name = "pii_leak"

    def __init__(self, analyzer: PiiAnalyzer) -> None:
        self.analyzer = analyzer

    def check_sync(self, draft: str, *, context: GuardContext) -> GuardVerdict:
        """`check` without the event loop."""
        started = time.perf_counter()
        entities = self.analyzer.analyze(draft)
        leaks = find_leaks(draft, entities, [context.ticket_text, *context.passages])
        types = sorted({e.type for e in leaks})
        return GuardVerdict(
            guard=self.name,
            allowed=not leaks,
            flags=("pii_leak",) if leaks else (),
            scores={"leaks": float(len(leaks))},
            reasons=tuple(f"{t} not in the ticket or the passages" for t in types),
            elapsed_ms=(time.perf_counter() - started) * 1000,
            entities=tuple(leaks),
        )

    async def check(self, draft: str, *, context: GuardContext) -> GuardVerdict:
        """Block a draft that reveals PII from elsewhere; reasons name types, never values."""
        return await asyncio.to_thread(self.check_sync, draft, context=context)


def build_pii_guard(settings: AirlockSettings, engine: sa.Engine | None = None) -> PiiGuard:
    """The PII guard for `settings`; `engine` (the Airlock database) only for vault mode."""
    pii = settings.guardrails.pii
    analyzer = build_analyzer(settings)
    if pii.anonymize in ("placeholder", "mask"):
        return PiiGuard(analyzer, Redactor(pii.anonymize))
    master = load_master_key(settings)
    if pii.anonymize == "hash":
        return PiiGuard(analyzer, Redactor("hash", hash_key=master.derive("hash-salt")))
    if engine is None:
        raise ConfigError(
            "guardrails.pii.anonymize = 'vault' needs the database engine",
            remedy="call build_pii_guard(settings, engine) with the Airlock database engine",
        )
    return PiiGuard(analyzer, Redactor("vault", vault=PiiVault(engine, master)))


def build_pii_leak_guard(settings: AirlockSettings) -> PiiLeakGuard:
    """The output leak guard alone (prefer `PiiGuard.leak_guard()` to share the analyzer)."""
    return PiiLeakGuard(build_analyzer(settings))
