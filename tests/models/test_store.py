"""The model store: atomic, hash-checked imports; signed manifests; verify and refuse-to-load."""

from __future__ import annotations

import errno
import hashlib
import json
from pathlib import Path

import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from models.errors import ManifestError, ModelError, ModelIntegrityError
from models.manifest import ModelManifest
from models.store import STAGING_PREFIX, ModelStore


def make_source(root: Path, weights: bytes = b"\x01" * 5000) -> Path:
    src = root / "src"
    (src / "tokenizer").mkdir(parents=True)
    (src / "model.safetensors").write_bytes(weights)
    (src / "config.json").write_text(
        json.dumps(
            {"model_type": "llama", "max_position_embeddings": 2048, "torch_dtype": "bfloat16"}
        )
    )
    (src / "tokenizer" / "tokenizer.json").write_text('{"version": "1.0"}')
    return src


def publisher_manifest(src: Path, model_id: str = "tiny") -> dict[str, object]:
    files = []
    for path in sorted(p for p in src.rglob("*") if p.is_file()):
        data = path.read_bytes()
        files.append(
            {
                "path": path.relative_to(src).as_posix(),
                "size": len(data),
                "sha256": hashlib.sha256(data).hexdigest(),
            }
        )
    return {
        "id": model_id,
        "family": "llama",
        "task": "chat",
        "format": "safetensors",
        "files": files,
        "licence": "llama3.1",
    }


def leftovers(store: ModelStore) -> list[str]:
    return sorted(p.name for p in store.root.iterdir())


def test_import_without_manifest_hashes_files_and_reads_config(tmp_path: Path) -> None:
    store = ModelStore(tmp_path / "store")
    src = make_source(tmp_path)
    manifest = store.import_model(src, "tiny-llama", describe={"licence": "apache-2.0"})
    assert (manifest.family, manifest.format, manifest.context_length) == (
        "llama",
        "safetensors",
        2048,
    )
    weights = next(f for f in manifest.files if f.path == "model.safetensors")
    assert weights.sha256 == hashlib.sha256(b"\x01" * 5000).hexdigest() and weights.size == 5000
    assert [m.id for m in store.list_manifests()] == ["tiny-llama"]
    assert (store.root / "tiny-llama" / "tokenizer" / "tokenizer.json").is_file()
    assert store.verify("tiny-llama") == []


def test_import_against_a_manifest_with_a_wrong_hash_keeps_nothing(tmp_path: Path) -> None:
    store = ModelStore(tmp_path / "store")
    src = make_source(tmp_path)
    published = publisher_manifest(src)
    (src / "model.safetensors").write_bytes(b"\x02" * 5000)  # damaged in transit
    manifest_file = tmp_path / "manifest.yaml"
    manifest_file.write_text(yaml.safe_dump(published))
    with pytest.raises(ModelIntegrityError, match=r"model\.safetensors differs from the manifest"):
        store.import_model(src, "tiny", manifest_file=manifest_file)
    assert leftovers(store) == []


def test_signed_manifest_is_verified_with_a_trusted_key(tmp_path: Path) -> None:
    key = Ed25519PrivateKey.generate()
    public = tmp_path / "publisher.pem"
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    src = make_source(tmp_path)
    manifest_file = tmp_path / "manifest.yaml"
    text = yaml.safe_dump(publisher_manifest(src))
    manifest_file.write_text(text)
    (tmp_path / "manifest.yaml.sig").write_text(key.sign(text.encode()).hex())
    with pytest.raises(ManifestError, match="no trusted model-signing key"):
        ModelStore(tmp_path / "untrusting").import_model(src, "tiny", manifest_file=manifest_file)
    store = ModelStore(tmp_path / "store", trusted_keys=[public])
    assert store.import_model(src, "tiny", manifest_file=manifest_file).licence == "llama3.1"
    manifest_file.write_text(text.replace("llama3.1", "mit"))  # edited after signing
    with pytest.raises(ManifestError, match="does not verify"):
        ModelStore(tmp_path / "store2", trusted_keys=[public]).import_model(
            src, "tiny", manifest_file=manifest_file
        )


def test_changed_or_missing_file_is_reported_and_refused_at_load(tmp_path: Path) -> None:
    store = ModelStore(tmp_path / "store")
    store.import_model(make_source(tmp_path), "tiny")
    folder = store.root / "tiny"
    (folder / "model.safetensors").write_bytes(b"\x01" * 4999 + b"\x07")  # same size
    (folder / "tokenizer" / "tokenizer.json").unlink()
    problems = {(p.path, p.problem) for p in store.verify("tiny")}
    assert problems == {
        ("model.safetensors", "content changed"),
        ("tokenizer/tokenizer.json", "missing"),
    }
    with pytest.raises(
        ModelIntegrityError, match=r"refuses to load: model\.safetensors content changed"
    ):
        store.load_verified("tiny")


def test_interrupted_or_failed_import_leaves_no_partial_model(tmp_path: Path) -> None:
    store = ModelStore(tmp_path / "store")
    src = make_source(tmp_path, weights=b"\x03" * (20 * 1024 * 1024))

    def interrupt(_: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        store.import_model(src, "big", progress=interrupt)
    assert leftovers(store) == []

    def disk_full(_: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(ModelError, match=r"No space left on device.*nothing was kept"):
        store.import_model(src, "big", progress=disk_full)
    assert leftovers(store) == []


def test_staging_left_by_a_killed_import_is_removed_and_never_listed(tmp_path: Path) -> None:
    root = tmp_path / "store"
    (root / f"{STAGING_PREFIX}big-1234").mkdir(parents=True)
    (root / f"{STAGING_PREFIX}big-1234" / "model.safetensors").write_bytes(b"partial")
    store = ModelStore(root)
    assert store.list_manifests() == [] and leftovers(store) == []


def test_existing_id_and_bad_id_are_refused(tmp_path: Path) -> None:
    store = ModelStore(tmp_path / "store")
    src = make_source(tmp_path)
    store.import_model(src, "tiny")
    with pytest.raises(ModelError, match="already in the store"):
        store.import_model(src, "tiny")
    with pytest.raises(ValueError, match="model id"):
        ModelManifest.model_validate({**publisher_manifest(src), "id": "../evil"})


def test_cli_import_list_verify_remove(tmp_path: Path, run_cli) -> None:  # type: ignore[no-untyped-def]
    env = {"AIRLOCK__DATA_DIR": str(tmp_path / "data")}
    src = make_source(tmp_path)
    imported = run_cli("models", "import", str(src), "--id", "tiny", "--licence", "mit", env=env)
    assert imported.code == 0, imported.err
    listed = json.loads(run_cli("models", "list", "--json", env=env).out)
    assert listed[0]["id"] == "tiny" and listed[0]["files"] == 3 and listed[0]["licence"] == "mit"
    assert run_cli("models", "verify", env=env).code == 0
    (tmp_path / "data" / "models" / "tiny" / "config.json").write_text("{}")
    damaged = run_cli("models", "verify", "--json", env=env)
    assert damaged.code == 1
    assert json.loads(damaged.out)["problems"][0]["path"] == "config.json"
    assert run_cli("models", "remove", "tiny", "--yes", env=env).code == 0
    missing = run_cli("models", "verify", "tiny", env=env)
    assert missing.code == 2 and "no model 'tiny'" in missing.err


def test_unreadable_trusted_key_is_named(tmp_path: Path) -> None:
    src = make_source(tmp_path)
    manifest_file = tmp_path / "manifest.yaml"
    manifest_file.write_text(yaml.safe_dump(publisher_manifest(src)))
    (tmp_path / "manifest.yaml.sig").write_text("00" * 64)
    broken = tmp_path / "broken.pem"
    broken.write_text("not a key")
    store = ModelStore(tmp_path / "store", trusted_keys=[broken])
    with pytest.raises(ManifestError, match=r"trusted model-signing key .*broken\.pem"):
        store.import_model(src, "tiny", manifest_file=manifest_file)
    assert leftovers(store) == []
