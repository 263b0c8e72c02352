"""The settings tree: precedence, unknown keys, bad values, production rules, masking."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from airlock.config import load_settings
from airlock.errors import ConfigError


def write_yaml(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "airlock.yaml"
    path.write_text(text)
    return path


def test_defaults_load_without_any_file_or_environment() -> None:
    settings = load_settings()
    assert settings.profile == "dev"
    assert settings.data_dir == Path(".airlock")
    assert settings.storage.sqlite_synchronous == "FULL"
    assert settings.get_database_path() == Path(".airlock/airlock.db")


def test_environment_beats_yaml_and_arguments_beat_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = write_yaml(tmp_path, "audit:\n  checkpoint_every_events: 10\nlog:\n  level: DEBUG\n")
    monkeypatch.setenv("AIRLOCK__AUDIT__CHECKPOINT_EVERY_EVENTS", "20")
    settings = load_settings(config)
    assert settings.audit.checkpoint_every_events == 20
    assert settings.log.level == "DEBUG"
    settings = load_settings(config, overrides={"audit": {"checkpoint_every_events": 30}})
    assert settings.audit.checkpoint_every_events == 30


def test_data_dir_comes_from_airlock_data_dir_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRLOCK__DATA_DIR", "/srv/airlock")
    assert load_settings().data_dir == Path("/srv/airlock")


def test_unknown_yaml_key_is_refused_naming_key_value_and_allowed_keys(tmp_path: Path) -> None:
    config = write_yaml(tmp_path, "storage:\n  urll: sqlite:///x.db\n")
    with pytest.raises(ConfigError) as info:
        load_settings(config)
    message = str(info.value)
    assert "storage.urll" in message
    assert "sqlite:///x.db" in message
    assert "unknown key" in message
    assert "sqlite_synchronous" in message  # the allowed keys are listed


def test_unknown_environment_key_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRLOCK__AUDIT__CHECKPOINT_EVERY", "5")
    with pytest.raises(ConfigError, match=r"AIRLOCK__AUDIT__CHECKPOINT_EVERY.*unknown key"):
        load_settings()


def test_bad_value_names_key_value_and_what_is_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRLOCK__STORAGE__SQLITE_SYNCHRONOUS", "SOMETIMES")
    with pytest.raises(ConfigError) as info:
        load_settings()
    message = str(info.value)
    assert "storage.sqlite_synchronous = 'SOMETIMES'" in message
    assert "'NORMAL', 'FULL' or 'EXTRA'" in message


def test_malformed_yaml_names_file_and_line(tmp_path: Path) -> None:
    config = write_yaml(tmp_path, "storage:\n  url: [unclosed\nlog: {\n")
    with pytest.raises(ConfigError, match=r"airlock.yaml is not valid YAML at line \d+"):
        load_settings(config)


def test_missing_config_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot be read"):
        load_settings(tmp_path / "nope.yaml")


def test_production_refuses_sqlite_generated_key_milvus_lite_and_dev_issuer(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="SQLite is dev-only"):
        load_settings(overrides={"profile": "production"})
    with pytest.raises(ConfigError, match=r"audit\.signing_key_file"):
        load_settings(
            overrides={"profile": "production", "storage": {"url": "postgresql+psycopg://db/a"}}
        )
    production = {
        "profile": "production",
        "storage": {"url": "postgresql+psycopg://db/a"},
        "audit": {"signing_key_file": str(tmp_path / "key.pem")},
    }
    with pytest.raises(ConfigError, match="Milvus Lite is dev-only"):
        load_settings(overrides=production)
    production["rag"] = {"uri": "http://milvus:19530"}
    with pytest.raises(ConfigError, match="development issuer is dev-only"):
        load_settings(overrides=production)
    realm = "https://keycloak.example.internal/realms/airlock"
    settings = load_settings(overrides={**production, "auth": {"issuer_url": realm}})
    assert settings.profile == "production"


def test_secret_from_mounted_file_named_like_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "AIRLOCK__STORAGE__PASSWORD").write_text("from-a-file")
    monkeypatch.setenv("AIRLOCK_SECRETS_DIR", str(tmp_path))
    settings = load_settings()
    assert settings.storage.password is not None
    assert settings.storage.password.get_secret_value() == "from-a-file"


def test_config_show_json_masks_secrets_and_url_passwords(run_cli) -> None:  # type: ignore[no-untyped-def]
    result = run_cli(
        "config",
        "show",
        "--json",
        env={
            "AIRLOCK__STORAGE__URL": "postgresql+psycopg://app:hunter2@db:5432/airlock",
            "AIRLOCK__STORAGE__PASSWORD": "topsecret",
            "AIRLOCK__SERVING__ENGINES": json.dumps(
                [
                    {
                        "name": "vllm",
                        "kind": "openai",
                        "base_url": "http://vllm:8000/v1",
                        "model": "llama",
                        "api_key": "engine-token",
                    }
                ]
            ),
        },
    )
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert data["storage"]["password"] == "**********"
    assert data["storage"]["url"] == "postgresql+psycopg://app:***@db:5432/airlock"
    assert data["serving"]["engines"][0]["api_key"] == "**********"
    assert "hunter2" not in result.out and "topsecret" not in result.out
    assert "engine-token" not in result.out
    assert set(data) == {
        "profile",
        "data_dir",
        "storage",
        "audit",
        "models",
        "serving",
        "rag",
        "guardrails",
        "helpdesk",
        "auth",
        "api",
        "log",
    }


def test_config_show_exits_2_with_one_line_error_on_bad_value(run_cli) -> None:  # type: ignore[no-untyped-def]
    result = run_cli("config", "show", env={"AIRLOCK__LOG__LEVEL": "LOUD"})
    assert result.code == 2
    assert result.err.count("\n") == 1
    assert "log.level = 'LOUD'" in result.err


def test_environment_sets_a_field_of_a_tenant_section_and_refuses_a_typo(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "airlock.yaml"
    config.write_text(
        "helpdesk:\n  writeback:\n    acme: {system: zendesk, base_url: 'https://z'}\n"
    )
    monkeypatch.setenv("AIRLOCK__HELPDESK__WRITEBACK__ACME__USERNAME", "agent@acme.example")
    settings = load_settings(config)
    assert settings.helpdesk.writeback["acme"].username == "agent@acme.example"
    assert settings.helpdesk.writeback["acme"].system == "zendesk"
    typo = {"AIRLOCK__HELPDESK__WRITEBACK__ACME__TOKN": "s3cret-value"}
    with pytest.raises(ConfigError, match=r"unknown key 'helpdesk.writeback.acme.tokn'") as info:
        load_settings(config, environ=typo)
    assert "s3cret-value" not in str(info.value)
