"""SHA256SUMS parsing: entries that would leave the bundle are reported, never read."""

from __future__ import annotations

from airlock.bundle.checksums import parse_sums

HEX = "0" * 64


def test_parse_sums_reports_unsafe_and_duplicate_entries() -> None:
    text = (
        f"{HEX}  bundle.json\n"
        f"{HEX}  ../etc/passwd\n"
        f"{HEX}  /etc/shadow\n"
        f"{HEX}  bundle.json\n"
        "not a checksum line\n"
        f"{HEX} *wheelhouse/a.whl\n"
    )
    parsed = parse_sums(text)
    assert parsed.hashes == {"bundle.json": HEX, "wheelhouse/a.whl": HEX}
    assert [line.split(":")[0] for line in parsed.bad_lines] == [
        "line 2", "line 3", "line 4", "line 5"
    ]  # fmt: skip
