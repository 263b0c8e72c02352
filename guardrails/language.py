"""The language input guard: records the ticket's language, flags one the tenant does not serve."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping

from guardrails.types import GuardContext, GuardVerdict
from models.language import detect_language, language_detector


class LanguageGuard:
    """Detects the language offline (lingua); never blocks, flags unsupported languages."""

    name = "language"

    def __init__(
        self, supported: tuple[str, ...] = (), tenants: Mapping[str, tuple[str, ...]] = {}
    ) -> None:
        self.supported = supported
        self.tenants = dict(tenants)  # a tenant's own languages replace `supported`
        language_detector()  # built now, not inside the first ticket's time budget

    async def check(self, text: str, *, context: GuardContext) -> GuardVerdict:
        """The detected language ('' when the text is too short to tell)."""
        start = time.perf_counter()
        language = await asyncio.to_thread(detect_language, text)
        supported = self.tenants.get(context.tenant, self.supported)
        unsupported = bool(supported and language and language not in supported)
        return GuardVerdict(
            guard=self.name,
            allowed=True,
            flags=("unsupported_language",) if unsupported else (),
            labels={"language": language},
            reasons=(f"language {language or 'undetermined'}",),
            elapsed_ms=(time.perf_counter() - start) * 1000,
        )
