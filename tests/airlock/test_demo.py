"""`airlock demo --once` runs what exists end to end and says what it did."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import CliResult


def test_demo_once_serves_the_api_and_decides_the_example_tickets_over_http(
    tmp_path: Path, run_cli, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    env = {"AIRLOCK__API__PORT": "0"}  # any free loopback port
    first: CliResult = run_cli("demo", "--once", env=env)
    assert first.code == 0, first.err
    assert "Appended 4 audit events (seq 1..4)" in first.out
    assert "intact" in first.out and "FAILED" not in first.out
    assert "Embedding model all-minilm-l6-v2 loaded after its pinned SHA-256 matched" in first.out
    assert "45 documents of " in first.out and "45 new or changed" in first.out
    assert "(client-credentials grant, python-keycloak)" in first.out
    rows = {line.split()[0]: line.split() for line in first.out.splitlines() if " T-10" in line}
    assert rows["T-1001"][1:4] == ["account_password", "P4", "auto_reply"]
    assert rows["T-1005"][1:4] == ["legal_threat", "P1", "escalate"]
    assert rows["T-1008"][3] == "escalate" and "(injection)" in " ".join(rows["T-1008"])
    assert "asked 4 times within 24 h" in " ".join(rows["T-1020"])
    assert len(rows) == 50
    assert "50 tickets decided in" in first.out
    assert "/docs" in first.out and "/metrics" in first.out
    assert "/realms/airlock/.well-known/openid-configuration" in first.out
    second = run_cli("demo", "--once", env=env)  # a second run continues the same chain
    # 4 startup events, 45 documents ingested, 1 stop, 50 tickets received and decided; the
    # second run finds the documents unchanged and every ticket already decided (same key)
    assert second.code == 0 and "(seq 151..154)" in second.out, second.err
    assert "(0 new or changed, 0 chunks written" in second.out
    assert "50 tickets decided in" in second.out
    verify = run_cli("audit", "verify")
    assert verify.code == 0 and "audit log intact: 155 events" in verify.out
    exports = sorted((tmp_path / ".airlock" / "exports").glob("*.jsonl"))
    key = tmp_path / ".airlock" / "audit-public-key.pem"
    offline = run_cli("audit", "verify", "--export", str(exports[-1]), "--public-key", str(key))
    assert offline.code == 0, offline.out
