"""SHA256SUMS: one `<hex>  <path>` line per file, the format `sha256sum -c` reads."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from airlock.bundle.errors import BundleError
from models.store import hash_file

LINE = re.compile(r"^(?P<hex>[0-9a-f]{64}) [ *](?P<path>.+)$")


@dataclass(frozen=True)
class SumsParse:
    """The listed hashes by path, and the lines that could not be read."""

    hashes: dict[str, str]
    bad_lines: list[str]


def render_sums(root: Path, paths: list[str]) -> str:
    """The SHA256SUMS text for `paths` (relative to `root`), sorted by path."""
    lines = []
    for rel in sorted(paths):
        if not is_safe_path(rel):
            raise BundleError(
                f"{rel!r} cannot be listed in SHA256SUMS (newline, backslash or '..' in its name)",
                remedy="rename the file; sha256sum would escape its name and verification differ",
            )
        lines.append(f"{hash_file(root / rel)}  {rel}\n")
    return "".join(lines)


def parse_sums(text: str) -> SumsParse:
    """Read SHA256SUMS; unsafe paths, duplicates and malformed lines are reported, not read."""
    hashes: dict[str, str] = {}
    bad: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        match = LINE.match(line)
        if match is None or not is_safe_path(match["path"]) or match["path"] in hashes:
            bad.append(f"line {number}: {line[:120]!r}")
            continue
        hashes[match["path"]] = match["hex"]
    return SumsParse(hashes, bad)


def is_safe_path(rel: str) -> bool:
    """A relative '/'-path that stays inside the bundle and needs no escaping by sha256sum."""
    parts = PurePosixPath(rel).parts
    return (
        bool(parts)
        and not rel.startswith("/")
        and ".." not in parts
        and not any(c in rel for c in "\n\r\\")
    )
