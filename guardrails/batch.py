"""JSON Lines in and out for the batch commands: one result or one error per input row."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from airlock.jsonl import JsonlError, read_objects
from guardrails.errors import GuardInputError


@dataclass(frozen=True)
class Row:
    """One valid input row."""

    line: int
    id: str
    data: dict[str, Any]


@dataclass(frozen=True)
class RowError:
    """One input row that cannot be processed; the batch goes on."""

    line: int
    id: str
    error: str

    def to_json(self) -> dict[str, Any]:
        """The output line for this row."""
        return {"id": self.id, "error": self.error, "line": self.line}


def read_rows(
    path: Path, text_fields: Sequence[str], optional: Sequence[str] = ()
) -> Iterator[Row | RowError]:
    """Rows of a JSON Lines file; undecodable, malformed or incomplete rows become errors.

    `text_fields` must be present and strings (free of NUL characters, which mark binary
    content); a field named `context` may also be a list of strings. `optional` fields are
    checked the same way when present.
    """
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise GuardInputError(
            f"cannot read {path}: {exc.strerror}", remedy="check the --input path"
        ) from None
    with handle:
        for number, raw in enumerate(handle, 1):
            if raw.strip():
                yield _parse(number, raw, text_fields, optional)


def _parse(
    number: int, raw: bytes, text_fields: Sequence[str], optional: Sequence[str]
) -> Row | RowError:
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        return RowError(number, "", f"not valid UTF-8 (byte {exc.start} of the line)")
    except json.JSONDecodeError as exc:
        return RowError(number, "", f"not a JSON object ({exc.msg}, column {exc.colno})")
    if not isinstance(data, dict):
        return RowError(number, "", "not a JSON object")
    row_id = str(data.get("id", f"line-{number}"))
    for field in [*text_fields, *(f for f in optional if f in data)]:
        problem = _field_problem(field, data.get(field))
        if problem:
            return RowError(number, row_id, problem)
    return Row(number, row_id, data)


def _field_problem(field: str, value: Any) -> str:
    if value is None:
        return f"missing field {field!r}"
    values = value if field == "context" and isinstance(value, list) else [value]
    if not all(isinstance(v, str) for v in values):
        kind = "a string or a list of strings" if field == "context" else "a string"
        return f"field {field!r} must be {kind}"
    if any("\x00" in v for v in values):
        return f"field {field!r} holds binary content (NUL characters)"
    return ""


@contextmanager
def jsonl_output(path: Path) -> Iterator[IO[str]]:
    """Write JSON Lines to `path.partial`, renamed to `path` when the batch completes.

    An interrupted batch leaves its rows so far in the `.partial` file.
    """
    partial = path.with_name(path.name + ".partial")
    try:
        handle = partial.open("w", encoding="utf-8")
    except OSError as exc:
        raise GuardInputError(
            f"cannot write {partial}: {exc.strerror}", remedy="check the --output path"
        ) from None
    with handle:
        yield handle
    os.replace(partial, path)


def write_line(handle: IO[str], record: dict[str, Any]) -> None:
    """One output row."""
    handle.write(json.dumps(record, ensure_ascii=False) + "\n")


def load_labelled(path: Path, required: Sequence[str] = ()) -> list[dict[str, Any]]:
    """Every row of a labelled JSON Lines file (for eval and training), all or an error.

    Unlike `read_rows`, one bad line stops the run: metrics over a silently shortened file
    would mislead. The error names the file, the line and the missing fields.
    """
    try:
        rows = read_objects(path)
    except JsonlError as exc:
        raise GuardInputError(str(exc), remedy="pass a UTF-8 JSON Lines file") from None
    for number, row in rows:
        missing = [field for field in required if field not in row]
        if missing:
            raise GuardInputError(f"{path}:{number}: lacks {', '.join(missing)}")
    return [row for _, row in rows]
