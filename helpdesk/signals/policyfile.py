"""Reading a YAML policy file into a pydantic model; problems name the file and the key."""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel

from airlock.yamlfile import load_yaml_model
from helpdesk.errors import SignalsConfigError

Model = TypeVar("Model", bound=BaseModel)


def load_policy_file(path: Path, model: type[Model], what: str, shipped: str) -> Model:
    """The file at `path` checked against `model`; any problem raises `SignalsConfigError`."""
    remedy = f"fix the file (the shipped {shipped} shows the expected shape)"
    return load_yaml_model(path, model, what=what, error=SignalsConfigError, remedy=remedy)
