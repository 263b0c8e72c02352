"""The engine chain: try each engine in order until one produces output."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Sequence

from serving import metrics
from serving.errors import AllEnginesDownError, EngineUnavailableError
from serving.types import ChatChunk, ChatModel, ChatRequest, EngineHealth

log = logging.getLogger(__name__)


class FailoverChain:
    """A `ChatModel` over several; a failure before the first token passes to the next engine.

    After output has started the answer cannot switch engines (the caller already has part of
    it), so a later failure propagates. Every failover is logged, counted and reported in the
    chunks' `failovers` field.
    """

    def __init__(self, engines: Sequence[ChatModel], retry_after_s: int = 5) -> None:
        if not engines:
            raise ValueError("a failover chain needs at least one engine")
        self.engines = tuple(engines)
        self.retry_after_s = retry_after_s
        self.name = "+".join(e.name for e in self.engines)

    async def stream_chat(self, request: ChatRequest) -> AsyncIterator[ChatChunk]:
        """Stream from the first engine that answers."""
        failed: list[str] = []
        problems: list[str] = []
        for index, engine in enumerate(self.engines):
            started = time.perf_counter()
            produced = False
            try:
                async for chunk in engine.stream_chat(request):
                    if not produced:
                        produced = True
                        elapsed = time.perf_counter() - started
                        metrics.TIME_TO_FIRST_TOKEN.labels(engine.name).observe(elapsed)
                    if chunk.usage is not None:
                        _count_tokens(engine.name, chunk)
                    yield chunk.model_copy(update={"failovers": tuple(failed)}) if failed else chunk
            except EngineUnavailableError as exc:
                metrics.REQUESTS.labels(engine.name, "error").inc()
                if produced:
                    raise
                following = self.engines[index + 1].name if index + 1 < len(self.engines) else ""
                metrics.FAILOVERS.labels(engine.name, following or "none", exc.reason).inc()
                log.warning(
                    "engine failed before output; failing over",
                    extra={"engine": engine.name, "next": following, "reason": exc.reason},
                )
                failed.append(engine.name)
                problems.append(str(exc))
                continue
            metrics.REQUESTS.labels(engine.name, "ok").inc()
            return
        raise AllEnginesDownError(
            "every engine is down: " + " | ".join(problems),
            retry_after_s=self.retry_after_s,
            remedy="check the engines' endpoints and logs",
        )

    async def health(self) -> EngineHealth:
        """Ready when any engine is ready; the detail names each engine's state."""
        states = [await engine.health() for engine in self.engines]
        ready = [s for s in states if s.ok]
        detail = ", ".join(f"{s.name}={'ok' if s.ok else 'down'}" for s in states)
        first = ready[0] if ready else states[0]
        return EngineHealth(
            name=self.name,
            ok=bool(ready),
            detail=detail,
            model=first.model,
            for_answers=first.for_answers,
        )


def _count_tokens(engine: str, chunk: ChatChunk) -> None:
    assert chunk.usage is not None
    metrics.TOKENS.labels(engine, "prompt").inc(chunk.usage.prompt_tokens)
    metrics.TOKENS.labels(engine, "completion").inc(chunk.usage.completion_tokens)
