"""Where the packaging tests find their tools: the ops virtualenv, the wheelhouse, the repo."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
OPS_VENV = REPO / ".venv-ops"  # ansible-core, ansible-lint, checkov (make ops-tools)
WHEELHOUSE = REPO / ".cache" / "wheelhouse"  # Airlock's runtime wheels (make wheelhouse)


def _missing(message: str) -> None:
    """Skip with the reason, except in CI where `make test` must have provided the thing."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{message}; CI requires it (`make test` installs it)")
    pytest.skip(reason=message)


def find_ops_tool(name: str) -> Path:
    """An executable of the ops toolset; skips (fails in CI) when it is not installed."""
    candidate = OPS_VENV / "bin" / name
    if candidate.is_file():
        return candidate
    found = shutil.which(name)
    if found is not None:
        return Path(found)
    _missing(f"{name} is not installed: run `make ops-tools` (creates {OPS_VENV.name})")
    raise AssertionError("unreachable")  # pytest.skip/fail raise


def find_wheelhouse() -> Path:
    """The local wheelhouse of Airlock's runtime dependencies; skips (fails in CI) without it."""
    if not any(WHEELHOUSE.glob("*.whl")):
        _missing(f"no wheelhouse at {WHEELHOUSE}: run `make wheelhouse`")
    return WHEELHOUSE
