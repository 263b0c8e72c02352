"""Labelled injection rows (JSON Lines: text, label 1 = injection, optional source and category)."""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from guardrails.batch import load_labelled
from guardrails.errors import GuardInputError

NOTINJECT_PREFIX = "piguard/NotInject"


def _check_row(row: Any, where: str) -> dict[str, Any]:
    """The row if it has a text and a 0/1 label, else an error naming where it is."""
    if not isinstance(row, dict):
        raise GuardInputError(f"{where}: a row must be a JSON object")
    if not isinstance(row.get("text"), str):
        raise GuardInputError(f"{where}: field 'text' (a string) is missing")
    if row.get("label") not in (0, 1) or isinstance(row.get("label"), bool):
        raise GuardInputError(f"{where}: field 'label' must be 0 (benign) or 1 (injection)")
    return row


def check_rows(rows: Sequence[Any]) -> list[dict[str, Any]]:
    """Rows already in memory, each checked for text and label."""
    return [_check_row(row, f"row {number}") for number, row in enumerate(rows, 1)]


def load_rows(paths: Sequence[Path]) -> list[dict[str, Any]]:
    """Every row of the given JSON Lines files, checked; blank lines are skipped."""
    return [
        _check_row(row, f"{path} row {number}")
        for path in paths
        for number, row in enumerate(load_labelled(path), 1)
    ]


def is_notinject(row: dict[str, Any]) -> bool:
    """Whether a row is from the benign-with-trigger-words NotInject sets."""
    return str(row.get("source") or "").startswith(NOTINJECT_PREFIX)


def parse_benign_spec(spec: str) -> tuple[Path, str]:
    """`PATH[:FIELD]` of a benign corpus; the field defaults to `text`."""
    if Path(spec).is_file() or ":" not in spec:
        return Path(spec), "text"
    path, _, field = spec.rpartition(":")
    return Path(path), field or "text"


def load_benign(
    spec: str, *, limit: int, seed: int, weight: float, window: Callable[[str], list[str]]
) -> list[dict[str, Any]]:
    """Benign rows from any JSON Lines corpus (tickets, FAQ answers, passages), sampled.

    Distinct texts of FIELD are shuffled with `seed` and cut to `limit`; long texts are split
    with `window` so each row is what the guard will score. Rows carry `weight` for training.
    """
    path, field = parse_benign_spec(spec)
    texts: set[str] = set()
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        try:
            value = json.loads(line).get(field) if line.strip() else ""
        except (ValueError, AttributeError):
            raise GuardInputError(f"{path}:{number}: not a JSON object") from None
        if not isinstance(value, str):
            raise GuardInputError(f"{path}:{number}: field {field!r} (a string) is missing")
        if value.strip():
            texts.add(value)
    chosen = sorted(texts)
    random.Random(seed).shuffle(chosen)
    parts = [part for text in chosen[:limit] for part in window(text) if part.strip()]
    return [
        {"id": f"{path.stem}:{n}", "text": part, "label": 0, "source": f"benign:{path.stem}",
         "weight": weight}
        for n, part in enumerate(parts)
    ]  # fmt: skip
