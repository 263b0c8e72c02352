"""`airlock guard pii|injection|grounding|eval`: the guards over JSON Lines files."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import click

from airlock.cli.context import CliState, emit_json, pass_state
from airlock.settings import AirlockSettings
from guardrails.batch import Row, RowError, jsonl_output, load_labelled, read_rows, write_line
from guardrails.errors import GuardInputError

BATCH_ROWS = 64  # rows scored together (the injection classifier embeds them in one batch)
Process = Callable[[Sequence[Row]], list[dict[str, Any]]]
LABELLED_FIELDS = {  # what `guard eval` needs in every row (the formats of ../shared/data)
    "pii": ("text", "spans"),
    "injection": ("text", "label"),
    "grounding": ("context", "answer", "label_hallucinated"),
}

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


@guard.command("injection")
@INPUT
@OUTPUT
@pass_state
def guard_injection(state: CliState, *, input_path: Path, output_path: Path) -> None:
    """Injection score: {"id","text"[,"context"]} -> {"id","score","flagged"}."""
    from guardrails.injection import build_injection_guard

    injection = build_injection_guard(state.settings)

    def process(rows: Sequence[Row]) -> list[dict[str, Any]]:
        texts = [[row.data["text"], *_contexts(row)] for row in rows]  # context: indirect
        flat = injection.score_many([text for group in texts for text in group])
        scores, start = [], 0
        for group in texts:
            scores.append(max(flat[start : start + len(group)]))
            start += len(group)
        return [{"score": round(s, 4), "flagged": s >= injection.threshold} for s in scores]

    _run_batch(input_path, output_path, ("text",), ("context",), process)


@guard.command("grounding")
@INPUT
@OUTPUT
@pass_state
def guard_grounding(state: CliState, *, input_path: Path, output_path: Path) -> None:
    """Groundedness: {"id","context","answer"[,"question"]} -> {"id","score","grounded",...}."""
    from guardrails.grounding import build_grounding_guard

    grounding = build_grounding_guard(state.settings)

    def process(rows: Sequence[Row]) -> list[dict[str, Any]]:
        results = []
        for row in rows:
            found = grounding.assess(
                row.data["answer"], _contexts(row), row.data.get("question", "")
            )
            results.append(
                {
                    "score": round(found.score, 4),
                    "grounded": found.grounded,
                    "unsupported": list(found.unsupported),
                }
            )
        return results

    _run_batch(input_path, output_path, ("context", "answer"), ("question",), process)


@guard.command("eval")
@click.argument("kind", type=click.Choice(sorted(LABELLED_FIELDS)))
@click.option("--data", "data_path", required=True, type=click.Path(path_type=Path, exists=True))
@click.option("--json", "as_json", is_flag=True, help="Machine-readable metrics.")
@pass_state
def guard_eval(state: CliState, *, kind: str, data_path: Path, as_json: bool) -> None:
    """Metrics of one guard on a labelled file (the format of ../shared/data)."""
    rows = load_labelled(data_path, LABELLED_FIELDS[kind])
    if not rows:
        raise GuardInputError(f"{data_path} has no rows", remedy="check --data")
    metrics = _evaluate(state.settings, kind, rows)
    if as_json:
        emit_json(metrics)
        return
    _echo_metrics(metrics)


def _echo_metrics(metrics: dict[str, Any], prefix: str = "") -> None:
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
            _echo_metrics(value, f"{prefix}{key}.")
        else:
            click.echo(f"{prefix + key:<34} {value}")


def _evaluate(settings: AirlockSettings, kind: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    if kind == "pii":
        from guardrails.pii import build_pii_guard, evaluate_pii

        return evaluate_pii(build_pii_guard(_no_vault(settings)), rows)
    if kind == "injection":
        from guardrails.injection import build_injection_guard, evaluate_injection

        return evaluate_injection(build_injection_guard(settings), rows)
    from guardrails.grounding import build_grounding_guard, evaluate_grounding

    return evaluate_grounding(build_grounding_guard(settings), rows)


def _no_vault(settings: AirlockSettings) -> AirlockSettings:
    """Batch commands keep nothing: vault mode (which stores originals) becomes placeholders."""
    pii = settings.guardrails.pii
    if pii.anonymize != "vault":
        return settings
    guardrails = settings.guardrails.model_copy(
        update={"pii": pii.model_copy(update={"anonymize": "placeholder"})}
    )
    return settings.model_copy(update={"guardrails": guardrails})


def _contexts(row: Row) -> list[str]:
    context = row.data.get("context") or []
    return [context] if isinstance(context, str) else list(context)


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
