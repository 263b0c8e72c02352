"""Strict JSON Lines reading: every line an object, or an error that names the line."""

from __future__ import annotations

from pathlib import Path

import pytest

from airlock.jsonl import JsonlError, read_objects


def test_objects_come_with_their_line_numbers_and_blank_lines_are_skipped(
    tmp_path: Path,
) -> None:
    path = tmp_path / "rows.jsonl"
    path.write_text('{"a": 1}\n\n  \n{"b": 2}\n', encoding="utf-8")
    assert read_objects(path) == [(1, {"a": 1}), (4, {"b": 2})]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'{"a": 1}\n{"a": \n', "line 2 is not JSON"),
        (b'{"a": 1}\n[1, 2]\n', "line 2 is not a JSON object"),
        (b'{"a": "\xff"}\n', "cannot be read"),
    ],
)
def test_a_bad_line_or_encoding_is_named(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "rows.jsonl"
    path.write_bytes(content)
    with pytest.raises(JsonlError, match=message) as caught:
        read_objects(path)
    assert str(caught.value).startswith(f"{path}: ")


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(JsonlError, match=r"missing\.jsonl: cannot be read"):
        read_objects(tmp_path / "missing.jsonl")
