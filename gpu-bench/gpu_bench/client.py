"""Streamed requests to an OpenAI-compatible endpoint, timed per chunk; and the preflight check."""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import httpx
from tokenizers import Tokenizer

from gpu_bench.records import ErrorKind, RequestRecord, TokenSource
from gpu_bench.workloads import Prompt

Api = Literal["chat", "completions"]
Sender = Callable[[Prompt, str, str], Awaitable[RequestRecord]]  # (prompt, phase, request_id)
ERROR_CHARS = 200


class PreflightError(RuntimeError):
    """The endpoint cannot be benchmarked: unreachable, refusing us, or not serving the model."""


class _StreamError(Exception):
    """A stream that broke the protocol or reported an error mid-way."""

    def __init__(self, kind: ErrorKind, message: str) -> None:
        super().__init__(message)
        self.kind: ErrorKind = kind


def build_body(prompt: Prompt, *, model: str, api: Api, ignore_eos: bool) -> dict[str, Any]:
    """The streaming request body; `ignore_eos` is vLLM's extension to force max_tokens."""
    body: dict[str, Any] = {
        "model": model,
        "max_tokens": prompt.max_tokens,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    if api == "chat":
        body["messages"] = prompt.as_messages()
    else:
        body["prompt"] = prompt.as_text()
    if ignore_eos:
        body["ignore_eos"] = True
    return body


@dataclass
class _Stream:
    """What one stream has shown so far, on the perf_counter clock."""

    api: Api
    sent: float
    first: float | None = None
    last: float | None = None
    gaps: list[float] = field(default_factory=list)
    chunks: int = 0  # content chunks: about one token each on vLLM (stream interval 1)
    usage: dict[str, Any] | None = None
    done: bool = False
    text: list[str] = field(default_factory=list)  # only counted with a local tokenizer

    def feed(self, line: str, now: float) -> None:
        """Take one SSE line; raises `_StreamError` on a line that is not the protocol."""
        if not line or line.startswith(":") or line.startswith(("event:", "id:", "retry:")):
            return
        if not line.startswith("data:"):
            raise _StreamError("malformed_sse", f"not an SSE data line: {line[:80]!r}")
        data = line[5:].strip()
        if data == "[DONE]":
            self.done = True
            return
        try:
            event = json.loads(data)
        except json.JSONDecodeError as exc:
            raise _StreamError("malformed_sse", f"bad JSON in SSE data: {exc.msg}") from None
        if not isinstance(event, dict):
            raise _StreamError("malformed_sse", "SSE data is not a JSON object")
        self._event(event, now)

    def _event(self, event: dict[str, Any], now: float) -> None:
        """Take one parsed event: an error, the usage, or a content chunk."""
        if isinstance(event.get("error"), dict):
            raise _StreamError(_error_kind(event["error"]), str(event["error"].get("message")))
        if isinstance(event.get("usage"), dict):
            self.usage = event["usage"]
        choices = event.get("choices") or []
        if not isinstance(choices, list):
            raise _StreamError("malformed_sse", "choices is not a list")
        content = _content(choices[0], self.api) if choices else ""
        if content:
            self.text.append(content)
            if self.last is not None:
                self.gaps.append(now - self.last)
            else:
                self.first = now
            self.last = now
            self.chunks += 1


def _content(choice: Any, api: Api) -> str:
    """The text of a stream choice (reasoning text counts: it is generated tokens too)."""
    if not isinstance(choice, dict):
        raise _StreamError("malformed_sse", "a choice is not a JSON object")
    if api == "completions":
        return str(choice.get("text") or "")
    delta = choice.get("delta") or {}
    parts = (delta.get(key) for key in ("content", "reasoning_content", "reasoning"))
    return "".join(str(part) for part in parts if part)


def _error_kind(error: dict[str, Any]) -> ErrorKind:
    """An in-stream error's kind from its code (vLLM puts the HTTP status there)."""
    code = error.get("code")
    if isinstance(code, int) and code >= 500:
        return "http_5xx"
    if isinstance(code, int) and code >= 400:
        return "http_4xx"
    return "other"


async def send_chat(
    client: httpx.AsyncClient,
    *,
    base_url: str,
    model: str,
    prompt: Prompt,
    api: Api = "chat",
    phase: str,
    request_id: str,
    started_at: float,
    ignore_eos: bool = False,
    headers: dict[str, str] | None = None,
    tokenizer: Tokenizer | None = None,
) -> RequestRecord:
    """One streamed request as a record; never raises (failures are error records).

    Output tokens come from the server's usage; without it, from `tokenizer` over the streamed
    text; without one, from the number of content chunks.
    """
    path = "chat/completions" if api == "chat" else "completions"
    body = build_body(prompt, model=model, api=api, ignore_eos=ignore_eos)
    sent = time.perf_counter()
    base: dict[str, Any] = {
        "request_id": request_id,
        "phase": phase,
        "prompt_id": prompt.prompt_id,
        "start_s": sent - started_at,
    }
    stream = _Stream(api, sent)
    url = f"{base_url.rstrip('/')}/{path}"
    sending = {**(headers or {}), "X-Request-ID": request_id}
    try:
        refused = await _exchange(client, url, body=body, headers=sending, stream=stream, base=base)
    except _StreamError as exc:
        return _failed(base, sent, exc.kind, str(exc))
    except httpx.TimeoutException as exc:
        return _failed(base, sent, "timeout", f"{type(exc).__name__}: {exc}")
    except httpx.TransportError as exc:
        return _failed(base, sent, "connection", f"{type(exc).__name__}: {exc}")
    except httpx.HTTPError as exc:
        return _failed(base, sent, "other", f"{type(exc).__name__}: {exc}")
    return refused or _finished(base, stream, time.perf_counter(), tokenizer)


async def _exchange(
    client: httpx.AsyncClient,
    url: str,
    *,
    body: dict[str, Any],
    headers: dict[str, str],
    stream: _Stream,
    base: dict[str, Any],
) -> RequestRecord | None:
    """POST and feed the stream; the error record of an HTTP error status, else None."""
    async with client.stream("POST", url, json=body, headers=headers) as response:
        base["server_request_id"] = response.headers.get("x-request-id", "")
        base["http_status"] = response.status_code
        if response.status_code >= 400:
            text = (await response.aread()).decode("utf-8", errors="replace")
            kind: ErrorKind = "http_5xx" if response.status_code >= 500 else "http_4xx"
            return _failed(base, stream.sent, kind, text or response.reason_phrase)
        async for line in response.aiter_lines():
            stream.feed(line, time.perf_counter())
            if stream.done:
                break
    return None


def _finished(
    base: dict[str, Any], stream: _Stream, end: float, tokenizer: Tokenizer | None = None
) -> RequestRecord:
    """The record of a stream that ended: ok when it was whole and had content."""
    if not stream.done:
        return _failed(base, stream.sent, "malformed_sse", "stream ended without data: [DONE]")
    if stream.first is None:
        return _failed(base, stream.sent, "other", "stream had no content")
    usage = stream.usage or {}
    completion = usage.get("completion_tokens")
    prompt_tokens = usage.get("prompt_tokens")
    output, source = _output_tokens(completion, stream, tokenizer)
    return RequestRecord(
        **base,
        status="ok",
        e2e_s=end - stream.sent,
        ttft_s=stream.first - stream.sent,
        itl_s=tuple(stream.gaps),
        prompt_tokens=prompt_tokens if isinstance(prompt_tokens, int) else None,
        output_tokens=output,
        token_source=source,
    )


def _output_tokens(
    completion: Any, stream: _Stream, tokenizer: Tokenizer | None
) -> tuple[int, TokenSource]:
    """The server's count, else the local tokenizer's over the text, else the chunk count."""
    if isinstance(completion, int):
        return completion, "usage"
    if tokenizer is not None:
        text = "".join(stream.text)
        return len(tokenizer.encode(text, add_special_tokens=False).ids), "tokenizer"
    return stream.chunks, "chunks"


def load_tokenizer(path: Path) -> Tokenizer:
    """A Hugging Face `tokenizer.json`, or the one in a model folder (e.g. the model store's)."""
    file = path / "tokenizer.json" if path.is_dir() else path
    try:
        return Tokenizer.from_file(str(file))
    except Exception as exc:  # the tokenizers library raises a bare Exception on bad files
        raise ValueError(f"cannot load a tokenizer from {file}: {exc}") from None


def _failed(base: dict[str, Any], sent: float, kind: ErrorKind, message: str) -> RequestRecord:
    """An error record: kind, short message, and how long until it failed."""
    return RequestRecord(
        **base,
        status="error",
        e2e_s=time.perf_counter() - sent,
        error_kind=kind,
        error=message[:ERROR_CHARS],
    )


def chat_sender(
    client: httpx.AsyncClient,
    *,
    base_url: str,
    model: str,
    api: Api = "chat",
    started_at: float,
    ignore_eos: bool = False,
    headers: dict[str, str] | None = None,
    tokenizer: Tokenizer | None = None,
) -> Sender:
    """`send_chat` bound to one endpoint, as the load loops call it."""

    async def send(prompt: Prompt, phase: str, request_id: str) -> RequestRecord:
        """One request of the run."""
        return await send_chat(
            client,
            base_url=base_url,
            model=model,
            prompt=prompt,
            api=api,
            phase=phase,
            request_id=request_id,
            started_at=started_at,
            ignore_eos=ignore_eos,
            headers=headers,
            tokenizer=tokenizer,
        )

    return send


async def preflight(
    client: httpx.AsyncClient, base_url: str, model: str, headers: dict[str, str] | None = None
) -> list[str]:
    """The model ids the endpoint serves (GET /models); `PreflightError` unless `model` is one."""
    url = f"{base_url.rstrip('/')}/models"
    try:
        response = await client.get(url, headers=headers or {})
    except httpx.TimeoutException:
        raise PreflightError(f"{url} did not answer within the timeout") from None
    except httpx.TransportError as exc:
        raise PreflightError(
            f"cannot reach {url} ({type(exc).__name__}: {exc}): is the server up, and does the "
            "base URL end in /v1?"
        ) from None
    if response.status_code in (401, 403):
        raise PreflightError(f"{url} refused the credentials ({response.status_code}): see --auth")
    if response.status_code >= 400:
        raise PreflightError(
            f"GET {url} answered {response.status_code}: {response.text[:ERROR_CHARS]}"
        )
    try:
        served = [str(card["id"]) for card in response.json()["data"]]
    except (ValueError, KeyError, TypeError):
        raise PreflightError(f"{url} did not answer an OpenAI model list") from None
    if model not in served:
        listing = ", ".join(repr(m) for m in served) or "none"
        raise PreflightError(f"{base_url} does not serve model {model!r}; it serves: {listing}")
    return served
