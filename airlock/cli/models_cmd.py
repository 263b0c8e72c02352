"""`airlock models import|verify|list|remove`."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from airlock.cli.context import CliState, emit_json, pass_state
from models.manifest import ModelManifest
from models.registry import build_model_store
from models.store import ModelStore, list_source_files

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
    ids = [model_id] if model_id else [m.id for m in store.list_manifests()]
    problems = [p for i in ids for p in store.verify(i)]
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


@models.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable JSON.")
@pass_state
def models_list(state: CliState, as_json: bool) -> None:
    """The models in the store."""
    manifests = build_model_store(state.settings).list_manifests()
    if as_json:
        emit_json([_summary(m) for m in manifests])
        return
    for m in manifests:
        note = "" if m.for_answers else "  (tests only, never answers)"
        click.echo(
            f"{m.id:<32} {m.task:<10} {m.family:<10} {m.format:<11} "
            f"{m.get_total_size() / 1e6:>9.1f} MB{note}"
        )


def _summary(manifest: ModelManifest) -> dict[str, object]:
    data = manifest.model_dump(mode="json", exclude={"files", "chat_template"})
    return {**data, "files": len(manifest.files), "size": manifest.get_total_size()}


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
