"""Pattern recognizers from YAML (the shipped `patterns.yaml` or a customer's own file)."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from presidio_analyzer import Pattern, PatternRecognizer
from pydantic import BaseModel, ConfigDict, Field

from airlock.yamlfile import load_yaml_model
from guardrails.errors import GuardModelError

SHIPPED_PATTERNS = Path(__file__).parent / "patterns.yaml"
# presidio compiles patterns with the `regex` module; so do we, to report errors early.
_regex: Any = importlib.import_module("regex")


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PatternSpec(_Spec):
    """One regular expression and the score of its matches."""

    name: str = Field(min_length=1)
    regex: str = Field(min_length=1)
    score: float = Field(ge=0.0, le=1.0)


class RecognizerSpec(_Spec):
    """One entity type's patterns and context words."""

    name: str = Field(min_length=1)
    supported_entity: str = Field(pattern=r"^[A-Z][A-Z0-9_]{0,63}$")
    supported_language: str = "en"
    patterns: tuple[PatternSpec, ...] = Field(min_length=1)
    context: tuple[str, ...] = ()


class PatternFile(_Spec):
    """The whole file: a list of recognizers."""

    recognizers: tuple[RecognizerSpec, ...] = Field(min_length=1)


def load_pattern_file(path: Path) -> PatternFile:
    """Read and check a patterns file; any problem is a `GuardModelError` naming file and cause."""
    remedy = "fix the file (see the shipped guardrails/pii/patterns.yaml) or unset patterns_file"
    spec = load_yaml_model(
        path, PatternFile, what="PII patterns file", error=GuardModelError, remedy=remedy
    )
    for i, recognizer in enumerate(spec.recognizers):
        for j, pattern in enumerate(recognizer.patterns):
            try:
                _regex.compile(pattern.regex)
            except _regex.error as exc:
                raise GuardModelError(
                    f"PII patterns file {path} is invalid: recognizers.{i}.patterns.{j} "
                    f"({pattern.name!r}) has a bad regex: {exc}",
                    remedy=remedy,
                ) from None
    return spec


def build_pattern_recognizers(spec: PatternFile) -> list[PatternRecognizer]:
    """Presidio pattern recognizers for each recognizer of the file."""
    return [
        PatternRecognizer(
            supported_entity=r.supported_entity,
            name=r.name,
            supported_language=r.supported_language,
            patterns=[Pattern(p.name, p.regex, p.score) for p in r.patterns],
            context=list(r.context),
        )
        for r in spec.recognizers
    ]
