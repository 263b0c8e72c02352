"""The CPU OpenAI-compatible server answers real clients: `openai` and LlamaIndex OpenAILike."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import openai
import pytest
from llama_index.core.llms import ChatMessage as LlamaMessage
from llama_index.llms.openai_like import OpenAILike

from serving.extractive import ExtractiveEngine
from serving.failover import FailoverChain
from serving.server import create_server_app
from serving.transformers_engine import TransformersEngine
from tests.serving.conftest import TINY_ID

ASK = [{"role": "user", "content": "My invoice shows the wrong address."}]


@pytest.fixture
def tiny_url(tiny_engine: TransformersEngine, live_server: Callable[[Any], Any]) -> Iterator[str]:
    app = create_server_app(FailoverChain([tiny_engine]), TINY_ID, tiny_engine.context_length)
    with live_server(app) as url:
        yield url


@pytest.fixture
def client(tiny_url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{tiny_url}/v1", api_key="unused", max_retries=0)


def test_openai_client_gets_a_chat_completion(client: openai.OpenAI) -> None:
    reply = client.chat.completions.create(model=TINY_ID, messages=ASK, max_tokens=8, seed=3)
    assert reply.object == "chat.completion" and reply.model == TINY_ID
    assert reply.choices[0].message.role == "assistant"
    assert reply.choices[0].finish_reason in ("stop", "length")
    assert reply.usage is not None and 1 <= reply.usage.completion_tokens <= 8
    assert reply.usage.total_tokens == reply.usage.prompt_tokens + reply.usage.completion_tokens


def test_openai_client_streams_the_same_text_as_non_streaming(client: openai.OpenAI) -> None:
    whole = client.chat.completions.create(
        model=TINY_ID, messages=ASK, max_tokens=12, temperature=0
    )
    stream = client.chat.completions.create(
        model=TINY_ID,
        messages=ASK,
        max_tokens=12,
        temperature=0,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == whole.choices[0].message.content
    assert chunks[0].choices[0].delta.role == "assistant"
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] in ("stop", "length")
    assert chunks[-1].choices == [] and chunks[-1].usage == whole.usage


def test_openai_client_gets_a_text_completion(client: openai.OpenAI) -> None:
    reply = client.completions.create(model=TINY_ID, prompt="Reset my password", max_tokens=5)
    assert reply.object == "text_completion" and isinstance(reply.choices[0].text, str)
    assert reply.usage is not None and reply.usage.completion_tokens <= 5


def test_openai_client_lists_the_served_model(client: openai.OpenAI) -> None:
    assert [m.id for m in client.models.list()] == [TINY_ID]


def test_unknown_model_is_a_404_in_the_openai_format(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        client.chat.completions.create(model="gpt-4o", messages=ASK)
    assert caught.value.status_code == 404
    assert "The model `gpt-4o` does not exist." in caught.value.message


def test_prompt_longer_than_the_context_is_a_400_naming_the_limit(client: openai.OpenAI) -> None:
    long_ask = [{"role": "user", "content": "password " * 3000}]
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model=TINY_ID, messages=long_ask, max_tokens=10)
    assert "maximum context length is 2048 tokens" in caught.value.message


def test_malformed_json_is_a_422_in_the_openai_format(tiny_url: str) -> None:
    response = httpx.post(
        f"{tiny_url}/v1/chat/completions",
        content=b'{"model": "tiny-llama", "messages": [',
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == 422 and response.json()["error"]["message"]


def test_missing_messages_is_a_422_naming_the_field(tiny_url: str) -> None:
    response = httpx.post(f"{tiny_url}/v1/chat/completions", json={"model": TINY_ID})
    assert response.status_code == 422 and "messages" in response.json()["error"]["message"]


def test_health_and_metrics_endpoints_answer(client: openai.OpenAI, tiny_url: str) -> None:
    client.chat.completions.create(model=TINY_ID, messages=ASK, max_tokens=2)
    assert httpx.get(f"{tiny_url}/health").status_code == 200
    metrics = httpx.get(f"{tiny_url}/metrics")
    assert metrics.status_code == 200
    assert 'airlock_serving_requests_total{engine="transformers",outcome="ok"}' in metrics.text
    assert 'airlock_serving_tokens_total{engine="transformers",kind="completion"}' in metrics.text


def test_llamaindex_openailike_chats_and_streams(tiny_url: str) -> None:
    llm = OpenAILike(
        model=TINY_ID,
        api_base=f"{tiny_url}/v1",
        api_key="unused",
        is_chat_model=True,
        context_window=2048,
        max_tokens=8,
        temperature=0.0,
        max_retries=0,
    )
    messages = [LlamaMessage(role="user", content=ASK[0]["content"])]
    reply = llm.chat(messages)
    streamed = "".join(part.delta or "" for part in llm.stream_chat(messages))
    assert reply.message.role == "assistant"
    assert streamed == reply.message.content
    assert isinstance(llm.complete("Reset my password").text, str)


def test_extractive_server_answers_from_passages_with_citations(
    live_server: Callable[[Any], Any],
) -> None:
    passage = {
        "ref": 1,
        "title": "Passwords",
        "text": "To reset your password, open Settings and choose Reset password.",
    }
    with live_server(create_server_app(ExtractiveEngine(), "extractive")) as url:
        client = openai.OpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0)
        reply = client.chat.completions.create(
            model="extractive",
            messages=[{"role": "user", "content": "How do I reset my password?"}],
            extra_body={"passages": [passage]},
        )
    assert reply.choices[0].message.content == (
        "To reset your password, open Settings and choose Reset password. [1]"
    )
