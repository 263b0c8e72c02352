"""The failover chain: when an engine is down or slow before its first token, the next answers."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import httpx
import pytest

from serving.errors import AllEnginesDownError, BadChatRequestError, EngineUnavailableError
from serving.extractive import ExtractiveEngine
from serving.failover import FailoverChain
from serving.openai_engine import OpenAIEngine
from serving.server import create_server_app
from serving.types import ChatChunk, ChatModel, ChatResult, generate
from tests.serving.standin import (
    QUESTION,
    QUESTION_TEXT,
    StandIn,
    always_fails,
    collect,
    engine_settings,
    expected_extractive_answer,
    hang_before_headers,
    malformed_event,
    sample,
    serve,
    token_then_hang,
)


async def close_engines(engines: Sequence[ChatModel]) -> None:
    """Close the connection pools of the OpenAI engines among `engines`."""
    for engine in engines:
        if isinstance(engine, OpenAIEngine):
            await engine.aclose()


def run_chain(engines: Sequence[ChatModel], retry_after_s: int = 5) -> ChatResult:
    """Run QUESTION to completion through a chain of `engines` (raises the chain's error)."""

    async def scenario() -> ChatResult:
        try:
            return await generate(FailoverChain(engines, retry_after_s), QUESTION)
        finally:
            await close_engines(engines)

    return asyncio.run(scenario())


def stream_chain(engines: Sequence[ChatModel]) -> tuple[list[ChatChunk], Any]:
    """Stream QUESTION through a chain of `engines`: chunks and the error that ended it."""

    async def scenario() -> tuple[list[ChatChunk], Any]:
        try:
            return await collect(FailoverChain(engines), QUESTION)
        finally:
            await close_engines(engines)

    return asyncio.run(scenario())


def failovers(from_engine: str, to_engine: str, reason: str) -> float:
    """The failover counter for one engine pair and reason."""
    return sample(
        "airlock_serving_failovers_total",
        from_engine=from_engine,
        to_engine=to_engine,
        reason=reason,
    )


def chat_body() -> dict[str, Any]:
    """An OpenAI chat completion request for our server."""
    return {
        "model": "extractive",
        "messages": [m.model_dump() for m in QUESTION.messages],
        "max_tokens": 64,
    }


# --- the Done-means item: primary down, then slow ------------------------------------------------


def test_next_engine_answers_and_is_named_when_primary_is_refused(refused_url):
    primary = OpenAIEngine(engine_settings(refused_url, name="primary"))

    result = run_chain([primary, ExtractiveEngine("fallback")])

    assert result.engine == "fallback"
    assert result.failovers == ("primary",)
    assert result.text == expected_extractive_answer()


def test_next_engine_answers_and_is_named_when_primary_times_out(live_server):
    stand_in = StandIn(hang_before_headers)
    with serve(live_server, stand_in) as url:
        primary = OpenAIEngine(engine_settings(url, name="primary", read_timeout_s=0.5))
        result = run_chain([primary, ExtractiveEngine("fallback")])

    assert result.engine == "fallback"
    assert result.failovers == ("primary",)
    assert result.text == expected_extractive_answer()
    assert stand_in.attempts == 1


def test_second_endpoint_answers_and_failover_is_counted_when_first_is_refused(
    live_server, refused_url
):
    before = failovers("first-endpoint", "second-endpoint", "connection")
    with live_server(create_server_app(ExtractiveEngine(), "extractive")) as url:
        first = OpenAIEngine(engine_settings(refused_url, name="first-endpoint"))
        second = OpenAIEngine(
            engine_settings(f"{url}/v1", name="second-endpoint", model="extractive")
        )
        result = run_chain([first, second])

    assert result.engine == "second-endpoint"
    assert result.model == "extractive"
    assert result.failovers == ("first-endpoint",)
    assert result.text == expected_extractive_answer()
    assert result.usage.completion_tokens > 0
    assert failovers("first-endpoint", "second-endpoint", "connection") == before + 1


def test_failover_reason_is_breaker_open_when_primary_breaker_has_opened(refused_url):
    primary = OpenAIEngine(
        engine_settings(refused_url, name="tripped", max_retries=0, breaker_failures=1)
    )
    engines = [primary, ExtractiveEngine("backup")]
    connection_before = failovers("tripped", "backup", "connection")
    breaker_before = failovers("tripped", "backup", "breaker_open")

    async def scenario() -> list[ChatResult]:
        chain = FailoverChain(engines)
        try:
            return [await generate(chain, QUESTION), await generate(chain, QUESTION)]
        finally:
            await close_engines(engines)

    results = asyncio.run(scenario())

    assert [(r.engine, r.failovers) for r in results] == [("backup", ("tripped",))] * 2
    assert failovers("tripped", "backup", "connection") == connection_before + 1
    assert failovers("tripped", "backup", "breaker_open") == breaker_before + 1


def test_next_engine_answers_when_primary_sends_malformed_stream(live_server):
    with serve(live_server, StandIn(malformed_event)) as url:
        primary = OpenAIEngine(engine_settings(url, name="primary"))
        result = run_chain([primary, ExtractiveEngine("fallback")])

    assert result.engine == "fallback"
    assert result.failovers == ("primary",)


# --- when failing over does not help -------------------------------------------------------------


def test_all_engines_down_error_names_each_engine_when_every_engine_is_refused(refused_url):
    engines = [
        OpenAIEngine(engine_settings(refused_url, name="down-a")),
        OpenAIEngine(engine_settings(refused_url, name="down-b")),
    ]
    before = failovers("down-b", "none", "connection")

    with pytest.raises(AllEnginesDownError) as caught:
        run_chain(engines, retry_after_s=7)

    assert caught.value.retry_after_s == 7
    assert "'down-a'" in caught.value.message
    assert "'down-b'" in caught.value.message
    assert failovers("down-b", "none", "connection") == before + 1


def test_bad_request_propagates_without_failover(live_server):
    stand_in = StandIn(always_fails(400, "temperature must be at most 2", "BadRequestError"))
    before = failovers("strict", "fallback", "http_status")
    with serve(live_server, stand_in) as url, pytest.raises(BadChatRequestError) as caught:
        run_chain([OpenAIEngine(engine_settings(url, name="strict")), ExtractiveEngine("fallback")])

    assert "temperature must be at most 2" in caught.value.message
    assert stand_in.attempts == 1
    assert failovers("strict", "fallback", "http_status") == before


def test_failure_after_first_token_propagates_without_failover(live_server):
    stand_in = StandIn(token_then_hang)
    with serve(live_server, stand_in) as url:
        primary = OpenAIEngine(engine_settings(url, name="primary", read_timeout_s=0.5))
        chunks, error = stream_chain([primary, ExtractiveEngine("fallback")])

    assert [(chunk.engine, chunk.text) for chunk in chunks] == [("primary", "Partial")]
    assert isinstance(error, EngineUnavailableError)
    assert error.reason == "timeout"
    assert stand_in.attempts == 1


# --- over HTTP: our server in front of a chain ---------------------------------------------------


def test_server_names_answering_engine_and_failovers_in_headers(live_server, refused_url):
    primary = OpenAIEngine(engine_settings(refused_url, name="primary"))
    chain = FailoverChain([primary, ExtractiveEngine()])
    with live_server(create_server_app(chain, "extractive")) as url:
        response = httpx.post(
            f"{url}/v1/chat/completions", json=chat_body(), timeout=10, trust_env=False
        )

    assert response.status_code == 200
    assert response.headers["X-Airlock-Engine"] == "extractive"
    assert response.headers["X-Airlock-Failovers"] == "primary"
    answer = response.json()["choices"][0]["message"]["content"]
    assert answer == expected_extractive_answer()


def test_server_answers_503_with_retry_after_when_every_engine_is_down(live_server, refused_url):
    engines = [
        OpenAIEngine(engine_settings(refused_url, name="down-a")),
        OpenAIEngine(engine_settings(refused_url, name="down-b")),
    ]
    chain = FailoverChain(engines, retry_after_s=9)
    with live_server(create_server_app(chain, "extractive")) as url:
        response = httpx.post(
            f"{url}/v1/chat/completions", json=chat_body(), timeout=10, trust_env=False
        )

    assert response.status_code == 503
    assert response.headers["Retry-After"] == "9"
    error = response.json()["error"]
    assert error["type"] == "ServiceUnavailableError"
    assert error["code"] == 503
    assert error["param"] is None
    assert "every engine is down" in error["message"]
    assert "'down-a'" in error["message"]
    assert "'down-b'" in error["message"]
    assert QUESTION_TEXT not in error["message"]
