"""The transformers engine streams a verified registry model with its chat template."""

from __future__ import annotations

import asyncio

import pytest

from models.errors import ModelIntegrityError
from models.store import ModelStore
from serving.errors import BadChatRequestError, ServingError
from serving.transformers_engine import TransformersEngine, load_transformers_engine
from serving.types import ChatMessage, ChatRequest, generate
from tests.serving.conftest import TINY_ID

QUESTION = (ChatMessage(role="user", content="My invoice shows the wrong address."),)


def collect(engine: TransformersEngine, request: ChatRequest) -> list[str]:
    async def run() -> list[str]:
        return [chunk.text async for chunk in engine.stream_chat(request)]

    return asyncio.run(run())


def test_stream_yields_text_then_a_final_chunk_with_usage(tiny_engine: TransformersEngine) -> None:
    request = ChatRequest(messages=QUESTION, max_tokens=12, seed=1)
    result = asyncio.run(generate(tiny_engine, request))
    prompt_ids = tiny_engine.encode(request)
    assert result.engine == "transformers" and result.model == TINY_ID
    assert result.usage.prompt_tokens == len(prompt_ids)
    assert 1 <= result.usage.completion_tokens <= 12
    assert result.finish_reason in ("stop", "length")


def test_greedy_generation_is_deterministic(tiny_engine: TransformersEngine) -> None:
    request = ChatRequest(messages=QUESTION, max_tokens=16)
    assert collect(tiny_engine, request) == collect(tiny_engine, request)


def test_sampling_with_a_seed_is_reproducible(tiny_engine: TransformersEngine) -> None:
    request = ChatRequest(messages=QUESTION, max_tokens=16, temperature=1.0, seed=7)
    first = asyncio.run(generate(tiny_engine, request)).text
    assert asyncio.run(generate(tiny_engine, request)).text == first


def test_chat_template_wraps_the_messages(tiny_engine: TransformersEngine) -> None:
    ids = tiny_engine.encode(ChatRequest(messages=QUESTION))
    text = tiny_engine.tokenizer.decode(ids)
    assert text.startswith("<|begin_of_text|><|start_header_id|>user<|end_header_id|>")
    assert text.endswith("<|start_header_id|>assistant<|end_header_id|>\n\n")


def test_raw_prompt_skips_the_chat_template(tiny_engine: TransformersEngine) -> None:
    ids = tiny_engine.encode(ChatRequest(prompt="Reset my password"))
    assert "<|start_header_id|>" not in tiny_engine.tokenizer.decode(ids)


def test_max_tokens_limits_the_answer_and_reports_length(tiny_engine: TransformersEngine) -> None:
    request = ChatRequest(prompt="The printer", max_tokens=3)
    result = asyncio.run(generate(tiny_engine, request))
    if result.usage.completion_tokens < 3:
        pytest.skip(reason="the tiny model ended its answer before 3 tokens with this prompt")
    assert result.finish_reason == "length" and result.usage.completion_tokens == 3


def test_stop_sequence_cuts_the_stream(tiny_engine: TransformersEngine) -> None:
    full = asyncio.run(generate(tiny_engine, ChatRequest(messages=QUESTION, max_tokens=24))).text
    if len(full) < 4:
        pytest.skip(reason="the tiny model's greedy answer is too short to cut")
    stop = full[2:4]
    cut = asyncio.run(
        generate(tiny_engine, ChatRequest(messages=QUESTION, max_tokens=24, stop=(stop,)))
    )
    assert cut.text == full[: full.index(stop)] and cut.finish_reason == "stop"


def test_prompt_longer_than_the_context_is_refused_naming_the_limit(
    tiny_engine: TransformersEngine,
) -> None:
    long_text = "password " * 3000
    request = ChatRequest(messages=(ChatMessage(role="user", content=long_text),), max_tokens=10)
    with pytest.raises(BadChatRequestError, match="maximum context length is 2048 tokens"):
        collect(tiny_engine, request)


def test_changed_model_file_refuses_to_load_naming_it(
    tiny_store: ModelStore, tmp_path_factory: pytest.TempPathFactory
) -> None:
    copy = ModelStore(tmp_path_factory.mktemp("tampered") / "models")
    source = tiny_store.get_model_dir(TINY_ID)
    copy.import_model(source, TINY_ID, manifest_file=source / "manifest.yaml")
    config = copy.get_model_dir(TINY_ID) / "config.json"
    config.write_text(
        config.read_text().replace('"num_hidden_layers": 2', '"num_hidden_layers": 3')
    )
    with pytest.raises(ModelIntegrityError, match=r"config\.json content changed"):
        load_transformers_engine("transformers", copy, TINY_ID)


def test_embedding_model_is_refused_as_a_chat_engine(
    tiny_store: ModelStore, tmp_path_factory: pytest.TempPathFactory
) -> None:
    store = ModelStore(tmp_path_factory.mktemp("wrong-task") / "models")
    source = tiny_store.get_model_dir(TINY_ID)
    store.import_model(source, "not-chat", describe={"task": "embedding"})
    with pytest.raises(ServingError, match="embedding model, not a chat model"):
        load_transformers_engine("transformers", store, "not-chat")
