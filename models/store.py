"""The model store: one folder per model id, imported atomically, verified by SHA-256."""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import os
import shutil
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from models.errors import ManifestError, ModelError, ModelIntegrityError, ModelNotFoundError
from models.manifest import (
    MANIFEST_NAME,
    SIGNATURE_SUFFIX,
    ModelFile,
    ModelManifest,
    load_manifest,
    parse_manifest,
)

log = logging.getLogger(__name__)

CHUNK = 8 * 1024 * 1024
STAGING_PREFIX = ".staging-"
Progress = Callable[[int], None]


@dataclass(frozen=True)
class FileProblem:
    """A file that no longer matches its manifest."""

    model_id: str
    path: str
    problem: str  # "missing", "size changed", "content changed"


def hash_file(path: Path, progress: Progress | None = None) -> str:
    """SHA-256 of a file, read in large chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
            if progress:
                progress(len(chunk))
    return digest.hexdigest()


def _copy_hashing(src: Path, dst: Path, rel: str, progress: Progress | None) -> ModelFile:
    """Copy src to dst in the kernel while a thread hashes src; fsync before returning.

    copy_file_range keeps the bytes out of Python (as `cp` does) and SHA-256 releases the GIL,
    so the import runs near disk speed; `verify` and every load re-hash the stored copy.
    """
    dst.parent.mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(1) as hasher:
        digest = hasher.submit(hash_file, src)
        with src.open("rb") as reader, dst.open("xb") as writer:
            size = _copy_in_kernel(reader.fileno(), writer.fileno(), progress)
            os.fsync(writer.fileno())
        return ModelFile(path=rel, size=size, sha256=digest.result())


def _copy_in_kernel(source: int, target: int, progress: Progress | None) -> int:
    size = 0
    while True:
        try:
            count = os.copy_file_range(source, target, CHUNK)
        except OSError as exc:
            if exc.errno not in (errno.EXDEV, errno.ENOSYS, errno.EOPNOTSUPP, errno.EINVAL):
                raise
            count = os.write(target, os.read(source, CHUNK))  # filesystems without it
        if count == 0:
            return size
        size += count
        if progress:
            progress(count)


class ModelStore:
    """Models under `root`; staging folders of interrupted imports are removed on open."""

    def __init__(self, root: Path, trusted_keys: Sequence[Path] = ()) -> None:
        self.root = root
        self.trusted_keys = tuple(trusted_keys)
        self.root.mkdir(parents=True, exist_ok=True)
        for stale in self.root.glob(f"{STAGING_PREFIX}*"):
            log.warning("removing an interrupted model import", extra={"path": str(stale)})
            shutil.rmtree(stale, ignore_errors=True)

    def get_model_dir(self, model_id: str) -> Path:
        """Folder of one model (it may not exist)."""
        return self.root / model_id

    def list_manifests(self) -> list[ModelManifest]:
        """Every model in the store, by id."""
        found = sorted(p for p in self.root.iterdir() if (p / MANIFEST_NAME).is_file())
        return [load_manifest(path / MANIFEST_NAME) for path in found]

    def get_manifest(self, model_id: str) -> ModelManifest:
        """The manifest of one model."""
        path = self.get_model_dir(model_id) / MANIFEST_NAME
        if not path.is_file():
            known = ", ".join(m.id for m in self.list_manifests()) or "none"
            raise ModelNotFoundError(
                f"no model {model_id!r} in {self.root} (known: {known})",
                remedy="import it with `airlock models import`",
            )
        return load_manifest(path)

    def verify(self, model_id: str, progress: Progress | None = None) -> list[FileProblem]:
        """Re-hash every file of a model; return what is missing or changed."""
        manifest = self.get_manifest(model_id)
        folder = self.get_model_dir(model_id)
        problems = []
        for item in manifest.files:
            path = folder / item.path
            if not path.is_file():
                problems.append(FileProblem(model_id, item.path, "missing"))
            elif path.stat().st_size != item.size:
                problems.append(FileProblem(model_id, item.path, "size changed"))
            elif hash_file(path, progress) != item.sha256:
                problems.append(FileProblem(model_id, item.path, "content changed"))
        return problems

    def load_verified(self, model_id: str) -> tuple[ModelManifest, Path]:
        """Manifest and folder of a model whose files all match; refuse otherwise."""
        problems = self.verify(model_id)
        if problems:
            first = problems[0]
            raise ModelIntegrityError(
                f"model {model_id!r} refuses to load: {first.path} {first.problem}"
                + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""),
                remedy=f"re-import it, or run `airlock models verify {model_id}` for the list",
            )
        return self.get_manifest(model_id), self.get_model_dir(model_id)

    def remove(self, model_id: str) -> None:
        """Delete a model (renamed aside first, so a half-deleted model is never listed)."""
        self.get_manifest(model_id)
        doomed = self.root / f"{STAGING_PREFIX}removed-{model_id}-{uuid.uuid4().hex[:8]}"
        os.rename(self.get_model_dir(model_id), doomed)
        shutil.rmtree(doomed)

    def import_model(
        self,
        src: Path,
        model_id: str,
        *,
        manifest_file: Path | None = None,
        describe: dict[str, Any] | None = None,
        progress: Progress | None = None,
    ) -> ModelManifest:
        """Copy and hash `src`; check it against a (signed) manifest; publish atomically."""
        if self.get_model_dir(model_id).exists():
            raise ModelError(
                f"model {model_id!r} is already in the store",
                remedy=f"run `airlock models remove {model_id}` first",
            )
        expected, manifest_text, signature = self._read_given_manifest(manifest_file, model_id)
        sources = list_source_files(src)
        staging = self.root / f"{STAGING_PREFIX}{model_id}-{uuid.uuid4().hex[:8]}"
        try:
            staging.mkdir()
            copied = [_copy_hashing(src / rel, staging / rel, rel, progress) for rel in sources]
            manifest = expected or build_manifest(src, model_id, copied, describe or {})
            _check_against(manifest, copied)
            (staging / MANIFEST_NAME).write_text(manifest_text or manifest.to_yaml(), "utf-8")
            if signature is not None:
                (staging / (MANIFEST_NAME + SIGNATURE_SUFFIX)).write_text(signature, "ascii")
            os.rename(staging, self.get_model_dir(model_id))
        except OSError as exc:
            shutil.rmtree(staging, ignore_errors=True)
            raise ModelError(
                f"import of {model_id!r} failed ({exc.strerror}); nothing was kept",
                remedy="free disk space or fix permissions in " + str(self.root),
            ) from None
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        log.info("model imported", extra={"model_id": model_id, "files": len(copied)})
        return manifest

    def _read_given_manifest(
        self, manifest_file: Path | None, model_id: str
    ) -> tuple[ModelManifest | None, str | None, str | None]:
        if manifest_file is None:
            return None, None, None
        text = manifest_file.read_text(encoding="utf-8")
        manifest = parse_manifest(text, str(manifest_file))
        if manifest.id != model_id:
            raise ManifestError(
                f"manifest {manifest_file} is for {manifest.id!r}, not {model_id!r}",
                remedy="pass the matching --id",
            )
        sig_path = manifest_file.with_name(manifest_file.name + SIGNATURE_SUFFIX)
        signature = sig_path.read_text("ascii").strip() if sig_path.exists() else None
        if signature is not None:
            self._check_signature(text.encode("utf-8"), signature, sig_path)
        return manifest, text, signature

    def _check_signature(self, message: bytes, signature: str, where: Path) -> None:
        if not self.trusted_keys:
            raise ManifestError(
                f"{where} is present but no trusted model-signing key is configured",
                remedy="set models.trusted_keys to the publisher's public key PEM",
            )
        for key_path in self.trusted_keys:
            try:
                key = serialization.load_pem_public_key(key_path.read_bytes())
            except (OSError, ValueError) as exc:
                raise ManifestError(
                    f"trusted model-signing key {key_path} cannot be read ({exc})",
                    remedy="fix models.trusted_keys: each entry is a public key PEM file",
                ) from None
            if not isinstance(key, Ed25519PublicKey):
                continue
            try:
                key.verify(bytes.fromhex(signature), message)
                return
            except (InvalidSignature, ValueError):
                continue
        raise ManifestError(
            f"signature {where} does not verify with any trusted key",
            remedy="the manifest was changed or signed by someone else",
        )


def list_source_files(src: Path) -> list[str]:
    """The files an import of `src` copies (relative, '/'-separated), manifest files excluded."""
    if not src.is_dir():
        raise ModelError(f"model source {src} is not a directory", remedy="pass the model folder")
    files = sorted(
        p.relative_to(src).as_posix()
        for p in src.rglob("*")
        if p.is_file() and p.name not in (MANIFEST_NAME, MANIFEST_NAME + SIGNATURE_SUFFIX)
    )
    if not files:
        raise ModelError(f"model source {src} holds no files", remedy="pass the model folder")
    return files


def _check_against(manifest: ModelManifest, copied: list[ModelFile]) -> None:
    actual = {f.path: f for f in copied}
    listed = {f.path: f for f in manifest.files}
    missing, extra = sorted(listed.keys() - actual.keys()), sorted(actual.keys() - listed.keys())
    if missing:
        raise ModelIntegrityError(
            f"{missing[0]} is in the manifest but not in the source", remedy="copy the whole model"
        )
    if extra:
        raise ModelIntegrityError(
            f"{extra[0]} is in the source but not in the manifest",
            remedy="remove it or use the manifest that lists it",
        )
    for path, item in listed.items():
        if actual[path].size != item.size or actual[path].sha256 != item.sha256:
            raise ModelIntegrityError(
                f"{path} differs from the manifest (size or SHA-256)",
                remedy="the file is damaged or not the published one",
            )


def build_manifest(
    src: Path, model_id: str, files: list[ModelFile], describe: dict[str, Any]
) -> ModelManifest:
    """A manifest from the files and the model's config.json, for imports without one."""
    config: dict[str, Any] = {}
    if (src / "config.json").is_file():
        config = json.loads((src / "config.json").read_text("utf-8"))
    names = [f.path for f in files]
    if any(n.endswith(".gguf") for n in names):
        fmt = "gguf"
    elif any(n.endswith(".safetensors") for n in names):
        fmt = "safetensors"
    else:
        raise ModelError(
            f"model source {src} has no .safetensors or .gguf weights",
            remedy="Airlock loads only safetensors and gguf weights",
        )
    values: dict[str, Any] = {
        "id": model_id,
        "family": config.get("model_type", "unknown"),
        "task": "chat",
        "format": fmt,
        "files": files,
        "dtype": config.get("torch_dtype"),
        "context_length": config.get("max_position_embeddings"),
        "source": str(src),
    }
    values.update({k: v for k, v in describe.items() if v is not None})
    return ModelManifest.model_validate(values)
