"""The OpenAI wire format as vLLM speaks it: request bodies, responses, stream chunks, errors."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from serving.types import ChatChunk, ChatMessage, ChatRequest, ContextPassage, Usage

DEFAULT_CHAT_MAX_TOKENS = 256
DEFAULT_COMPLETION_MAX_TOKENS = 16  # the OpenAI default for /v1/completions


class StreamOptions(BaseModel):
    """`stream_options` of a streaming request."""

    include_usage: bool = False


class _Common(BaseModel):
    # Unknown fields are ignored, as vLLM does, so that newer clients keep working.
    model_config = ConfigDict(extra="ignore")

    model: str
    max_tokens: int | None = Field(None, ge=1)
    temperature: float = Field(1.0, ge=0.0, le=2.0)
    top_p: float = Field(1.0, gt=0.0, le=1.0)
    stop: str | list[str] | None = None
    stream: bool = False
    stream_options: StreamOptions | None = None
    seed: int | None = None
    n: int = Field(1, ge=1, le=1, description="Only one choice per request.")

    def get_stops(self) -> tuple[str, ...]:
        """Stop sequences as a tuple."""
        if self.stop is None:
            return ()
        return (self.stop,) if isinstance(self.stop, str) else tuple(self.stop)

    def wants_usage(self) -> bool:
        """Whether a streamed response ends with a usage chunk."""
        return bool(self.stream_options and self.stream_options.include_usage)


class ChatMessageIn(BaseModel):
    """A message as clients send it: content is text or a list of text parts."""

    role: Literal["system", "user", "assistant", "developer"]
    content: str | list[dict[str, Any]]

    @field_validator("content")
    @classmethod
    def _text_only(cls, value: str | list[dict[str, Any]]) -> str | list[dict[str, Any]]:
        if isinstance(value, list) and any(part.get("type") != "text" for part in value):
            raise ValueError("only text content parts are supported")
        return value

    def to_message(self) -> ChatMessage:
        """Our message value (a developer message is a system message)."""
        text = self.content
        if isinstance(text, list):
            text = "".join(str(part.get("text", "")) for part in text)
        return ChatMessage(role="system" if self.role == "developer" else self.role, content=text)


class ChatCompletionBody(_Common):
    """POST /v1/chat/completions."""

    messages: list[ChatMessageIn] = Field(min_length=1)
    max_completion_tokens: int | None = Field(None, ge=1)
    passages: list[ContextPassage] = Field(
        default_factory=list, description="Airlock extension: passages to answer from."
    )

    def to_request(self) -> ChatRequest:
        """Our engine request."""
        return ChatRequest(
            messages=tuple(m.to_message() for m in self.messages),
            max_tokens=self.max_completion_tokens or self.max_tokens or DEFAULT_CHAT_MAX_TOKENS,
            temperature=self.temperature,
            top_p=self.top_p,
            stop=self.get_stops(),
            seed=self.seed,
            passages=tuple(self.passages),
        )


class CompletionBody(_Common):
    """POST /v1/completions (one prompt string)."""

    prompt: str | list[str]

    def to_request(self) -> ChatRequest:
        """Our engine request."""
        prompt = self.prompt
        if isinstance(prompt, list):
            if len(prompt) != 1:
                raise ValueError("only one prompt per request is supported")
            prompt = prompt[0]
        return ChatRequest(
            prompt=prompt,
            max_tokens=self.max_tokens or DEFAULT_COMPLETION_MAX_TOKENS,
            temperature=self.temperature,
            top_p=self.top_p,
            stop=self.get_stops(),
            seed=self.seed,
        )


def error_body(message: str, kind: str, status: int, param: str | None = None) -> dict[str, Any]:
    """An error in the OpenAI format vLLM returns."""
    return {"error": {"message": message, "type": kind, "param": param, "code": status}}


def usage_dict(usage: Usage) -> dict[str, int]:
    """Usage in the wire format."""
    return {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.total_tokens,
    }


class ResponseWriter:
    """Builds the response objects of one request (same id and timestamp throughout)."""

    def __init__(self, model: str, chat: bool) -> None:
        self.model = model
        self.chat = chat
        self.id = f"{'chatcmpl' if chat else 'cmpl'}-{uuid.uuid4().hex}"
        self.created = int(time.time())

    def _envelope(self, choices: list[dict[str, Any]], stream: bool) -> dict[str, Any]:
        kind = "chat.completion" if self.chat else "text_completion"
        return {
            "id": self.id,
            "object": f"{kind}.chunk" if stream and self.chat else kind,
            "created": self.created,
            "model": self.model,
            "choices": choices,
        }

    def full(self, text: str, finish: str, usage: Usage) -> dict[str, Any]:
        """A non-streamed response."""
        choice: dict[str, Any] = {"index": 0, "finish_reason": finish, "logprobs": None}
        if self.chat:
            choice["message"] = {"role": "assistant", "content": text}
        else:
            choice["text"] = text
        return self._envelope([choice], stream=False) | {"usage": usage_dict(usage)}

    def chunk(self, text: str, finish: str | None, first: bool = False) -> str:
        """One server-sent event of a stream."""
        choice: dict[str, Any] = {"index": 0, "finish_reason": finish, "logprobs": None}
        if self.chat:
            choice["delta"] = ({"role": "assistant"} if first else {}) | {"content": text}
        else:
            choice["text"] = text
        return _sse(self._envelope([choice], stream=True))

    def usage_chunk(self, usage: Usage) -> str:
        """The final event of a stream with include_usage: no choices, the usage."""
        return _sse(self._envelope([], stream=True) | {"usage": usage_dict(usage)})

    def from_chunk(self, chunk: ChatChunk, first: bool) -> str:
        """An engine chunk as an event."""
        return self.chunk(chunk.text, chunk.finish_reason, first=first)


def _sse(data: dict[str, Any]) -> str:
    return f"data: {json.dumps(data, separators=(',', ':'))}\n\n"


DONE = "data: [DONE]\n\n"
