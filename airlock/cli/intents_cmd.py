"""`airlock intents train|predict|eval`: the ticket intent classifier over JSON Lines files."""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from airlock.cli.batch import INPUT, OUTPUT, echo_metrics, run_batch
from airlock.cli.context import CliState, emit_json, pass_state
from guardrails.batch import Row
from helpdesk.errors import HelpdeskError
from helpdesk.intents import DEFAULT_MODEL_DIR, IntentModel, load_intent_model

MODEL = click.option(
    "--model",
    "model_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Model folder (default: helpdesk.intent_model, else the shipped support-intent model).",
)


@click.group()
def intents() -> None:
    """Train, run and evaluate the ticket intent classifier (with out-of-scope detection)."""


@intents.command("train")
@click.option("--data", "data_path", required=True, type=click.Path(path_type=Path, exists=True))
@click.option("--val", "val_path", type=click.Path(path_type=Path, exists=True), default=None)
@click.option("--out", "out_dir", required=True, type=click.Path(path_type=Path, file_okay=False))
@click.option("--seed", type=int, default=0, show_default=True, help="Calibration folds' seed.")
@pass_state
def intents_train(
    state: CliState, *, data_path: Path, val_path: Path | None, out_dir: Path, seed: int
) -> None:
    """Train on {"text","label"} rows (label "oos": out of scope); --val calibrates the cut."""
    from helpdesk.intents.train import train_folder
    from models.embedder import load_embedder

    command = ["airlock", "intents", "train", "--data", str(data_path)]
    command += ["--val", str(val_path)] if val_path else []
    command += ["--out", "DIR", "--seed", str(seed)]
    click.echo(f"training on {data_path} (embedding every row; this takes a while) ...", err=True)
    record = train_folder(
        data_path,
        val_path,
        out_dir,
        load_embedder(state.settings),
        seed=seed,
        command=shlex.join(command),
    )
    metrics = {k: v for k, v in record["metrics"].items() if k != "per_label"}
    click.echo(f"wrote {out_dir} in {record['seconds']} s; calibrated on {record['source']}:")
    echo_metrics(metrics)


@intents.command("predict")
@MODEL
@INPUT
@OUTPUT
@pass_state
def intents_predict(
    state: CliState, *, model_dir: Path | None, input_path: Path, output_path: Path
) -> None:
    """Label tickets: {"id","text"} -> {"id","label","confidence"} ("oos": out of scope)."""
    model = _load(state, model_dir)

    def process(rows: Sequence[Row]) -> list[dict[str, Any]]:
        found = model.predict([row.data["text"] for row in rows])
        return [{"label": p.label, "confidence": round(p.confidence, 4)} for p in found]

    run_batch(input_path, output_path, process, fields=("text",), row_error=HelpdeskError)


@intents.command("eval")
@MODEL
@click.option("--data", "data_path", required=True, type=click.Path(path_type=Path, exists=True))
@click.option("--json", "as_json", is_flag=True, help="Machine-readable metrics.")
@pass_state
def intents_eval(
    state: CliState, *, model_dir: Path | None, data_path: Path, as_json: bool
) -> None:
    """Accuracy, in-scope accuracy, out-of-scope recall/precision and macro F1 on a file."""
    from helpdesk.intents import evaluate_intents, read_labelled

    metrics = evaluate_intents(_load(state, model_dir), read_labelled(data_path))
    if as_json:
        emit_json(metrics)
        return
    echo_metrics({k: v for k, v in metrics.items() if k != "per_label"})


def _load(state: CliState, model_dir: Path | None) -> IntentModel:
    """The model folder, verified against its manifest and the configured embedder."""
    from models.embedder import load_embedder

    folder = model_dir or state.settings.helpdesk.intent_model or DEFAULT_MODEL_DIR
    return load_intent_model(folder, load_embedder(state.settings))
