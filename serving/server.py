"""The CPU OpenAI-compatible server: vLLM's routes, shapes and error bodies over any engine."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response, StreamingResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from airlock.settings import AirlockSettings
from models.registry import build_model_store
from serving.errors import (
    AllEnginesDownError,
    BadChatRequestError,
    EngineUnavailableError,
    ServingError,
    UnknownModelError,
)
from serving.extractive import MODEL_NAME as EXTRACTIVE_MODEL
from serving.extractive import ExtractiveEngine
from serving.failover import FailoverChain
from serving.openai_protocol import (
    DONE,
    ChatCompletionBody,
    CompletionBody,
    ResponseWriter,
    error_body,
)
from serving.transformers_engine import load_transformers_engine
from serving.types import ChatChunk, ChatModel, ChatRequest, Usage

log = logging.getLogger(__name__)

_STATUS = (
    (UnknownModelError, 404, "NotFoundError"),
    (BadChatRequestError, 400, "BadRequestError"),
    (AllEnginesDownError, 503, "ServiceUnavailableError"),
    (EngineUnavailableError, 503, "ServiceUnavailableError"),
)


def _describe(exc: ServingError) -> tuple[int, dict[str, Any]]:
    """HTTP status and OpenAI error body of a serving error."""
    status, kind = 500, "InternalServerError"
    for error_type, code, name in _STATUS:
        if isinstance(exc, error_type):
            status, kind = code, name
            break
    param = exc.param if isinstance(exc, BadChatRequestError) else None
    return status, error_body(exc.message, kind, status, param)


def _error_response(exc: ServingError) -> JSONResponse:
    status, body = _describe(exc)
    headers = {}
    if isinstance(exc, AllEnginesDownError):
        headers["Retry-After"] = str(exc.retry_after_s)
    return JSONResponse(body, status, headers=headers)


def _validation_response(exc: RequestValidationError) -> JSONResponse:
    problems = "; ".join(
        f"{'.'.join(str(p) for p in err.get('loc', ())[1:]) or 'body'}: {err.get('msg')}"
        for err in exc.errors()
    )
    return JSONResponse(error_body(problems, "BadRequestError", 422), 422)


class OpenAIServer:
    """Routes of one served model over one `ChatModel`."""

    def __init__(self, chat_model: ChatModel, model_name: str, max_model_len: int | None) -> None:
        self.chat_model = chat_model
        self.model_name = model_name
        self.max_model_len = max_model_len

    def check_model(self, asked: str) -> None:
        """404 in the OpenAI format for a model this server does not serve."""
        if asked != self.model_name:
            raise UnknownModelError(f"The model `{asked}` does not exist.")

    async def complete(
        self, body: ChatCompletionBody | CompletionBody, request: ChatRequest
    ) -> Response:
        """Run a request; errors before the first token become HTTP statuses."""
        self.check_model(body.model)
        writer = ResponseWriter(self.model_name, chat=isinstance(body, ChatCompletionBody))
        stream = aiter(self.chat_model.stream_chat(request))
        first = await anext(stream)
        headers = {"X-Airlock-Engine": first.engine}
        if first.failovers:
            headers["X-Airlock-Failovers"] = ",".join(first.failovers)
        if body.stream:
            events = _events(writer, first, stream, body.wants_usage())
            return StreamingResponse(events, media_type="text/event-stream", headers=headers)
        parts, last = [first.text], first
        async for chunk in stream:
            parts.append(chunk.text)
            last = chunk
        usage = last.usage or first.usage
        content = writer.full("".join(parts), last.finish_reason or "stop", usage or Usage())
        return JSONResponse(content, headers=headers)

    def list_models(self) -> dict[str, Any]:
        """GET /v1/models."""
        card = {
            "id": self.model_name,
            "object": "model",
            "created": 0,
            "owned_by": "airlock",
            "root": self.model_name,
            "max_model_len": self.max_model_len,
        }
        return {"object": "list", "data": [card]}


async def _events(
    writer: ResponseWriter, first: ChatChunk, rest: AsyncIterator[ChatChunk], with_usage: bool
) -> AsyncIterator[str]:
    yield writer.from_chunk(first, first=True)
    last = first
    try:
        async for chunk in rest:
            yield writer.from_chunk(chunk, first=False)
            last = chunk
    except ServingError as exc:  # after output the status is sent: report in the stream
        log.warning("stream failed after output", extra={"error": type(exc).__name__})
        yield f"data: {json.dumps(_describe(exc)[1])}\n\n"
    if with_usage and last.usage is not None:
        yield writer.usage_chunk(last.usage)
    yield DONE


def create_server_app(
    chat_model: ChatModel, model_name: str, max_model_len: int | None = None
) -> FastAPI:
    """The FastAPI app serving one model name over `chat_model`."""
    server = OpenAIServer(chat_model, model_name, max_model_len)
    app = FastAPI(title="Airlock OpenAI-compatible server", docs_url=None, redoc_url=None)

    @app.exception_handler(ServingError)
    async def _serving_error(_: Request, exc: ServingError) -> JSONResponse:
        return _error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        return _validation_response(exc)

    @app.post("/v1/chat/completions")
    async def chat_completions(body: ChatCompletionBody) -> Response:
        return await server.complete(body, body.to_request())

    @app.post("/v1/completions")
    async def completions(body: CompletionBody) -> Response:
        try:
            request = body.to_request()
        except ValueError as exc:
            raise BadChatRequestError(str(exc), param="prompt") from None
        return await server.complete(body, request)

    @app.get("/v1/models")
    async def models() -> dict[str, Any]:
        return server.list_models()

    @app.get("/health")
    async def health() -> Response:
        state = await chat_model.health()
        return Response(status_code=200 if state.ok else 503)

    @app.get("/metrics")
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return app


def build_server_app(settings: AirlockSettings, engine: str, model_id: str) -> FastAPI:
    """The server app for `airlock serving up`: one engine, one served model name."""
    retry_after = settings.serving.retry_after_s
    if engine == "extractive":
        chain = FailoverChain([ExtractiveEngine()], retry_after)  # a chain of one: metrics
        return create_server_app(chain, model_id or EXTRACTIVE_MODEL)
    store = build_model_store(settings)
    loaded = load_transformers_engine(
        "transformers", store, model_id, threads=settings.models.cpu_threads
    )
    chain = FailoverChain([loaded], retry_after)
    return create_server_app(chain, model_id, loaded.context_length)
