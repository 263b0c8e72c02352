"""`airlock guard pii|eval`: the guards over JSON Lines files."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import click

from airlock.cli.context import CliState, emit_json, pass_state
from airlock.settings import AirlockSettings
from guardrails.batch import Row, RowError, jsonl_output, read_rows, write_line
from guardrails.errors import GuardInputError

BATCH_ROWS = 64  # rows processed together (a classifier embeds a batch at once)
Process = Callable[[Sequence[Row]], list[dict[str, Any]]]

INPUT = click.option(
    "--input", "input_path", required=True, type=click.Path(path_type=Path, dir_okay=False)
)
OUTPUT = click.option(
    "--output", "output_path", required=True, type=click.Path(path_type=Path, dir_okay=False)
)


@click.group()
def guard() -> None:
    """Run the guards over JSON Lines files (one result or one error per input row)."""


@guard.command("pii")
@INPUT
@OUTPUT
@pass_state
def guard_pii(state: CliState, *, input_path: Path, output_path: Path) -> None:
    """PII entities and redacted text: {"id","text"} -> {"id","entities","redacted"}."""
    from guardrails.pii import build_pii_guard

    pii = build_pii_guard(_no_vault(state.settings))

    def process(rows: Sequence[Row]) -> list[dict[str, Any]]:
        results = []
        for row in rows:
            entities = pii.analyze(row.data["text"])
            results.append(
                {
                    "entities": [e.model_dump() for e in entities],
                    "redacted": pii.redact(row.data["text"], entities),
                }
            )
        return results

    _run_batch(input_path, output_path, ("text",), (), process)


@guard.command("eval")
@click.argument("kind", type=click.Choice(["pii"]))
@click.option("--data", "data_path", required=True, type=click.Path(path_type=Path, exists=True))
@click.option("--json", "as_json", is_flag=True, help="Machine-readable metrics.")
@pass_state
def guard_eval(state: CliState, *, kind: str, data_path: Path, as_json: bool) -> None:
    """Metrics of one guard on a labelled file (the format of ../shared/data)."""
    rows = [item.data for item in read_rows(data_path, ()) if isinstance(item, Row)]
    if not rows:
        raise GuardInputError(f"{data_path} has no readable rows", remedy="check --data")
    metrics = _evaluate(state.settings, kind, rows)
    if as_json:
        emit_json(metrics)
        return
    for key, value in metrics.items():
        click.echo(f"{key:<28} {value}")


def _evaluate(settings: AirlockSettings, kind: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Metrics of the guard `kind` (the injection and grounding guards join when they land)."""
    from guardrails.pii import build_pii_guard, evaluate_pii

    return evaluate_pii(build_pii_guard(_no_vault(settings)), rows)


def _no_vault(settings: AirlockSettings) -> AirlockSettings:
    """Batch commands keep nothing: vault mode (which stores originals) becomes placeholders."""
    pii = settings.guardrails.pii
    if pii.anonymize != "vault":
        return settings
    guardrails = settings.guardrails.model_copy(
        update={"pii": pii.model_copy(update={"anonymize": "placeholder"})}
    )
    return settings.model_copy(update={"guardrails": guardrails})


def _run_batch(
    input_path: Path,
    output_path: Path,
    fields: Sequence[str],
    optional: Sequence[str],
    process: Process,
) -> None:
    """Read, process in batches, write one line per row; a bad row is an error line."""
    total = sum(1 for line in input_path.open("rb") if line.strip())
    done = errors = 0
    with (
        jsonl_output(output_path) as out,
        click.progressbar(length=total, label="rows", file=sys.stderr) as bar,
    ):
        pending: list[Row] = []
        for item in read_rows(input_path, fields, optional):
            if isinstance(item, RowError):
                write_line(out, item.to_json())
                errors += 1
            else:
                pending.append(item)
            if len(pending) >= BATCH_ROWS or isinstance(item, RowError):
                errors += _flush(out, pending, process)
                bar.update(len(pending) + isinstance(item, RowError))
                done += len(pending)
                pending = []
        errors += _flush(out, pending, process)
        bar.update(len(pending))
        done += len(pending)
    click.echo(f"{done} rows processed, {errors} errors -> {output_path}", err=True)


def _flush(out: Any, rows: Sequence[Row], process: Process) -> int:
    """Process and write a batch; returns the number of error lines written."""
    if not rows:
        return 0
    try:
        results = process(rows)
    except GuardInputError:  # one row over a limit: redo the batch row by row
        return sum(_flush_one(out, row, process) for row in rows)
    for row, result in zip(rows, results, strict=True):
        write_line(out, {"id": row.id, **result})
    return 0


def _flush_one(out: Any, row: Row, process: Process) -> int:
    try:
        (result,) = process([row])
    except GuardInputError as exc:
        write_line(out, RowError(row.line, row.id, exc.message).to_json())
        return 1
    write_line(out, {"id": row.id, **result})
    return 0
