"""Building the engine chain from the `serving` settings."""

from __future__ import annotations

from airlock.settings import AirlockSettings, EngineSettings
from models.store import ModelStore
from serving.extractive import ExtractiveEngine
from serving.failover import FailoverChain
from serving.openai_engine import OpenAIEngine
from serving.transformers_engine import load_transformers_engine
from serving.types import ChatModel


def build_engine(
    config: EngineSettings, store: ModelStore, threads: int | None = None
) -> ChatModel:
    """One engine from its settings (a transformers engine loads and verifies its model)."""
    if config.kind == "openai":
        return OpenAIEngine(config)
    if config.kind == "transformers":
        return load_transformers_engine(config.name, store, config.model, threads)
    return ExtractiveEngine(config.name)


def build_chat_model(settings: AirlockSettings, store: ModelStore) -> FailoverChain:
    """The failover chain of every configured engine, in order."""
    threads = settings.models.cpu_threads
    engines = [build_engine(config, store, threads) for config in settings.serving.engines]
    return FailoverChain(engines, retry_after_s=settings.serving.retry_after_s)
