"""Loading the settings tree from YAML, environment and arguments, with actionable errors."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, get_args, get_origin

import yaml
from pydantic import BaseModel, SecretStr, ValidationError
from sqlalchemy.engine import make_url

from airlock.errors import ConfigError
from airlock.settings import (
    DEFAULT_SECRETS_DIR,
    ENV_CONFIG_FILE,
    ENV_PREFIX,
    ENV_SECRETS_DIR,
    AirlockSettings,
    _yaml_data,
)

MASK = "**********"


def load_settings(
    config_file: Path | None = None,
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> AirlockSettings:
    """Build the effective settings; raise `ConfigError` naming the key, the value and the rule."""
    env = os.environ if environ is None else environ
    path = config_file or (Path(env[ENV_CONFIG_FILE]) if env.get(ENV_CONFIG_FILE) else None)
    data = _read_yaml(path) if path else {}
    _check_environment_keys(env)
    secrets_dir = Path(env.get(ENV_SECRETS_DIR, DEFAULT_SECRETS_DIR))
    token = _yaml_data.set(data)
    try:
        return AirlockSettings(
            _secrets_dir=secrets_dir if secrets_dir.is_dir() else None,
            **dict(overrides or {}),
        )
    except ValidationError as exc:
        raise ConfigError(_explain(exc, data), remedy=_remedy(path)) from None
    finally:
        _yaml_data.reset(token)


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            f"config file {path} cannot be read ({exc.strerror})",
            remedy=f"check the path given by --config or {ENV_CONFIG_FILE}",
        ) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(
            f"config file {path} is not valid YAML{where}", remedy="fix the YAML syntax"
        ) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"config file {path} must hold a mapping of sections, not a {type(data).__name__}",
            remedy="see `airlock config show` for the expected shape",
        )
    return data


def _check_environment_keys(env: Mapping[str, str]) -> None:
    """pydantic-settings ignores unknown prefixed variables; a typo must not pass silently."""
    for name in env:
        if name.upper().startswith(ENV_PREFIX):
            _check_environment_key(name, name[len(ENV_PREFIX) :].lower().split("__"))


def _check_environment_key(name: str, parts: list[str]) -> None:
    """Walk the settings tree along `parts`; a dict of sections takes any key (a tenant)."""
    model: type[BaseModel] = AirlockSettings
    i = 0
    while i < len(parts):
        field = model.model_fields.get(parts[i])
        if field is None:
            # The value is not echoed: a misspelt secret variable must not land in a terminal.
            allowed = ", ".join(sorted(model.model_fields))
            raise ConfigError(
                f"environment variable {name}: unknown key {'.'.join(parts[: i + 1])!r}; "
                f"allowed here: {allowed}",
                remedy="fix or unset the variable",
            )
        annotation = field.annotation
        keyed = _keyed_section(annotation)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            model = annotation
        elif keyed is not None and i + 2 < len(parts):
            model, i = keyed, i + 1  # the next part names the entry (e.g. a tenant)
        elif i != len(parts) - 1:
            raise ConfigError(
                f"environment variable {name}: {'.'.join(parts[: i + 1])} is not a section",
                remedy="fix or unset the variable",
            )
        i += 1


def _keyed_section(annotation: Any) -> type[BaseModel] | None:
    """The section type of a `dict[str, Section]` field, else None."""
    if get_origin(annotation) is not dict:
        return None
    value_type = get_args(annotation)[1]
    return (
        value_type if isinstance(value_type, type) and issubclass(value_type, BaseModel) else None
    )


def _explain(exc: ValidationError, yaml_data: Mapping[str, Any]) -> str:
    lines = []
    for err in exc.errors(include_url=False):
        key = ".".join(str(p) for p in err["loc"]) or "(settings)"
        value = err.get("input")
        if err["type"] == "extra_forbidden":
            lines.append(f"{key} = {_show(value)}: unknown key; allowed: {_allowed_keys(key)}")
        elif err["type"] in ("value_error", "assertion_error") and not err["loc"]:
            lines.append(str(err["ctx"].get("error", err["msg"])) if "ctx" in err else err["msg"])
        else:
            lines.append(f"{key} = {_show(value)}: {err['msg']}")
    return "invalid configuration: " + "; ".join(lines)


def _allowed_keys(dotted: str) -> str:
    model: type[BaseModel] = AirlockSettings
    for part in dotted.split(".")[:-1]:
        annotation = model.model_fields[part].annotation if part in model.model_fields else None
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            break
        model = annotation
    return ", ".join(sorted(model.model_fields))


def _show(value: object) -> str:
    if isinstance(value, dict):
        return "{...}"
    if isinstance(value, SecretStr):
        return MASK
    return repr(value)


def _remedy(path: Path | None) -> str:
    source = f"{path}, " if path else ""
    return f"fix the value in {source}the {ENV_PREFIX}* environment or the command line"


def render_settings(settings: AirlockSettings) -> dict[str, Any]:
    """The effective configuration as plain JSON data, secrets and URL passwords masked."""
    data = settings.model_dump(mode="json")
    for name, section in type(settings).model_fields.items():
        annotation = section.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            for field_name, field in annotation.model_fields.items():
                if field.annotation is not None and "SecretStr" in str(field.annotation):
                    value = getattr(getattr(settings, name), field_name)
                    data[name][field_name] = MASK if value is not None else None
    if settings.storage.url:
        data["storage"]["url"] = make_url(settings.storage.url).render_as_string(hide_password=True)
    return data
