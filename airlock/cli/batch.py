"""JSON Lines batch commands: one output line per input line, progress, per-row errors."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any

import click

from airlock.errors import AirlockError
from guardrails.batch import Row, RowError, jsonl_output, read_rows, write_line

BATCH_ROWS = 64  # rows processed together (classifiers embed a batch at once)
Process = Callable[[Sequence[Row]], list[dict[str, Any]]]

INPUT = click.option(
    "--input", "input_path", required=True, type=click.Path(path_type=Path, dir_okay=False)
)
OUTPUT = click.option(
    "--output", "output_path", required=True, type=click.Path(path_type=Path, dir_okay=False)
)


def echo_metrics(metrics: dict[str, Any], prefix: str = "") -> None:
    """Scalars one per line; a table of dicts (per type, per source) one row per entry."""
    for key, value in metrics.items():
        if isinstance(value, dict) and value and all(isinstance(v, dict) for v in value.values()):
            columns = list(dict.fromkeys(c for row in value.values() for c in row))
            click.echo(f"{prefix}{key}:")
            click.echo(f"  {'':<32}" + "".join(f"{c:>12}" for c in columns))
            for name, row in value.items():
                cells = "".join(f"{row.get(c, '')!s:>12}" for c in columns)
                click.echo(f"  {name:<32}{cells}")
        elif isinstance(value, dict):
            echo_metrics(value, f"{prefix}{key}.")
        else:
            click.echo(f"{prefix + key:<34} {value}")


def run_batch(
    input_path: Path,
    output_path: Path,
    process: Process,
    *,
    fields: Sequence[str],
    optional: Sequence[str] = (),
    row_error: type[AirlockError],
) -> None:
    """Read, process in batches, write one line per row; a bad row is an error line.

    `process` takes a batch and returns one result per row; when it raises `row_error` the
    batch is redone row by row, and the rows that raise it again become error lines.
    """
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
                errors += _flush(out, pending, process, row_error)
                bar.update(len(pending) + isinstance(item, RowError))
                done += len(pending)
                pending = []
        errors += _flush(out, pending, process, row_error)
        bar.update(len(pending))
        done += len(pending)
    click.echo(f"{done} rows processed, {errors} errors -> {output_path}", err=True)


def _flush(
    out: IO[str], rows: Sequence[Row], process: Process, row_error: type[AirlockError]
) -> int:
    """Process and write a batch; returns the number of error lines written."""
    if not rows:
        return 0
    try:
        results = process(rows)
    except row_error:  # e.g. one row over a limit: redo the batch row by row
        return sum(_flush_one(out, row, process, row_error) for row in rows)
    for row, result in zip(rows, results, strict=True):
        write_line(out, {"id": row.id, **result})
    return 0


def _flush_one(out: IO[str], row: Row, process: Process, row_error: type[AirlockError]) -> int:
    try:
        (result,) = process([row])
    except row_error as exc:
        write_line(out, RowError(row.line, row.id, exc.message).to_json())
        return 1
    write_line(out, {"id": row.id, **result})
    return 0
