"""Labelled intent rows: reading JSON Lines strictly, checking rows, bounding text length."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path

from airlock.jsonl import JsonlError, read_objects
from helpdesk.errors import IntentDataError

OOS_LABEL = "oos"
# Texts are cut to this prefix before any work: the embedder reads 256 word pieces anyway,
# and a bounded prefix keeps a 1 MB ticket as cheap as a short one.
MAX_TEXT_CHARS = 2000
_ROW_HELP = 'each line must be a JSON object {"text": "...", "label": "..."}'


def clip_text(text: str) -> str:
    """The text stripped and cut to its first MAX_TEXT_CHARS characters."""
    return text[: MAX_TEXT_CHARS * 2].strip()[:MAX_TEXT_CHARS]


def read_labelled(path: Path) -> list[dict[str, str]]:
    """Rows {"text", "label"} of a JSON Lines file; the first bad line raises, naming file:line."""
    try:
        objects = read_objects(path)
    except JsonlError as exc:
        where = f"{path}:{exc.line}" if exc.line else str(path)
        raise IntentDataError(f"{where}: {exc.where}", remedy=_ROW_HELP) from None
    rows = []
    for number, obj in objects:
        problem = _row_problem(obj)
        if problem:
            raise IntentDataError(f"{path}:{number}: {problem}", remedy=_ROW_HELP)
        rows.append({"text": obj["text"], "label": obj["label"].strip()})
    return rows


def check_rows(rows: Sequence[dict[str, str]], name: str) -> None:
    """Raise IntentDataError naming the first row (1-based) that lacks a text or label."""
    for number, row in enumerate(rows, 1):
        problem = _row_problem(row) if isinstance(row, dict) else "is not an object"
        if problem:
            raise IntentDataError(f"{name} row {number}: {problem}", remedy=_ROW_HELP)


def _row_problem(row: Mapping[str, object]) -> str:
    for field in ("text", "label"):
        value = row.get(field)
        if value is None:
            return f"missing field {field!r}"
        if not isinstance(value, str):
            return f"field {field!r} is {type(value).__name__}, not a string"
    label = str(row["label"]).strip()
    if not label:
        return "field 'label' is empty"
    return ""


def check_trainable(rows: Sequence[dict[str, str]]) -> None:
    """Raise IntentDataError unless the rows hold at least two in-scope labels."""
    labels = {row["label"].strip() for row in rows if row["label"].strip() != OOS_LABEL}
    if len(labels) < 2:
        raise IntentDataError(
            f"training data has {len(labels)} in-scope label(s) ({sorted(labels)}); "
            "a classifier needs at least 2",
            remedy=f"add examples of at least two intents (label {OOS_LABEL!r} marks off-topic)",
        )


def describe_rows(rows: Sequence[dict[str, str]]) -> dict[str, object]:
    """Rows, SHA-256 of their canonical JSON and per-label counts, for a manifest."""
    digest = hashlib.sha256()
    for row in rows:
        line = json.dumps({"text": row["text"], "label": row["label"]}, ensure_ascii=False)
        digest.update(line.encode("utf-8") + b"\n")
    counts = Counter(row["label"].strip() for row in rows)
    return {
        "rows": len(rows),
        "sha256": digest.hexdigest(),
        "labels": dict(sorted(counts.items())),
    }
