"""Reading a YAML file into a pydantic model; every problem names the file and the key."""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from airlock.errors import AirlockError

Model = TypeVar("Model", bound=BaseModel)


def describe_validation(exc: ValidationError) -> str:
    """The first problem of a validation error as `dotted.key: message (and N more)`."""
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "(top level)"
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return f"{where}: {first['msg']}{more}"


def load_yaml_model(
    path: Path, model: type[Model], *, what: str, error: type[AirlockError], remedy: str
) -> Model:
    """The file at `path` checked against `model` (an empty file is `{}`); problems: `error`."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise error(f"{what} {path} cannot be read ({exc.strerror})", remedy=remedy) from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        problem = " ".join(str(exc).split())
        raise error(f"{what} {path} is not valid YAML: {problem}", remedy=remedy) from None
    try:
        return model.model_validate(data if data is not None else {})
    except ValidationError as exc:
        raise error(
            f"{what} {path} is invalid: {describe_validation(exc)}", remedy=remedy
        ) from None
