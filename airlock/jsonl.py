"""Reading JSON Lines files of objects strictly: every line an object, or an error naming it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


class JsonlError(ValueError):
    """A file that cannot be read, or a line that is not a JSON object (`line` 0: the file)."""

    def __init__(self, path: Path, line: int, reason: str) -> None:
        self.where = f"line {line} {reason}" if line else reason
        super().__init__(f"{path}: {self.where}")
        self.path, self.line = path, line


def read_objects(path: Path) -> list[tuple[int, dict[str, Any]]]:
    """(line number, object) for every non-blank line; the first bad line raises `JsonlError`."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise JsonlError(path, 0, f"cannot be read ({exc})") from None
    rows = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as exc:
            raise JsonlError(path, number, f"is not JSON ({exc})") from None
        if not isinstance(row, dict):
            raise JsonlError(path, number, "is not a JSON object")
        rows.append((number, row))
    return rows
