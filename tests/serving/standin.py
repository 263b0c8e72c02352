"""Stand-in OpenAI-compatible endpoints (real HTTP on loopback) and helpers for engine tests."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from prometheus_client import REGISTRY
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from airlock.settings import EngineSettings
from serving.errors import (
    ServingError,
)
from serving.extractive import ExtractiveEngine
from serving.openai_engine import OpenAIEngine
from serving.prompt import build_grounded_messages
from serving.types import ChatChunk, ChatModel, ChatRequest, ChatResult, ContextPassage, generate

MODEL = "stand-in-model"
ANSWER_WORDS = ("Reset ", "it ", "from ", "the ", "account ", "page.")
HANG_CAP_S = 10.0  # a hang ends by itself at the latest after this, should a test forget it

PASSAGES = (
    ContextPassage(
        ref=1,
        title="Passwords",
        text="Reset a password from the account settings page. "
        "The emailed reset link expires after one hour.",
    ),
)
QUESTION_TEXT = "How do I reset my password?"
QUESTION = ChatRequest(
    messages=build_grounded_messages("Answer from the passages.", PASSAGES, QUESTION_TEXT),
    max_tokens=64,
)


def expected_extractive_answer() -> str:
    """What the extractive engine answers to QUESTION."""
    return ExtractiveEngine().compose(QUESTION_TEXT, list(PASSAGES))


# --- stand-in endpoints: small Starlette apps that speak vLLM's wire format --------------------


@dataclass(frozen=True)
class Received:
    """One request as the stand-in endpoint saw it."""

    path: str
    body: dict[str, Any]
    authorization: str | None


Respond = Callable[["StandIn", int], Awaitable[Response]]


class StandIn:
    """A purpose-built OpenAI-compatible endpoint that records every request it receives."""

    def __init__(self, respond: Respond) -> None:
        self.respond = respond
        self.received: list[Received] = []
        self.released = threading.Event()  # set when the test is done: ends every hang
        paths = ("/v1/chat/completions", "/v1/completions")
        self.app = Starlette(routes=[Route(p, self._handle, methods=["POST"]) for p in paths])

    @property
    def attempts(self) -> int:
        """Requests received so far."""
        return len(self.received)

    async def _handle(self, request: Request) -> Response:
        auth = request.headers.get("authorization")
        self.received.append(Received(request.url.path, await request.json(), auth))
        return await self.respond(self, self.attempts)

    async def hang(self) -> None:
        """Wait, sending nothing, until the test is done."""
        waited = 0.0
        while not self.released.is_set() and waited < HANG_CAP_S:
            await asyncio.sleep(0.02)
            waited += 0.02


@contextmanager
def serve(live_server: Callable[[Any], Any], stand_in: StandIn) -> Iterator[str]:
    """Run the stand-in on loopback; yield its /v1 base URL; release its hangs at the end."""
    with live_server(stand_in.app) as url:
        try:
            yield f"{url}/v1"
        finally:
            stand_in.released.set()


def sse(event: dict[str, Any]) -> str:
    """One server-sent event."""
    return f"data: {json.dumps(event)}\n\n"


def chunk_event(text: str, finish: str | None = None) -> dict[str, Any]:
    """A chat completion stream chunk as vLLM sends it."""
    choice = {"index": 0, "delta": {"content": text}, "finish_reason": finish, "logprobs": None}
    return {
        "id": "chatcmpl-standin",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": MODEL,
        "choices": [choice],
    }


def usage_event(prompt_tokens: int, completion_tokens: int) -> dict[str, Any]:
    """The closing usage chunk of a stream with include_usage."""
    usage = {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }
    return chunk_event("") | {"choices": [], "usage": usage}


def stream_answer(words: Sequence[str] = ANSWER_WORDS, finish: str = "stop") -> Response:
    """A whole streamed answer: text chunks, the finish chunk, usage, [DONE]."""

    async def events() -> Any:
        for word in words:
            yield sse(chunk_event(word))
        yield sse(chunk_event("", finish))
        yield sse(usage_event(11, len(words)))
        yield "data: [DONE]\n\n"

    return StreamingResponse(events(), media_type="text/event-stream")


def error_response(
    status: int, message: str, kind: str, headers: dict[str, str] | None = None
) -> Response:
    """An error in the body format vLLM returns."""
    body = {"error": {"message": message, "type": kind, "param": None, "code": status}}
    return JSONResponse(body, status, headers=headers)


async def answers(stand_in: StandIn, attempt: int) -> Response:
    """Always answer."""
    return stream_answer()


def fails_first(times: int, status: int, headers: dict[str, str] | None = None) -> Respond:
    """Answer with an error status `times` times, then answer properly."""

    async def respond(stand_in: StandIn, attempt: int) -> Response:
        if attempt <= times:
            return error_response(status, "server busy", "ServiceUnavailableError", headers)
        return stream_answer()

    return respond


def always_fails(status: int, message: str, kind: str) -> Respond:
    """Answer every request with the same error."""

    async def respond(stand_in: StandIn, attempt: int) -> Response:
        return error_response(status, message, kind)

    return respond


async def token_then_hang(stand_in: StandIn, attempt: int) -> Response:
    """Send one token, then nothing more."""

    async def events() -> Any:
        yield sse(chunk_event("Partial"))
        await stand_in.hang()
        yield sse(chunk_event(" late"))

    return StreamingResponse(events(), media_type="text/event-stream")


async def hang_before_headers(stand_in: StandIn, attempt: int) -> Response:
    """Take longer than any read timeout before sending the status line."""
    await stand_in.hang()
    return stream_answer()


async def requires_bearer(stand_in: StandIn, attempt: int) -> Response:
    """Answer only requests that carry `Authorization: Bearer s3cret`."""
    if stand_in.received[-1].authorization != "Bearer s3cret":
        return error_response(401, "invalid API key", "AuthenticationError")
    return stream_answer()


async def error_event_after_token(stand_in: StandIn, attempt: int) -> Response:
    """Send one token, then an error event in the stream (as our server does)."""

    async def events() -> Any:
        yield sse(chunk_event("Partial"))
        yield sse({"error": {"message": "engine died", "type": "ServiceUnavailableError"}})
        yield "data: [DONE]\n\n"

    return StreamingResponse(events(), media_type="text/event-stream")


async def token_then_drop(stand_in: StandIn, attempt: int) -> Response:
    """Send one token, then drop the connection in the middle of the chunked body."""

    async def events() -> Any:
        yield sse(chunk_event("Partial"))
        await asyncio.sleep(0.05)  # let the token reach the client before the drop
        raise ConnectionAbortedError("stand-in drops the connection")

    return StreamingResponse(events(), media_type="text/event-stream")


async def malformed_event(stand_in: StandIn, attempt: int) -> Response:
    """Send an event whose data is not JSON (a broken proxy or a truncated line)."""

    async def events() -> Any:
        yield "data: {not json\n\n"
        yield "data: [DONE]\n\n"

    return StreamingResponse(events(), media_type="text/event-stream")


class PathRecorder:
    """ASGI wrapper that records the path of every HTTP request to the wrapped app."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.paths: list[str] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            self.paths.append(scope["path"])
        await self.app(scope, receive, send)


# --- running engines ----------------------------------------------------------------------------


def engine_settings(base_url: str, name: str = "primary", **overrides: Any) -> EngineSettings:
    """An openai engine with timeouts small enough for tests."""
    values: dict[str, Any] = {
        "model": MODEL,
        "connect_timeout_s": 0.5,
        "read_timeout_s": 0.5,
        "total_timeout_s": 10.0,
        "max_retries": 2,
        "backoff_s": 0.01,
        "breaker_failures": 5,
        "breaker_reset_s": 30.0,
    } | overrides
    return EngineSettings(name=name, kind="openai", base_url=base_url, **values)


async def collect(model: ChatModel, request: ChatRequest) -> tuple[list[ChatChunk], Any]:
    """Every chunk streamed, and the serving error that ended the stream (None if it finished)."""
    chunks: list[ChatChunk] = []
    try:
        async for chunk in model.stream_chat(request):
            chunks.append(chunk)
    except ServingError as exc:
        return chunks, exc
    return chunks, None


def run_stream(
    config: EngineSettings, request: ChatRequest = QUESTION
) -> tuple[list[ChatChunk], Any]:
    """Stream one request through a fresh engine: chunks and the error, if any."""

    async def scenario() -> tuple[list[ChatChunk], Any]:
        engine = OpenAIEngine(config)
        try:
            return await collect(engine, request)
        finally:
            await engine.aclose()

    return asyncio.run(scenario())


def run_request(config: EngineSettings, request: ChatRequest = QUESTION) -> ChatResult:
    """Run one request to completion through a fresh engine (raises its error)."""

    async def scenario() -> ChatResult:
        engine = OpenAIEngine(config)
        try:
            return await generate(engine, request)
        finally:
            await engine.aclose()

    return asyncio.run(scenario())


def run_calls(
    engine: OpenAIEngine, times: int, before: Callable[[int], None] | None = None
) -> list[ChatResult | ServingError]:
    """Send `times` requests one after another through one engine; each result or error.

    `before(i)` runs before request i (e.g. to move a fake clock).
    """

    async def scenario() -> list[ChatResult | ServingError]:
        outcomes: list[ChatResult | ServingError] = []
        try:
            for index in range(times):
                if before is not None:
                    before(index)
                try:
                    outcomes.append(await generate(engine, QUESTION))
                except ServingError as exc:
                    outcomes.append(exc)
        finally:
            await engine.aclose()
        return outcomes

    return asyncio.run(scenario())


def sample(name: str, **labels: str) -> float:
    """A metric sample of the default registry (0 when not yet recorded)."""
    return REGISTRY.get_sample_value(name, labels) or 0.0


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
