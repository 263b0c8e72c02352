"""`airlock models import|verify|list|remove|make-tiny`."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from airlock.cli.context import CliState, emit_json, pass_state
from models.builtin import BUILTIN_EMBEDDING_ID, BuiltinModel, check_builtin, describe_builtin
from models.manifest import ModelManifest
from models.registry import build_model_store
from models.store import FileProblem, ModelStore, list_source_files
from models.tiny import build_tiny_model

DIR = click.Path(path_type=Path, file_okay=False, exists=True)


@click.group()
def models() -> None:
    """The air-gapped model registry."""


@models.command("import")
@click.argument("src", type=DIR)
@click.option("--id", "model_id", required=True, help="Registry id for the model.")
@click.option(
    "--manifest",
    "manifest_file",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="Publisher's manifest to check against (.sig beside it is verified).",
)
@click.option(
    "--task",
    type=click.Choice(["chat", "embedding", "classifier"]),
    help="Task, when importing without a manifest (default chat).",
)
@click.option("--licence", help="Licence, when importing without a manifest.")
@pass_state
def models_import(
    state: CliState,
    *,
    src: Path,
    model_id: str,
    manifest_file: Path | None,
    task: str | None,
    licence: str | None,
) -> None:
    """Hash every file, check it, and copy it into the store atomically."""
    store = build_model_store(state.settings)
    total = sum((src / rel).stat().st_size for rel in list_source_files(src))
    with click.progressbar(length=total, label=f"importing {model_id}", file=sys.stderr) as bar:
        manifest = store.import_model(
            src,
            model_id,
            manifest_file=manifest_file,
            describe={"task": task, "licence": licence},
            progress=bar.update,
        )
    click.echo(
        f"imported {manifest.id}: {len(manifest.files)} files, "
        f"{manifest.get_total_size() / 1e6:.1f} MB, verified by SHA-256"
    )


@models.command("verify")
@click.argument("model_id", required=False)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable JSON.")
@pass_state
def models_verify(state: CliState, model_id: str | None, as_json: bool) -> None:
    """Re-hash model files; exit 1 naming any file that changed or is missing."""
    store = build_model_store(state.settings)
    stored = [m.id for m in store.list_manifests()]
    ids = [model_id] if model_id else [*stored, *_builtin_ids(stored)]
    problems = [p for i in ids for p in _verify_one(store, i, stored)]
    if as_json:
        emit_json({"ok": not problems, "models": ids, "problems": [p.__dict__ for p in problems]})
    else:
        for p in problems:
            click.echo(f"{p.model_id}: {p.path}: {p.problem}")
        click.echo(
            f"{len(ids)} models checked, "
            + ("all intact" if not problems else f"{len(problems)} files damaged")
        )
    sys.exit(1 if problems else 0)


def _builtin_ids(stored: list[str]) -> list[str]:
    """The built-in model's id unless an imported model of that id shadows it."""
    return [] if BUILTIN_EMBEDDING_ID in stored else [BUILTIN_EMBEDDING_ID]


def _verify_one(store: ModelStore, model_id: str, stored: list[str]) -> list[FileProblem]:
    if model_id == BUILTIN_EMBEDDING_ID and model_id not in stored:
        return check_builtin()
    return store.verify(model_id)


@models.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable JSON.")
@pass_state
def models_list(state: CliState, as_json: bool) -> None:
    """The models in the store, and the built-in embedding model."""
    manifests = build_model_store(state.settings).list_manifests()
    builtin = [describe_builtin()] if _builtin_ids([m.id for m in manifests]) else []
    if as_json:
        emit_json([_summary(m) for m in manifests] + [_builtin_summary(b) for b in builtin])
        return
    for m in manifests:
        note = "" if m.for_answers else "  (tests only, never answers)"
        click.echo(
            f"{m.id:<32} {m.task:<10} {m.family:<10} {m.format:<11} "
            f"{m.get_total_size() / 1e6:>9.1f} MB{note}"
        )
    for b in builtin:
        click.echo(
            f"{b.id:<32} {b.task:<10} {b.family:<10} {b.format:<11} "
            f"{b.size / 1e6:>9.1f} MB  (built in: {b.source})"
        )


def _summary(manifest: ModelManifest) -> dict[str, object]:
    data = manifest.model_dump(mode="json", exclude={"files", "chat_template"})
    return {
        **data,
        "files": len(manifest.files),
        "size": manifest.get_total_size(),
        "builtin": False,
    }


def _builtin_summary(model: BuiltinModel) -> dict[str, object]:
    return {
        "id": model.id,
        "family": model.family,
        "task": model.task,
        "format": model.format,
        "licence": model.licence,
        "source": model.source,
        "for_answers": True,
        "files": model.files,
        "size": model.size,
        "builtin": True,
        "pinned_sha256": {"model.safetensors": model.pinned_sha256},
    }


@models.command("remove")
@click.argument("model_id")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@pass_state
def models_remove(state: CliState, model_id: str, yes: bool) -> None:
    """Delete a model from the store."""
    store: ModelStore = build_model_store(state.settings)
    store.get_manifest(model_id)
    if not yes:
        click.confirm(f"Remove model {model_id} from {store.root}?", abort=True)
    store.remove(model_id)
    click.echo(f"removed {model_id}")


@models.command("make-tiny")
@click.option(
    "--out",
    required=True,
    type=click.Path(path_type=Path, file_okay=False),
    help="New or empty folder to write the checkpoint to.",
)
@click.option("--id", "model_id", default="tiny-llama", show_default=True, help="Model id.")
@click.option("--seed", default=0, show_default=True, help="Seed of the random weights.")
def models_make_tiny(out: Path, model_id: str, seed: int) -> None:
    """Write a tiny random-weight Llama checkpoint for tests (never for answers)."""
    manifest = build_tiny_model(out, model_id=model_id, seed=seed)
    click.echo(
        f"wrote {manifest.id} to {out}: {len(manifest.files)} files, "
        f"{manifest.parameters} parameters, random weights (seed {seed}), not for answers"
    )
    click.echo(
        f"next: airlock models import {out} --id {manifest.id} --manifest {out / 'manifest.yaml'}"
    )
