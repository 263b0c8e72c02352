"""`airlock guard pii|injection|grounding|eval`: the guards over JSON Lines files."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from airlock.cli.batch import INPUT, OUTPUT, echo_metrics, run_batch
from airlock.cli.context import CliState, emit_json, pass_state
from airlock.settings import AirlockSettings
from guardrails.batch import Row, load_labelled
from guardrails.errors import GuardInputError

LABELLED_FIELDS = {  # what `guard eval` needs in every row (the formats of ../shared/data)
    "pii": ("text", "spans"),
    "injection": ("text", "label"),
    "grounding": ("context", "answer", "label_hallucinated"),
}


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

    run_batch(input_path, output_path, process, fields=("text",), row_error=GuardInputError)


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

    run_batch(
        input_path,
        output_path,
        process,
        fields=("text",),
        optional=("context",),
        row_error=GuardInputError,
    )


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

    run_batch(
        input_path,
        output_path,
        process,
        fields=("context", "answer"),
        optional=("question",),
        row_error=GuardInputError,
    )


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
    echo_metrics(metrics)


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
