"""Shared fixtures: settings per backend, a throwaway PostgreSQL, the CLI in-process."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from airlock.cli.main import main
from airlock.config import load_settings
from airlock.settings import AirlockSettings
from tests.pgserver import ThrowawayPostgres, find_pg_bindir

pytest_plugins = ["pytester"]


@pytest.fixture(autouse=True)
def _clean_airlock_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests start from defaults whatever the developer's shell exports."""
    for name in list(os.environ):
        if name.upper().startswith("AIRLOCK"):
            monkeypatch.delenv(name)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[ThrowawayPostgres]:
    bindir = find_pg_bindir()
    if bindir is None:
        message = "no PostgreSQL server binaries (`pg_config --bindir` has no initdb/pg_ctl)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message}; CI requires them: install Debian's postgresql package")
        pytest.skip(reason=f"{message}: install Debian's postgresql package to run them")
    server = ThrowawayPostgres(bindir).start()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, Any]:
    """Settings overrides for a fresh store on each backend."""
    overrides: dict[str, Any] = {"data_dir": str(tmp_path / "data")}
    if request.param == "postgres":
        server: ThrowawayPostgres = request.getfixturevalue("postgres_server")
        overrides["storage"] = {"url": server.create_database(f"t_{uuid.uuid4().hex[:12]}")}
    return overrides


@pytest.fixture
def make_settings(backend: dict[str, Any]) -> Callable[..., AirlockSettings]:
    """Settings on the current backend, with extra per-section overrides merged in."""

    def build(**sections: Any) -> AirlockSettings:
        merged = {
            key: dict(value) if isinstance(value, dict) else value for key, value in backend.items()
        }
        for key, value in sections.items():
            merged[key] = {**merged.get(key, {}), **value} if isinstance(value, dict) else value
        return load_settings(overrides=merged)

    return build


@dataclass
class CliResult:
    code: int
    out: str
    err: str


@pytest.fixture
def run_cli(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Callable[..., CliResult]:
    """Run `airlock ARGS` in-process with extra environment; return exit code and output."""

    def run(*args: str, env: dict[str, str] | None = None) -> CliResult:
        for key, value in (env or {}).items():
            monkeypatch.setenv(key, value)
        capsys.readouterr()
        try:
            main(list(args))
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run


def env_for(settings: AirlockSettings) -> dict[str, str]:
    """The environment that points the CLI at the same store and data directory."""
    env = {"AIRLOCK__DATA_DIR": str(settings.data_dir)}
    if settings.storage.url:
        env["AIRLOCK__STORAGE__URL"] = settings.storage.url
    return env


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The public development datasets (../shared/data beside the checkout, or
    AIRLOCK_SHARED_DATA); tests that measure on them skip, naming the folder, when absent."""
    folder = Path(
        os.environ.get("AIRLOCK_SHARED_DATA")
        or Path(__file__).resolve().parents[2] / "shared" / "data"
    )
    if not folder.is_dir():
        missing = f"the development datasets are not at {folder} (set AIRLOCK_SHARED_DATA)"
        pytest.skip(reason=missing)
    return folder
