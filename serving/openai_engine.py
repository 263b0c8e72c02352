"""An OpenAI-compatible endpoint (vLLM, Ray Serve LLM, our CPU server) as a `ChatModel`."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx

from airlock.settings import EngineSettings
from serving import metrics
from serving.breaker import CircuitBreaker
from serving.errors import BadChatRequestError, EngineUnavailableError, UnknownModelError
from serving.types import ChatChunk, ChatRequest, EngineHealth, FinishReason, Usage

log = logging.getLogger(__name__)

_RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})
_CONNECTION_ERRORS = (httpx.ConnectError, httpx.ConnectTimeout, httpx.RemoteProtocolError)
_MAX_BACKOFF_S = 10.0


class _Retryable(Exception):
    """A failure before any output that may succeed on a retry."""

    def __init__(self, reason: str, delay_s: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.delay_s = delay_s


def build_request_body(request: ChatRequest, model: str) -> dict[str, Any]:
    """The JSON body of a streaming chat or completion request."""
    body: dict[str, Any] = {
        "model": request.model or model,
        "max_tokens": request.max_tokens,
        "temperature": request.temperature,
        "top_p": request.top_p,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    if request.prompt is not None:
        body["prompt"] = request.prompt
    else:
        body["messages"] = [m.model_dump() for m in request.messages]
    if request.stop:
        body["stop"] = list(request.stop)
    if request.seed is not None:
        body["seed"] = request.seed
    return body


def parse_error_body(response_text: str) -> str:
    """The message of an OpenAI/vLLM error body (nested or flat), else the raw text."""
    try:
        data = json.loads(response_text)
    except ValueError:
        return response_text.strip()[:500]
    if isinstance(data, dict):
        inner = data.get("error", data)
        if isinstance(inner, dict) and "message" in inner:
            return str(inner["message"])
    return response_text.strip()[:500]


class OpenAIEngine:
    """Streams from `base_url` with timeouts, retries before the first token, and a breaker."""

    def __init__(
        self, config: EngineSettings, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.name = config.name
        self.config = config
        headers = {}
        if config.api_key is not None:
            headers["Authorization"] = f"Bearer {config.api_key.get_secret_value()}"
        self._client = httpx.AsyncClient(
            base_url=config.base_url.rstrip("/"),
            headers=headers,
            timeout=httpx.Timeout(config.read_timeout_s, connect=config.connect_timeout_s),
            transport=transport,
            trust_env=False,
        )
        self.breaker = CircuitBreaker(config.breaker_failures, config.breaker_reset_s)

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._client.aclose()

    async def stream_chat(self, request: ChatRequest) -> AsyncIterator[ChatChunk]:
        """Stream one request; retry only failures that happen before any output."""
        if not self.breaker.allow():
            raise EngineUnavailableError(
                f"engine {self.name!r} is paused after repeated failures "
                f"(circuit breaker open, next trial in {self.breaker.get_retry_in():.0f} s)",
                reason="breaker_open",
                remedy=f"check the endpoint {self.config.base_url}",
            )
        deadline = time.monotonic() + self.config.total_timeout_s
        try:
            async for chunk in self._stream_with_retries(request, deadline):
                yield chunk
        except EngineUnavailableError:
            if self.breaker.record_failure():
                metrics.BREAKER_OPEN.labels(self.name).inc()
                log.warning("circuit breaker opened", extra={"engine": self.name})
            raise
        except (BadChatRequestError, UnknownModelError):
            self.breaker.record_success()  # the endpoint answered; the request was the problem
            raise
        except BaseException:
            self.breaker.record_abandoned()  # cancelled or closed early: no verdict on the engine
            raise
        self.breaker.record_success()

    async def _stream_with_retries(
        self, request: ChatRequest, deadline: float
    ) -> AsyncIterator[ChatChunk]:
        path = "/completions" if request.prompt is not None else "/chat/completions"
        body = build_request_body(request, self.config.model)
        for attempt in range(self.config.max_retries + 1):
            try:
                async for chunk in self._stream_once(path, body, deadline):
                    yield chunk
                return
            except _Retryable as exc:
                delay = min(
                    exc.delay_s if exc.delay_s is not None else self.config.backoff_s * 2**attempt,
                    _MAX_BACKOFF_S,
                )
                last_attempt = attempt == self.config.max_retries
                if last_attempt or time.monotonic() + delay >= deadline:
                    raise EngineUnavailableError(
                        f"engine {self.name!r} failed after {attempt + 1} attempts: {exc.reason}",
                        reason="connection"
                        if exc.reason.startswith("connection")
                        else "http_status",
                        remedy=f"check the endpoint {self.config.base_url}",
                    ) from None
                metrics.RETRIES.labels(self.name, exc.reason.split(":")[0]).inc()
                await asyncio.sleep(delay)

    async def _stream_once(
        self, path: str, body: dict[str, Any], deadline: float
    ) -> AsyncIterator[ChatChunk]:
        remaining = max(0.001, deadline - time.monotonic())
        timeout = httpx.Timeout(
            min(self.config.read_timeout_s, remaining),
            connect=min(self.config.connect_timeout_s, remaining),
        )
        started = False
        try:
            async with self._client.stream("POST", path, json=body, timeout=timeout) as response:
                await self._raise_for_status(response)
                async for chunk in self._read_events(response, deadline):
                    started = True
                    yield chunk
        except _CONNECTION_ERRORS as exc:
            if started:
                raise self._broken(exc) from None
            raise _Retryable(f"connection: {type(exc).__name__}") from None
        except httpx.TimeoutException as exc:
            raise EngineUnavailableError(
                f"engine {self.name!r} timed out ({type(exc).__name__})",
                reason="timeout",
                remedy="the endpoint is overloaded or stuck; raise read_timeout_s if it is slow",
            ) from None
        except httpx.HTTPError as exc:
            raise self._broken(exc) from None

    def _broken(self, exc: Exception) -> EngineUnavailableError:
        return EngineUnavailableError(
            f"engine {self.name!r} broke off the response ({type(exc).__name__})",
            reason="broken",
            remedy=f"check the endpoint {self.config.base_url}",
        )

    async def _raise_for_status(self, response: httpx.Response) -> None:
        if response.status_code == 200:
            return
        message = parse_error_body((await response.aread()).decode("utf-8", "replace"))
        status = response.status_code
        if status in _RETRYABLE_STATUS:
            retry_after = response.headers.get("retry-after", "")
            delay = float(retry_after) if retry_after.isdigit() else None
            raise _Retryable(f"HTTP {status}: {message}", delay)
        if status == 404:
            raise UnknownModelError(f"engine {self.name!r}: {message}", remedy="check the model")
        if 400 <= status < 500 and status not in (401, 403):
            raise BadChatRequestError(f"engine {self.name!r} refused the request: {message}")
        raise EngineUnavailableError(
            f"engine {self.name!r} answered HTTP {status}: {message}",
            reason="http_status",
            remedy="check the endpoint's credentials (api_key)" if status in (401, 403) else "",
        )

    async def _read_events(
        self, response: httpx.Response, deadline: float
    ) -> AsyncIterator[ChatChunk]:
        finish: FinishReason | None = None
        usage = Usage()
        model = ""
        async for line in response.aiter_lines():
            if time.monotonic() > deadline:
                raise EngineUnavailableError(
                    f"engine {self.name!r} exceeded total_timeout_s "
                    f"({self.config.total_timeout_s} s)",
                    reason="timeout",
                    remedy="raise total_timeout_s or lower max_tokens",
                )
            if not line.startswith("data:"):
                continue
            data = line[5:].strip()
            if data == "[DONE]":
                break
            try:
                event = json.loads(data)
            except ValueError:
                event = None
            if not isinstance(event, dict):
                raise self._broken(ValueError("a stream event is not a JSON object"))
            if "error" in event:
                raise self._broken(RuntimeError(parse_error_body(data)))
            model = event.get("model", model)
            if event.get("usage"):
                usage = Usage(
                    prompt_tokens=event["usage"].get("prompt_tokens", 0),
                    completion_tokens=event["usage"].get("completion_tokens", 0),
                )
            for choice in event.get("choices", []):
                text = (choice.get("delta") or {}).get("content") or choice.get("text") or ""
                finish = choice.get("finish_reason") or finish
                if text:
                    yield ChatChunk(text=text, engine=self.name, model=model)
        yield ChatChunk(
            finish_reason="length" if finish == "length" else "stop",
            usage=usage,
            engine=self.name,
            model=model,
        )

    async def health(self) -> EngineHealth:
        """Ready when GET /models answers and lists the configured model."""
        try:
            response = await self._client.get("/models", timeout=self.config.connect_timeout_s)
            served = [m.get("id") for m in response.json().get("data", [])]
        except (httpx.HTTPError, ValueError, AttributeError) as exc:
            return EngineHealth(name=self.name, ok=False, detail=type(exc).__name__)
        ok = response.status_code == 200 and self.config.model in served
        detail = "" if ok else f"HTTP {response.status_code}, serves {served}"
        return EngineHealth(name=self.name, ok=ok, detail=detail, model=self.config.model)
