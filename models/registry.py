"""Building the model store from settings."""

from __future__ import annotations

from airlock.settings import AirlockSettings
from models.store import ModelStore


def build_model_store(settings: AirlockSettings) -> ModelStore:
    """The store under data_dir/models (or models.store_dir) with the trusted signing keys."""
    return ModelStore(settings.get_model_store_dir(), settings.models.trusted_keys)
