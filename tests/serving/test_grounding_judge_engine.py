"""The grounding judge over a real engine: the tiny model answers the judge's messages."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from airlock.config import load_settings
from airlock.errors import ConfigError
from airlock.services import build_grounding_judge, chat_judge
from airlock.settings import AirlockSettings
from guardrails.grounding import build_grounding_guard
from guardrails.grounding.judge import build_judge_messages, parse_judge_reply
from models.store import ModelStore
from serving.transformers_engine import TransformersEngine
from tests.serving.conftest import TINY_ID

PASSAGES = ("Refunds are issued within 30 days of delivery. A return fee of €20 applies.",)
DRAFT = "Refunds are issued within 30 days of delivery. The return fee is €20."


def judge_settings(folder: Path, store: ModelStore, engine: str) -> AirlockSettings:
    overrides = {
        "data_dir": str(folder),
        "models": {"store_dir": str(store.root)},
        "serving": {"engines": [{"name": "tiny", "kind": "transformers", "model": TINY_ID}]},
        "guardrails": {
            "grounding": {"judge_engine": engine, "judge_timeout_s": 20},
            "policy": {"time_budget_ms": 25_000},
        },
    }
    return load_settings(overrides=overrides, environ={})


def test_judge_sends_the_messages_to_the_engine_and_returns_its_text(
    tiny_engine: TransformersEngine,
) -> None:
    judge = chat_judge(tiny_engine)
    reply = asyncio.run(judge(build_judge_messages(["The fee is €20."], PASSAGES, "Fee?")))
    assert isinstance(reply, str) and reply


def test_guard_uses_exactly_what_the_served_judge_replied(
    tmp_path: Path, tiny_store: ModelStore
) -> None:
    settings = judge_settings(tmp_path, tiny_store, "tiny")
    judge = build_grounding_judge(settings)
    assert judge is not None
    replies: list[str] = []

    async def recording(messages: list[dict[str, str]]) -> str:
        replies.append(await judge(messages))
        return replies[-1]

    guard = build_grounding_guard(settings, judge=recording)
    assert guard.judge_timeout_s == 20
    result = asyncio.run(guard.assess_with_judge(DRAFT, PASSAGES))
    assert len(replies) == 1
    readable = parse_judge_reply(replies[0], len(result.claims)).verdicts
    assert result.judge_used == bool(readable)
    if not readable:  # the tiny model writes noise: the CPU score stands, and says so
        assert any(reason.startswith("judge fallback:") for reason in result.reasons)


def test_judge_naming_an_unknown_engine_is_a_config_error(
    tmp_path: Path, tiny_store: ModelStore
) -> None:
    settings = judge_settings(tmp_path, tiny_store, "vllm-main")
    with pytest.raises(ConfigError, match=r"'vllm-main' is not a serving engine.*tiny"):
        build_grounding_judge(settings)


def test_no_judge_engine_means_no_judge(tmp_path: Path, tiny_store: ModelStore) -> None:
    settings = judge_settings(tmp_path, tiny_store, "")
    assert build_grounding_judge(settings) is None
