"""The model manifest (YAML): what a model is, and the size and SHA-256 of each of its files."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from models.errors import ManifestError

MANIFEST_NAME = "manifest.yaml"
SIGNATURE_SUFFIX = ".sig"
MODEL_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{0,127}$")


class ModelFile(BaseModel):
    """One file of a model, relative to the model's folder."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str = Field(description="Path relative to the model folder, '/'-separated.")
    size: int = Field(ge=0, description="Size in bytes.")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="SHA-256, lowercase hex.")

    @field_validator("path")
    @classmethod
    def _relative_inside(cls, value: str) -> str:
        parts = Path(value).parts
        if not parts or Path(value).is_absolute() or ".." in parts:
            raise ValueError(f"file path {value!r} must be relative and stay inside the model")
        return value


class ModelManifest(BaseModel):
    """Everything Airlock needs to know to load, serve and audit a model."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(description="Registry id: lowercase letters, digits, '.', '_' and '-'.")
    family: str = Field(description="Architecture family, e.g. llama, bert.")
    task: Literal["chat", "embedding", "classifier"]
    format: Literal["safetensors", "gguf"]
    files: tuple[ModelFile, ...]
    licence: str = Field("unknown", description="Licence name or SPDX id.")
    parameters: int | None = Field(None, ge=0, description="Parameter count.")
    dtype: str | None = Field(None, description="Weight dtype, e.g. bfloat16.")
    context_length: int | None = Field(None, ge=1, description="Maximum tokens of context.")
    chat_template: str | None = Field(None, description="Jinja chat template, for chat models.")
    tensor_parallel: int | None = Field(None, ge=1, description="Recommended TP size.")
    quantization: str | None = Field(None, description="Recommended quantization, if any.")
    source: str = Field("", description="Where the files came from (a note for auditors).")
    for_answers: bool = Field(True, description="False for test models that must never answer.")

    @field_validator("id")
    @classmethod
    def _valid_id(cls, value: str) -> str:
        if not MODEL_ID.match(value):
            raise ValueError(f"model id {value!r} must match {MODEL_ID.pattern}")
        return value

    def get_total_size(self) -> int:
        """Bytes of all files."""
        return sum(f.size for f in self.files)

    def get_digest(self) -> str:
        """SHA-256 over every file's path and hash: one id for exactly these weights."""
        lines = "".join(f"{f.path}\0{f.sha256}\n" for f in sorted(self.files, key=lambda f: f.path))
        return hashlib.sha256(lines.encode()).hexdigest()

    def to_yaml(self) -> str:
        """Canonical YAML text (what a signature covers when written by Airlock)."""
        return yaml.safe_dump(self.model_dump(mode="json"), sort_keys=True, allow_unicode=True)


def parse_manifest(text: str, where: str) -> ModelManifest:
    """Parse manifest YAML; raise ManifestError naming the file and the field."""
    try:
        data: Any = yaml.safe_load(text)
        return ModelManifest.model_validate(data)
    except yaml.YAMLError as exc:
        raise ManifestError(
            f"manifest {where} is not valid YAML ({exc})", remedy="fix the manifest file"
        ) from None
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(top)'}: {err['msg']}"
            for err in exc.errors(include_url=False)
        )
        raise ManifestError(
            f"manifest {where} is invalid: {problems}", remedy="fix the manifest file"
        ) from None


def load_manifest(path: Path) -> ModelManifest:
    """Read and parse a manifest file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ManifestError(
            f"manifest {path} cannot be read ({exc.strerror})", remedy="check the path"
        ) from None
    return parse_manifest(text, str(path))
