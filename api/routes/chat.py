"""OpenAI-compatible chat with the support assistant: grounded answers, guards, memory, handoff.

Conversations: an answer returns its conversation id in `airlock.conversation_id` and the
`X-Conversation-Id` header; send it back in `metadata.conversation_id` (the OpenAI SDK's
`metadata=`) or the `X-Conversation-Id` header to continue. Only ids this API issued are
accepted: another tenant's or subject's id, or an unknown one, is 404. The data subject is the
request's `user` (OpenAI's end-user id, for a widget serving many customers) or else the
token's subject. Only the last message is answered; earlier turns come from the store
(redacted), not from the request.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from airlock.settings import AirlockSettings
from api.auth.principal import Principal
from api.deps import ChatUser, State
from api.errors import ApiError, NotFoundError, OpenAIError
from api.schemas.chat import CONVERSATION_ID_PATTERN, AirlockChat, ChatCompletionIn
from api.state import ApiState
from audit.events import AuditEvent
from helpdesk.chat import ChatAssistant, ChatTurn, ConversationNotFoundError, ConversationStore
from serving.openai_protocol import DONE, ResponseWriter

router = APIRouter(prefix="/v1/chat", tags=["chat"])

ASSISTANT_MODEL = "airlock"
CONVERSATION_HEADER = "X-Conversation-Id"
_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": OpenAIError} for status in (400, 401, 403, 404, 413, 422, 429, 503, 504)
}
_OK: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "chat.completion with an `airlock` object, or with stream=true "
        "server-sent chat.completion.chunk events (the last one with `airlock`), then [DONE].",
        "content": {"text/event-stream": {}},
    }
}


@router.post(
    "/completions",
    responses={**_OK, **_ERRORS},
    summary="Ask the support assistant (OpenAI chat completions)",
)
async def create_chat_completion(
    *,
    request: Request,
    body: ChatCompletionIn,
    principal: ChatUser,
    state: State,
    x_conversation_id: Annotated[
        str | None, Header(pattern=CONVERSATION_ID_PATTERN, description="Conversation to continue.")
    ] = None,
) -> Response:
    """Answer the last user message from the tenant's knowledge base, or hand it to a person.

    The answer is released (streamed or not) only after the output guards checked all of it.
    """
    settings = state.parts.settings
    check_model(body.model, settings)
    assistant = get_assistant(request, state)
    try:
        turn = await assistant.respond(
            tenant=principal.tenant,
            subject_id=body.user or principal.subject,
            conversation_id=pick_conversation_id(body, x_conversation_id),
            messages=[message.to_message() for message in body.messages],
            max_tokens=body.max_completion_tokens or body.max_tokens,
            temperature=body.temperature,
            stop=body.get_stops(),
        )
    except ConversationNotFoundError as exc:
        raise NotFoundError(exc.message, remedy=exc.remedy) from None
    request_id = getattr(request.state, "request_id", None)
    await asyncio.to_thread(state.parts.audit.append, chat_event(turn, principal, request_id))
    writer = ResponseWriter(body.model, chat=True)
    extension = AirlockChat.from_turn(turn).model_dump(mode="json")
    headers = {CONVERSATION_HEADER: turn.conversation_id}
    if turn.engine:
        headers["X-Airlock-Engine"] = turn.engine
    if body.stream:
        events = stream_events(writer, turn, extension, with_usage=body.wants_usage())
        return StreamingResponse(events, media_type="text/event-stream", headers=headers)
    content = writer.full(turn.text, turn.finish_reason, turn.usage) | {"airlock": extension}
    return JSONResponse(content, headers=headers)


def check_model(model: str, settings: AirlockSettings) -> None:
    """404 (OpenAI's shape) unless `model` is the assistant or a configured engine or model."""
    engines = settings.serving.engines
    accepted = list(dict.fromkeys([ASSISTANT_MODEL, *(e.name for e in engines)]))
    accepted += [e.model for e in engines if e.model and e.model not in accepted]
    if model not in accepted:
        raise NotFoundError(
            f"The model `{model}` does not exist. This endpoint serves: {', '.join(accepted)}",
            remedy=f"use model {ASSISTANT_MODEL!r} (the support assistant)",
        )


def pick_conversation_id(body: ChatCompletionIn, header: str | None) -> str | None:
    """The conversation to continue: `metadata.conversation_id` or the header (must agree)."""
    given = body.get_conversation_id()
    if given is not None and header is not None and given != header:
        raise ApiError(
            "metadata.conversation_id and the X-Conversation-Id header differ",
            remedy="send the conversation id once, in either place",
        )
    return given or header


def get_assistant(request: Request, state: ApiState) -> ChatAssistant:
    """The app's assistant over the running desk's parts, built on first use.

    api/app.py builds no chat part, so it is kept on `app.state` beside the `ApiState` it was
    built from; a new lifespan (a new `ApiState`) builds a new one.
    """
    cached: tuple[ApiState, ChatAssistant] | None = getattr(
        request.app.state, "chat_assistant", None
    )
    if cached is None or cached[0] is not state:
        parts = state.parts
        assistant = ChatAssistant(
            parts.desk.pipeline.parts,
            ConversationStore(parts.engine),
            parts.settings.api.chat_history_turns,
        )
        cached = (state, assistant)
        request.app.state.chat_assistant = cached
    return cached[1]


def chat_event(turn: ChatTurn, principal: Principal, request_id: str | None) -> AuditEvent:
    """`chat.answered` or `chat.handoff`: ids, flags, reasons and citations, never text."""
    return AuditEvent(
        "chat.handoff" if turn.handoff is not None else "chat.answered",
        actor=principal.get_actor(),
        roles=principal.get_roles(),
        tenant=principal.tenant,
        resource_type="conversation",
        resource_id=turn.conversation_id,
        request_id=request_id,
        details={
            "reasons": list(turn.handoff.reasons) if turn.handoff is not None else [],
            "citations": [c.chunk_id for c in turn.citations],
            "flags": sorted(
                {f for g in (*turn.input_guards, *turn.output_guards) for f in g.flags}
            ),
            "engine": turn.engine,
            "model": turn.model,
        },
    )


async def stream_events(
    writer: ResponseWriter, turn: ChatTurn, extension: dict[str, Any], *, with_usage: bool
) -> AsyncIterator[str]:
    """The turn as chat.completion.chunk events: deltas, the finish with `airlock`, [DONE]."""
    for index, piece in enumerate(turn.pieces or ("",)):
        yield writer.chunk(piece, None, first=index == 0)
    yield with_extension(writer.chunk("", turn.finish_reason), extension)
    if with_usage:
        yield writer.usage_chunk(turn.usage)
    yield DONE


def with_extension(event: str, extension: dict[str, Any]) -> str:
    """A server-sent event of the writer with the `airlock` object added to its data."""
    data = json.loads(event.removeprefix("data: "))
    return f"data: {json.dumps(data | {'airlock': extension}, separators=(',', ':'))}\n\n"
