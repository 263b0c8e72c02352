"""OpenAIEngine against real HTTP servers on loopback: streaming, retries, timeouts, breaker."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from starlette.responses import Response

from airlock.settings import EngineSettings
from serving.breaker import CircuitBreaker
from serving.errors import (
    BadChatRequestError,
    EngineUnavailableError,
    UnknownModelError,
)
from serving.extractive import ExtractiveEngine
from serving.openai_engine import OpenAIEngine
from serving.prompt import render_passages
from serving.server import create_server_app
from serving.types import ChatRequest, ChatResult
from tests.serving.standin import (
    ANSWER_WORDS,
    MODEL,
    PASSAGES,
    QUESTION,
    QUESTION_TEXT,
    FakeClock,
    PathRecorder,
    StandIn,
    always_fails,
    answers,
    engine_settings,
    error_event_after_token,
    expected_extractive_answer,
    fails_first,
    hang_before_headers,
    malformed_event,
    requires_bearer,
    run_calls,
    run_request,
    run_stream,
    sample,
    serve,
    stream_answer,
    token_then_drop,
    token_then_hang,
)

# --- against our own OpenAI-compatible server ---------------------------------------------------


def test_stream_yields_text_then_final_chunk_with_usage_from_our_server(live_server):
    app = create_server_app(ExtractiveEngine(), "extractive")
    with live_server(app) as url:
        chunks, error = run_stream(engine_settings(f"{url}/v1", name="cpu", model="extractive"))

    assert error is None
    *texts, last = chunks
    assert len(texts) > 1
    assert all(chunk.text and chunk.finish_reason is None for chunk in texts)
    assert "".join(chunk.text for chunk in texts) == expected_extractive_answer()
    assert last.finish_reason == "stop"
    assert last.usage is not None
    assert last.usage.prompt_tokens > 0
    assert last.usage.completion_tokens > 0
    assert {chunk.engine for chunk in chunks} == {"cpu"}
    assert last.model == "extractive"


def test_raw_prompt_goes_to_completions_endpoint(live_server):
    recorder = PathRecorder(create_server_app(ExtractiveEngine(), "extractive"))
    request = ChatRequest(prompt=f"{render_passages(PASSAGES)}\n{QUESTION_TEXT}", max_tokens=64)
    with live_server(recorder) as url:
        result = run_request(engine_settings(f"{url}/v1", model="extractive"), request)

    assert recorder.paths == ["/v1/completions"]
    assert result.text == expected_extractive_answer()
    assert result.usage.prompt_tokens > 0
    assert result.usage.completion_tokens > 0


def test_health_is_ok_when_endpoint_serves_the_model(live_server, refused_url):
    async def check(config: EngineSettings) -> bool:
        engine = OpenAIEngine(config)
        try:
            return (await engine.health()).ok
        finally:
            await engine.aclose()

    with live_server(create_server_app(ExtractiveEngine(), "extractive")) as url:
        assert asyncio.run(check(engine_settings(f"{url}/v1", model="extractive")))
        assert not asyncio.run(check(engine_settings(f"{url}/v1", model="other-model")))
    assert not asyncio.run(check(engine_settings(refused_url)))


# --- request body and authentication ------------------------------------------------------------


def test_request_body_carries_sampling_parameters_and_asks_for_usage(live_server):
    stand_in = StandIn(answers)
    request = ChatRequest(
        messages=QUESTION.messages, max_tokens=42, stop=("\n\n", "END"), seed=7, temperature=0.3
    )
    with serve(live_server, stand_in) as url:
        run_request(engine_settings(url), request)

    [received] = stand_in.received
    assert received.path == "/v1/chat/completions"
    assert received.body["model"] == MODEL
    assert received.body["stream"] is True
    assert received.body["stream_options"] == {"include_usage": True}
    assert received.body["seed"] == 7
    assert received.body["stop"] == ["\n\n", "END"]
    assert received.body["max_tokens"] == 42
    assert received.body["temperature"] == 0.3
    assert received.body["messages"] == [m.model_dump() for m in QUESTION.messages]


def test_stream_reports_usage_and_length_finish_from_endpoint(live_server):
    async def cut_short(stand_in: StandIn, attempt: int) -> Response:
        return stream_answer(finish="length")

    with serve(live_server, StandIn(cut_short)) as url:
        result = run_request(engine_settings(url))

    assert result.text == "".join(ANSWER_WORDS)
    assert result.finish_reason == "length"
    assert (result.usage.prompt_tokens, result.usage.completion_tokens) == (11, len(ANSWER_WORDS))
    assert (result.engine, result.model) == ("primary", MODEL)


def test_bearer_token_is_sent_when_api_key_is_set(live_server):
    stand_in = StandIn(requires_bearer)
    with serve(live_server, stand_in) as url:
        result = run_request(engine_settings(url, api_key="s3cret"))

    assert result.text == "".join(ANSWER_WORDS)
    assert [r.authorization for r in stand_in.received] == ["Bearer s3cret"]


def test_missing_api_key_fails_unavailable_without_retry_when_endpoint_requires_one(live_server):
    stand_in = StandIn(requires_bearer)
    with serve(live_server, stand_in) as url, pytest.raises(EngineUnavailableError) as caught:
        run_request(engine_settings(url))

    assert caught.value.reason == "http_status"
    assert "HTTP 401" in caught.value.message
    assert "invalid API key" in caught.value.message
    assert "api_key" in caught.value.remedy
    assert [r.authorization for r in stand_in.received] == [None]


# --- retries before the first token -------------------------------------------------------------


def test_request_succeeds_after_retries_when_endpoint_is_briefly_unavailable(live_server):
    stand_in = StandIn(fails_first(2, 503))
    retries_before = sample("airlock_serving_retries_total", engine="busy-twice", reason="HTTP 503")
    with serve(live_server, stand_in) as url:
        result = run_request(engine_settings(url, name="busy-twice"))

    assert result.text == "".join(ANSWER_WORDS)
    assert stand_in.attempts == 3
    retries = sample("airlock_serving_retries_total", engine="busy-twice", reason="HTTP 503")
    assert retries == retries_before + 2


def test_request_succeeds_after_retry_when_endpoint_rate_limits_with_retry_after(live_server):
    stand_in = StandIn(fails_first(1, 429, headers={"Retry-After": "0"}))
    with serve(live_server, stand_in) as url:
        result = run_request(engine_settings(url))

    assert result.text == "".join(ANSWER_WORDS)
    assert stand_in.attempts == 2


def test_engine_is_unavailable_after_all_retries_when_endpoint_always_fails(live_server):
    stand_in = StandIn(always_fails(500, "CUDA out of memory", "InternalServerError"))
    with serve(live_server, stand_in) as url, pytest.raises(EngineUnavailableError) as caught:
        run_request(engine_settings(url, max_retries=2))

    assert stand_in.attempts == 3
    assert caught.value.reason == "http_status"
    assert "failed after 3 attempts" in caught.value.message
    assert "HTTP 500: CUDA out of memory" in caught.value.message


def test_engine_is_unavailable_after_retries_when_connection_is_refused(refused_url):
    before = sample("airlock_serving_retries_total", engine="refused", reason="connection")
    with pytest.raises(EngineUnavailableError) as caught:
        run_request(engine_settings(refused_url, name="refused", max_retries=2))

    assert caught.value.reason == "connection"
    assert "failed after 3 attempts" in caught.value.message
    after = sample("airlock_serving_retries_total", engine="refused", reason="connection")
    assert after == before + 2


# --- errors that no retry helps -----------------------------------------------------------------


def test_bad_request_carries_vllm_message_without_retry(live_server):
    message = "This model's maximum context length is 4096 tokens. However, you requested 9000."
    stand_in = StandIn(always_fails(400, message, "BadRequestError"))
    with serve(live_server, stand_in) as url, pytest.raises(BadChatRequestError) as caught:
        run_request(engine_settings(url))

    assert message in caught.value.message
    assert stand_in.attempts == 1


def test_unknown_model_error_when_endpoint_answers_404(live_server):
    message = "The model `stand-in-model` does not exist."
    stand_in = StandIn(always_fails(404, message, "NotFoundError"))
    with serve(live_server, stand_in) as url, pytest.raises(UnknownModelError) as caught:
        run_request(engine_settings(url))

    assert message in caught.value.message
    assert stand_in.attempts == 1


# --- timeouts and broken streams ----------------------------------------------------------------


def test_timeout_after_first_token_fails_without_retry(live_server):
    stand_in = StandIn(token_then_hang)
    with serve(live_server, stand_in) as url:
        chunks, error = run_stream(engine_settings(url, read_timeout_s=0.5))

    assert [chunk.text for chunk in chunks] == ["Partial"]
    assert isinstance(error, EngineUnavailableError)
    assert error.reason == "timeout"
    assert stand_in.attempts == 1


def test_timeout_when_endpoint_sends_no_headers_within_read_timeout(live_server):
    stand_in = StandIn(hang_before_headers)
    with serve(live_server, stand_in) as url:
        chunks, error = run_stream(engine_settings(url, read_timeout_s=0.5))

    assert chunks == []
    assert isinstance(error, EngineUnavailableError)
    assert error.reason == "timeout"
    assert "timed out" in error.message


def test_connection_drop_after_first_token_fails_without_retry(live_server):
    stand_in = StandIn(token_then_drop)
    with serve(live_server, stand_in) as url:
        chunks, error = run_stream(engine_settings(url, max_retries=2))

    assert [chunk.text for chunk in chunks] == ["Partial"]
    assert isinstance(error, EngineUnavailableError)
    assert error.reason == "broken"
    assert stand_in.attempts == 1


def test_error_event_after_first_token_breaks_the_stream(live_server):
    stand_in = StandIn(error_event_after_token)
    with serve(live_server, stand_in) as url:
        chunks, error = run_stream(engine_settings(url))

    assert [chunk.text for chunk in chunks] == ["Partial"]
    assert isinstance(error, EngineUnavailableError)
    assert error.reason == "broken"
    assert stand_in.attempts == 1


def test_malformed_event_makes_engine_unavailable(live_server):
    with serve(live_server, StandIn(malformed_event)) as url:
        chunks, error = run_stream(engine_settings(url))
    assert chunks == []
    assert isinstance(error, EngineUnavailableError) and error.reason == "broken"


# --- the circuit breaker inside the engine ------------------------------------------------------


def test_breaker_opens_after_repeated_failures_when_endpoint_is_refused(refused_url):
    engine = OpenAIEngine(
        engine_settings(refused_url, name="flaky", max_retries=0, breaker_failures=2)
    )
    first, second, third = run_calls(engine, 3)

    assert isinstance(first, EngineUnavailableError)
    assert isinstance(second, EngineUnavailableError)
    assert (first.reason, second.reason) == ("connection", "connection")
    assert isinstance(third, EngineUnavailableError)
    assert third.reason == "breaker_open"
    assert "'flaky'" in third.message
    assert "circuit breaker open" in third.message


def test_open_breaker_sends_no_request_to_failing_endpoint(live_server):
    stand_in = StandIn(always_fails(500, "down", "InternalServerError"))
    with serve(live_server, stand_in) as url:
        engine = OpenAIEngine(engine_settings(url, max_retries=0, breaker_failures=2))
        outcomes = run_calls(engine, 3)

    reasons = [getattr(outcome, "reason", None) for outcome in outcomes]
    assert reasons == ["http_status", "http_status", "breaker_open"]
    assert stand_in.attempts == 2


def test_breaker_trial_reaches_endpoint_and_closes_when_it_recovers(live_server):
    stand_in = StandIn(fails_first(2, 503))
    clock = FakeClock()

    advances = (0.0, 0.0, 0.0, 30.0)

    with serve(live_server, stand_in) as url:
        engine = OpenAIEngine(engine_settings(url, max_retries=0, breaker_failures=2))
        engine.breaker = CircuitBreaker(2, 30.0, clock=clock)
        outcomes: list[Any] = run_calls(engine, 4, lambda i: clock.advance(advances[i]))
        first, second, paused, trial = outcomes

    assert [first.reason, second.reason, paused.reason] == [
        "http_status",
        "http_status",
        "breaker_open",
    ]
    assert isinstance(trial, ChatResult)
    assert trial.text == "".join(ANSWER_WORDS)
    assert stand_in.attempts == 3
    assert engine.breaker.state == "closed"


# --- CircuitBreaker on its own, with a fake clock -----------------------------------------------
