"""Model folders copied from the model store, each re-verified against its manifest."""

from __future__ import annotations

import shutil
from pathlib import Path

from airlock.bundle.errors import BundleError
from models.manifest import ModelManifest
from models.store import ModelStore


def copy_models(store: ModelStore, model_ids: list[str], dest: Path) -> list[ModelManifest]:
    """Copy each model's folder into `dest`; the copy must match its manifest file by file."""
    manifests = [store.get_manifest(model_id) for model_id in model_ids]  # unknown ids fail first
    dest.mkdir(parents=True, exist_ok=True)
    for manifest in manifests:
        shutil.copytree(store.get_model_dir(manifest.id), dest / manifest.id)
    # The copies are what ships, so they are what gets verified (the models package's check).
    shipped = ModelStore(dest)
    for manifest in manifests:
        problems = shipped.verify(manifest.id)
        if problems:
            named = ", ".join(f"{p.path} ({p.problem})" for p in problems)
            raise BundleError(
                f"model {manifest.id!r} does not match its manifest: {named}",
                remedy=f"run `airlock models verify {manifest.id}` and re-import the model",
            )
    return manifests
