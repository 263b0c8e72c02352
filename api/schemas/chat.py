"""Bodies of POST /v1/chat/completions: OpenAI's request and Airlock's `airlock` extension."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from helpdesk.chat import ChatTurn
from helpdesk.record import GuardSummary
from serving.openai_protocol import ChatCompletionBody
from serving.types import ContextPassage

CONVERSATION_ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
MAX_TOKENS = 131072


class ChatCompletionIn(ChatCompletionBody):
    """OpenAI's chat request (vLLM's dialect) with OpenAI's `metadata` and `user` fields.

    `metadata.conversation_id` (or the `X-Conversation-Id` header) continues a conversation
    that an earlier answer returned; `user` is the end user (the data subject whose turns are
    remembered), else the token's subject.
    """

    metadata: dict[str, str] | None = Field(
        None,
        max_length=16,
        description="OpenAI's metadata; `conversation_id` continues an earlier conversation.",
    )
    user: str | None = Field(
        None,
        min_length=1,
        max_length=255,
        description="The end user the conversation belongs to (default: the token's subject).",
    )
    passages: list[ContextPassage] = Field(
        default_factory=list,
        max_length=0,
        description="Not accepted here: the assistant retrieves from the tenant's knowledge base.",
    )
    # Bounded like the engines' requests (serving.types.ChatRequest), so a larger value is a 422.
    max_tokens: int | None = Field(None, ge=1, le=MAX_TOKENS)
    max_completion_tokens: int | None = Field(None, ge=1, le=MAX_TOKENS)

    @field_validator("metadata")
    @classmethod
    def _conversation_id_format(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        given = (value or {}).get("conversation_id")
        if given is not None and not re.fullmatch(CONVERSATION_ID_PATTERN, given):
            raise ValueError("conversation_id is 1 to 64 letters, digits, '_' or '-'")
        return value

    def get_conversation_id(self) -> str | None:
        """The conversation id given in `metadata`, if any."""
        return (self.metadata or {}).get("conversation_id")


class CitationOut(BaseModel):
    """A knowledge-base passage the answer cites as [ref]."""

    model_config = ConfigDict(frozen=True)

    ref: int
    doc_id: str
    chunk_id: str
    title: str = ""
    source: str = ""
    score: float = Field(description="The retriever's score of the passage.")


class GuardOut(BaseModel):
    """One guard's verdict on the message (input) or the answer (output), without text."""

    model_config = ConfigDict(frozen=True)

    stage: Literal["input", "output"]
    blocked: bool = Field(description="The guard refused the text.")
    flagged: bool = Field(description="The guard raised at least one flag.")
    flags: list[str] = Field(default_factory=list)
    score: float | None = Field(None, description="The guard's own score, when it has one.")
    scores: dict[str, float] = Field(default_factory=dict)


class HandoffOut(BaseModel):
    """A person takes over the conversation, for these reasons (guard verdicts, policy)."""

    model_config = ConfigDict(frozen=True)

    reason: list[str]
    escalate: bool = True


class AirlockChat(BaseModel):
    """The `airlock` object beside OpenAI's fields: what the answer rests on."""

    model_config = ConfigDict(frozen=True)

    conversation_id: str = Field(description="Send it back to continue the conversation.")
    citations: list[CitationOut] = Field(default_factory=list)
    guards: dict[str, GuardOut] = Field(
        default_factory=dict, description="Each guard that ran, by name."
    )
    handoff: HandoffOut | None = Field(None, description="Set when a person takes over.")
    engine: str = Field("", description="The engine that answered ('' when none ran).")
    model: str = Field("", description="The model that answered ('' when none ran).")

    @classmethod
    def from_turn(cls, turn: ChatTurn) -> AirlockChat:
        """The extension object of one turn."""
        return cls(
            conversation_id=turn.conversation_id,
            citations=[CitationOut.model_validate(c.model_dump()) for c in turn.citations],
            guards={
                **{g.guard: _guard(g, "input") for g in turn.input_guards},
                **{g.guard: _guard(g, "output") for g in turn.output_guards},
            },
            handoff=(
                HandoffOut(reason=list(turn.handoff.reasons), escalate=turn.handoff.escalate)
                if turn.handoff is not None
                else None
            ),
            engine=turn.engine,
            model=turn.model,
        )


def _guard(summary: GuardSummary, stage: Literal["input", "output"]) -> GuardOut:
    return GuardOut(
        stage=stage,
        blocked=not summary.allowed,
        flagged=bool(summary.flags),
        flags=list(summary.flags),
        score=summary.scores.get(summary.guard),
        scores=dict(summary.scores),
    )
