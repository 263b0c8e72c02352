"""`airlock demo --once` runs what exists end to end and says what it did."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import CliResult


def test_demo_once_writes_verifies_and_exports_the_audit_log(
    tmp_path: Path, run_cli, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    first: CliResult = run_cli("demo", "--once")
    assert first.code == 0, first.err
    assert "Appended 4 audit events (seq 1..4)" in first.out
    assert "intact" in first.out and "FAILED" not in first.out
    assert "Embedding model all-minilm-l6-v2 loaded after its pinned SHA-256 matched" in first.out
    assert "A (extractive): " in first.out
    assert "The reset link expires after 30 minutes. [1]" in first.out
    second = run_cli("demo", "--once")  # a second run continues the same chain
    assert second.code == 0 and "(seq 6..9)" in second.out
    verify = run_cli("audit", "verify")
    assert verify.code == 0 and "audit log intact: 10 events" in verify.out
    exports = sorted((tmp_path / ".airlock" / "exports").glob("*.jsonl"))
    key = tmp_path / ".airlock" / "audit-public-key.pem"
    offline = run_cli("audit", "verify", "--export", str(exports[-1]), "--public-key", str(key))
    assert offline.code == 0, offline.out
