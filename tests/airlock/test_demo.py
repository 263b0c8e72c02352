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
    assert "45 documents of " in first.out and "45 new or changed" in first.out
    assert "A (extractive engine): " in first.out
    assert "A password reset link expires 30 minutes after it is sent" in first.out
    assert "[1] Reset your password (account-and-password/reset-your-password.md)" in first.out
    assert "Input guards (allowed: language: ok" in first.out  # an ordinary ticket passes
    assert "Hi, this is <PERSON_1> (<EMAIL_ADDRESS_1>, <PHONE_NUMBER_1>)." in first.out
    assert "anna.berg@example.com" not in first.out.split("the model and the logs get:")[1]
    assert "Output guards on that answer: allowed: grounding: ok" in first.out
    assert "72 hours after it is sent [1].': BLOCKED: grounding: ungrounded" in first.out
    assert "T-1001 -> auto_reply (intent account_password, route accounts)" in first.out
    assert "T-1020 -> escalate" in first.out and "asked 4 times within 24 h" in first.out
    assert "50 tickets (50 decided now, 0 in an earlier run)" in first.out
    second = run_cli("demo", "--once")  # a second run continues the same chain
    # 4 startup events, 45 documents ingested, 50 tickets received and decided, 1 stop; the
    # second run finds the documents unchanged and the tickets decided
    assert second.code == 0 and "(seq 151..154)" in second.out
    assert "(0 new or changed, 0 chunks written" in second.out
    assert "50 tickets (0 decided now, 50 in an earlier run)" in second.out
    verify = run_cli("audit", "verify")
    assert verify.code == 0 and "audit log intact: 155 events" in verify.out
    exports = sorted((tmp_path / ".airlock" / "exports").glob("*.jsonl"))
    key = tmp_path / ".airlock" / "audit-public-key.pem"
    offline = run_cli("audit", "verify", "--export", str(exports[-1]), "--public-key", str(key))
    assert offline.code == 0, offline.out
