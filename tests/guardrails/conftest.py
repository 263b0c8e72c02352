"""Fixtures of the guardrails tests (PII guard; other guards may add theirs below)."""

from __future__ import annotations

from pathlib import Path

import pytest

from airlock.config import load_settings
from airlock.settings import AirlockSettings
from guardrails.pii import PiiGuard, build_pii_guard


@pytest.fixture(scope="session")
def pii_settings(tmp_path_factory: pytest.TempPathFactory) -> AirlockSettings:
    """Default PII settings on a throwaway data directory (no environment influence)."""
    data_dir: Path = tmp_path_factory.mktemp("pii-data")
    return load_settings(overrides={"data_dir": str(data_dir)}, environ={})


@pytest.fixture(scope="session")
def pii_guard(pii_settings: AirlockSettings) -> PiiGuard:
    """The real PII guard (placeholder mode), built once: presidio plus the shipped lists."""
    return build_pii_guard(pii_settings)
