"""Values that cross the serving boundary: requests, streamed chunks, results, health."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field


class _Value(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ChatMessage(_Value):
    """One message of a conversation."""

    role: Literal["system", "user", "assistant"]
    content: str


class ContextPassage(_Value):
    """A retrieved passage handed to the engine; `ref` is its citation marker number."""

    ref: int = Field(ge=1, description="Citation number: the answer cites it as [ref].")
    text: str
    title: str = ""
    source: str = ""


class ChatRequest(_Value):
    """What every engine takes: messages (or a raw prompt) and sampling parameters."""

    messages: tuple[ChatMessage, ...] = ()
    prompt: str | None = Field(None, description="Raw completion prompt (no chat template).")
    model: str = Field("", description="Model name asked for; empty means the engine's own.")
    max_tokens: int = Field(256, ge=1, le=131072)
    temperature: float = Field(0.0, ge=0.0, le=2.0)
    top_p: float = Field(1.0, gt=0.0, le=1.0)
    stop: tuple[str, ...] = ()
    seed: int | None = None
    passages: tuple[ContextPassage, ...] = Field(
        (), description="Passages to answer from (rendered into the prompt by the caller too)."
    )

    def get_question(self) -> str:
        """The text being answered: the last user message, or the raw prompt."""
        if self.prompt is not None:
            return self.prompt
        users = [m.content for m in self.messages if m.role == "user"]
        return users[-1] if users else ""


class Usage(_Value):
    """Tokens consumed by one request."""

    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        """Prompt plus completion tokens."""
        return self.prompt_tokens + self.completion_tokens


FinishReason = Literal["stop", "length"]


class ChatChunk(_Value):
    """A piece of a streamed answer; the last chunk has `finish_reason` and `usage`."""

    text: str = ""
    finish_reason: FinishReason | None = None
    usage: Usage | None = None
    engine: str = Field("", description="Name of the engine that produced it.")
    model: str = ""
    failovers: tuple[str, ...] = Field(
        (), description="Engines that failed before this one answered, in order."
    )


class ChatResult(_Value):
    """A whole answer, collected from a stream."""

    text: str
    finish_reason: FinishReason
    usage: Usage
    engine: str
    model: str
    failovers: tuple[str, ...] = ()


class EngineHealth(_Value):
    """Whether an engine can take requests now."""

    name: str
    ok: bool
    detail: str = ""
    model: str = ""
    for_answers: bool = Field(True, description="False for test models that must not answer.")


class ChatModel(Protocol):
    """An LLM engine (or a chain of them): streams an answer to a request."""

    name: str

    def stream_chat(self, request: ChatRequest) -> AsyncIterator[ChatChunk]:
        """Yield the answer piece by piece; raise ServingError leaves on failure."""
        ...

    async def health(self) -> EngineHealth:
        """Cheap liveness and readiness check."""
        ...


async def generate(model: ChatModel, request: ChatRequest) -> ChatResult:
    """Run a request to completion and collect the stream into one result."""
    parts: list[str] = []
    last = ChatChunk()
    async for chunk in model.stream_chat(request):
        parts.append(chunk.text)
        last = chunk
    return ChatResult(
        text="".join(parts),
        finish_reason=last.finish_reason or "stop",
        usage=last.usage or Usage(),
        engine=last.engine,
        model=last.model,
        failovers=last.failovers,
    )
