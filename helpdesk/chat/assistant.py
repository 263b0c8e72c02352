"""The chat assistant: a guarded, grounded answer to each user message, or a handoff to a person.

One turn runs the ticket pipeline's stages over the last user message: input guards (PII
redaction, injection) for the tenant, retrieval in the tenant's scope, a prompt of policy,
passages, earlier turns (redacted, from the store) and the redacted question, the engine chain,
and the output guards (grounding, PII leak, injection echo). When a guard refuses, the tenant's
escalation policy finds a blocking flag, nothing is retrieved, grounding is below the policy's
floor or no engine answers, the reply is a handoff that names those reasons instead.

Streaming releases the answer only after the output guards have checked all of it: a guard
must see the whole answer before any of it reaches the customer.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field, replace

from guardrails.pipeline import PipelineVerdict
from guardrails.types import GuardContext
from helpdesk.chat.memory import ConversationStore, Role, new_conversation_id
from helpdesk.drafting import cite, clean_text, draft_messages
from helpdesk.errors import HelpdeskError
from helpdesk.pipeline import PipelineParts
from helpdesk.policy import TenantPolicy
from helpdesk.policy.decision import grounding_gaps
from helpdesk.record import Citation, GuardSummary, summarize_guards
from rag.types import AccessScope, Passage
from serving.errors import ServingError
from serving.types import ChatChunk, ChatMessage, ChatRequest, FinishReason, Usage

log = logging.getLogger(__name__)

HANDOFF_TEXT = (
    "I can't answer this reliably, so I'm handing this conversation to a human support agent, "
    "who will take over from here."
)
# What the store keeps of a message the input guards refused: never fed back to the model.
WITHHELD = "[message withheld: the input guards refused it]"


class ChatRequestError(HelpdeskError):
    """A chat request cannot be answered as sent (no user message last, or an empty one)."""


@dataclass(frozen=True)
class Handoff:
    """A person takes over; every reason comes from a guard verdict or the tenant's policy."""

    reasons: tuple[str, ...]
    escalate: bool = True


@dataclass(frozen=True)
class ChatTurn:
    """The assistant's reply to one user message, with what it rests on (no customer text)."""

    conversation_id: str
    text: str
    pieces: tuple[str, ...]  # the reply as it streams: "".join(pieces) == text
    finish_reason: FinishReason = "stop"
    usage: Usage = field(default_factory=Usage)
    citations: tuple[Citation, ...] = ()
    input_guards: tuple[GuardSummary, ...] = ()
    output_guards: tuple[GuardSummary, ...] = ()
    handoff: Handoff | None = None
    engine: str = ""
    model: str = ""
    failovers: tuple[str, ...] = ()


class ChatAssistant:
    """Answers chat messages from the tenant's knowledge base and remembers redacted turns."""

    def __init__(self, parts: PipelineParts, store: ConversationStore, history_turns: int) -> None:
        self.parts = parts
        self.store = store
        self.history_turns = history_turns

    async def respond(
        self,
        *,
        tenant: str,
        subject_id: str,
        conversation_id: str | None,
        messages: Sequence[ChatMessage],
        max_tokens: int | None = None,
        temperature: float = 0.0,
        stop: tuple[str, ...] = (),
    ) -> ChatTurn:
        """Answer the last user message (a new conversation when `conversation_id` is None)."""
        text = get_last_question(messages)
        history: list[tuple[Role, str]] = []
        if conversation_id is None:
            conversation_id = new_conversation_id()
        else:
            await asyncio.to_thread(self.store.check, tenant, subject_id, conversation_id)
            history = await asyncio.to_thread(
                self.store.history, tenant, conversation_id, self.history_turns
            )
        template = ChatRequest(
            max_tokens=max_tokens or self.parts.settings.max_draft_tokens,
            temperature=temperature,
            stop=stop,
        )
        context = GuardContext(tenant=tenant, subject_id=subject_id)
        turn, remembered = await self._turn(context, text, history, template)
        await asyncio.to_thread(
            self.store.append_many,
            conversation_id,
            tenant,
            subject_id,
            [("user", remembered), ("assistant", turn.text)],
        )
        ids = {"tenant": tenant, "conversation_id": conversation_id}
        log.info("chat turn", extra={**ids, "handoff": turn.handoff is not None})
        return replace(turn, conversation_id=conversation_id)

    async def stream(
        self,
        *,
        tenant: str,
        subject_id: str,
        conversation_id: str | None,
        messages: Sequence[ChatMessage],
        max_tokens: int | None = None,
        temperature: float = 0.0,
    ) -> AsyncIterator[str | ChatTurn]:
        """The checked reply's text deltas, then the whole turn (released after the guards)."""
        turn = await self.respond(
            tenant=tenant,
            subject_id=subject_id,
            conversation_id=conversation_id,
            messages=messages,
            max_tokens=max_tokens,
            temperature=temperature,
        )
        for piece in turn.pieces:
            yield piece
        yield turn

    async def _turn(
        self,
        context: GuardContext,
        text: str,
        history: list[tuple[Role, str]],
        template: ChatRequest,
    ) -> tuple[ChatTurn, str]:
        """The reply, and the user text to remember: redacted, or withheld when refused."""
        policy = self.parts.escalation.for_tenant(context.tenant)
        limit = self.parts.settings.max_auto_chars
        if len(text) > limit:
            why = f"message has {len(text)} characters, more than helpdesk.max_auto_chars ({limit})"
            return handoff_turn([why]), WITHHELD
        checked = await self.parts.guards.check_input(text, context)
        redacted = checked.redacted if checked.redacted is not None else text
        inputs = summarize_guards(checked)
        refused = guard_reasons("input", checked, policy)
        if refused:
            return handoff_turn(refused, input_guards=inputs), WITHHELD
        language = get_detected_language(checked)
        phrase = policy.human_phrase(redacted, language)
        if phrase:
            return handoff_turn([f"asked for a person ({phrase!r})"], input_guards=inputs), redacted
        passages = await self.parts.retriever.retrieve(
            redacted, top_k=self.parts.settings.top_k, scope=AccessScope(tenant=context.tenant)
        )
        gaps = retrieval_gaps(passages, policy)
        if gaps:
            return handoff_turn(gaps, input_guards=inputs), redacted
        prompt = build_chat_messages(redacted, passages, language, history)
        turn = await self._draft(
            context, redacted, passages, template.model_copy(update={"messages": prompt})
        )
        return replace(turn, input_guards=inputs), redacted

    async def _draft(
        self, context: GuardContext, redacted: str, passages: list[Passage], request: ChatRequest
    ) -> ChatTurn:
        """Generate, check the answer with the output guards; a handoff when they object."""
        try:
            pieces, last = await collect(self.parts.chat.stream_chat(request))
        except ServingError as exc:
            log.warning("no engine answered a chat turn", extra={"error": type(exc).__name__})
            return handoff_turn([f"no engine answered: {exc.message}"])
        answer = "".join(pieces)
        against = context.model_copy(
            update={
                "ticket_text": redacted,
                "question": redacted,
                "passages": tuple(p.text for p in passages),
            }
        )
        output = await self.parts.guards.check_output(answer, against)
        policy = self.parts.escalation.for_tenant(context.tenant)
        reasons = [
            *guard_reasons("output", output, policy),
            *grounding_gaps(output, policy, what="answer"),
        ]
        found = ChatTurn(
            conversation_id="",
            text=answer,
            pieces=tuple(pieces),
            finish_reason=last.finish_reason or "stop",
            usage=last.usage or Usage(),
            citations=cite(answer, passages),
            output_guards=summarize_guards(output),
            engine=last.engine,
            model=last.model,
            failovers=last.failovers,
        )
        if not reasons:
            return found
        handed = handoff_turn(reasons)
        return replace(found, text=handed.text, pieces=handed.pieces, handoff=handed.handoff)


def get_last_question(messages: Sequence[ChatMessage]) -> str:
    """The last message's text, cleaned of control characters; it must be the user's."""
    if not messages or messages[-1].role != "user":
        raise ChatRequestError(
            "the last message must be the user's",
            remedy="end `messages` with the customer's question (role user)",
        )
    text = clean_text(messages[-1].content).text
    if not text:
        raise ChatRequestError("the last user message is empty", remedy="send the question")
    return text


def get_detected_language(checked: PipelineVerdict) -> str:
    """The language guard's label, or '' when it did not run or could not tell."""
    verdict = checked.get("language")
    return verdict.labels.get("language", "") if verdict is not None else ""


def build_chat_messages(
    redacted: str,
    passages: Sequence[Passage],
    language: str,
    history: Sequence[tuple[Role, str]],
) -> tuple[ChatMessage, ...]:
    """Policy and passages, earlier turns (redacted), then the redacted question."""
    system, question = draft_messages(redacted, passages, language)
    earlier = [
        ChatMessage(role=role, content=content) for role, content in history if content != WITHHELD
    ]
    return (system, *earlier, question)


def guard_reasons(stage: str, verdict: PipelineVerdict, policy: TenantPolicy) -> list[str]:
    """A reason when a guard refused the text or raised one of the policy's blocking flags."""
    flags = tuple(
        dict.fromkeys(
            flag
            for one in verdict.verdicts
            for flag in one.flags
            if not one.allowed or flag in policy.blocking_flags
        )
    )
    if not flags and verdict.allowed:
        return []
    return [f"guardrail flags on {stage} ({', '.join(flags) or 'not allowed'})"]


def retrieval_gaps(passages: Sequence[Passage], policy: TenantPolicy) -> list[str]:
    """Why retrieval gives nothing to answer from (empty: passages are good enough)."""
    if not passages:
        return ["nothing retrieved from the knowledge base"]
    best, floor = passages[0].score, policy.min_passage_score
    if best < floor:
        return [f"best passage score {best:.3f} below {floor:.3f}"]
    return []


def handoff_turn(
    reasons: Sequence[str], *, input_guards: tuple[GuardSummary, ...] = ()
) -> ChatTurn:
    """The handoff reply: a person takes over, for these reasons."""
    return ChatTurn(
        conversation_id="",
        text=HANDOFF_TEXT,
        pieces=tuple(re.findall(r"\S+\s*", HANDOFF_TEXT)),
        input_guards=input_guards,
        handoff=Handoff(tuple(reasons)),
    )


async def collect(stream: AsyncIterator[ChatChunk]) -> tuple[list[str], ChatChunk]:
    """The non-empty text pieces of a stream and its last chunk (finish reason, usage)."""
    pieces: list[str] = []
    last = ChatChunk()
    async for chunk in stream:
        if chunk.text:
            pieces.append(chunk.text)
        last = chunk
    return pieces, last
