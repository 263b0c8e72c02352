"""The language input guard: records the ticket's language, flags one the tenant does not serve."""

from __future__ import annotations

import asyncio
import time

from guardrails.types import GuardContext, GuardVerdict
from models.language import detect_language, language_detector


class LanguageGuard:
    """Detects the language offline (lingua); never blocks, flags unsupported languages."""

    name = "language"

    def __init__(self, supported: tuple[str, ...] = ()) -> None:
        self.supported = supported
        language_detector()  # built now, not inside the first ticket's time budget

    async def check(self, text: str, *, context: GuardContext) -> GuardVerdict:
        """The detected language ('' when the text is too short to tell)."""
        start = time.perf_counter()
        language = await asyncio.to_thread(detect_language, text)
        unsupported = bool(self.supported and language and language not in self.supported)
        return GuardVerdict(
            guard=self.name,
            allowed=True,
            flags=("unsupported_language",) if unsupported else (),
            labels={"language": language},
            reasons=(f"language {language or 'undetermined'}",),
            elapsed_ms=(time.perf_counter() - start) * 1000,
        )
