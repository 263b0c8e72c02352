"""Signed exports verify offline with only the public key; any change to them is caught."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from audit.export import export_events, get_manifest_path, verify_export
from audit.log import format_ts
from audit.reader import follow
from tests.audit.conftest import AuditFixture
from tests.conftest import env_for


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_export_verifies_offline_with_public_key_only(
    make_audit: Callable[..., AuditFixture], run_cli, tmp_path: Path, fmt: str
) -> None:  # type: ignore[no-untyped-def]
    audit = make_audit()
    audit.append(25)
    env = env_for(audit.settings)
    out = tmp_path / f"export.{fmt}"
    result = run_cli("audit", "export", "--format", fmt, "--out", str(out), env=env)
    assert result.code == 0, result.err
    assert "exported 25 events" in result.out
    key = tmp_path / "auditor.pem"
    assert run_cli("audit", "public-key", "--out", str(key), env=env).code == 0
    # The auditor's machine: a copy of the files, no database, no private key.
    offline = tmp_path / "auditor"
    offline.mkdir()
    for path in (out, get_manifest_path(out), key):
        shutil.copy(path, offline / path.name)
    shutil.rmtree(audit.settings.data_dir)
    check = run_cli(
        "audit",
        "verify",
        "--json",
        "--export",
        str(offline / out.name),
        "--public-key",
        str(offline / key.name),
        env={"AIRLOCK__DATA_DIR": str(tmp_path / "nothing-here")},
    )
    assert check.code == 0, check.out + check.err
    assert json.loads(check.out) == {"ok": True, "count": 25, "problem": None}


def test_export_window_by_time_keeps_chain_links(
    make_audit: Callable[..., AuditFixture], tmp_path: Path
) -> None:
    audit = make_audit()
    audit.append(10)  # one batch: one timestamp
    since = format_ts(audit.clock.now + timedelta(milliseconds=500))  # after batch one
    audit.append(5)
    audit.append(5)
    out = tmp_path / "window.jsonl"
    manifest = export_events(audit.engine, audit.log.signer, out, since=since)
    assert (manifest.first_seq, manifest.last_seq, manifest.count) == (11, 20, 10)
    first = json.loads(out.read_text().splitlines()[0])
    assert first["seq"] == 11 and first["prev_hash"] == manifest.first_prev_hash
    assert verify_export(out, audit.log.signer.public_key).ok


@pytest.fixture
def exported(make_audit: Callable[..., AuditFixture], tmp_path: Path) -> tuple[AuditFixture, Path]:
    """Five events exported as JSON Lines with their signed manifest."""
    audit = make_audit()
    audit.append(5)
    out = tmp_path / "e.jsonl"
    export_events(audit.engine, audit.log.signer, out)
    return audit, out


def test_changed_line_in_export_fails_verification(exported: tuple[AuditFixture, Path]) -> None:
    audit, out = exported
    out.write_text(out.read_text().replace('"tenant":"acme"', '"tenant":"evil"', 1))
    check = verify_export(out, audit.log.signer.public_key)
    assert not check.ok and check.problem == "file SHA-256 differs from the signed manifest"


def test_export_checked_with_another_key_fails(exported: tuple[AuditFixture, Path]) -> None:
    _, out = exported
    intruder = Ed25519PrivateKey.generate()
    check = verify_export(out, intruder.public_key())
    assert not check.ok and "not by the given public key" in str(check.problem)


def test_export_manifest_records_count_hashes_and_signature(
    make_audit: Callable[..., AuditFixture], tmp_path: Path
) -> None:
    audit = make_audit()
    audit.append(3)
    out = tmp_path / "e.csv"
    manifest = export_events(audit.engine, audit.log.signer, out, fmt="csv")
    stored = json.loads(get_manifest_path(out).read_text())
    assert stored["count"] == 3 and stored["format"] == "csv"
    assert stored["signature"] == manifest.signature and len(stored["signature"]) == 128
    assert stored["first_prev_hash"] == "0" * 64
    assert out.read_text().splitlines()[0].startswith("seq,ts,actor_subject")


def test_tail_prints_newest_events_oldest_first(make_audit, run_cli) -> None:  # type: ignore[no-untyped-def]
    audit = make_audit()
    audit.append(7)
    result = run_cli("audit", "tail", "-n", "3", "--json", env=env_for(audit.settings))
    assert result.code == 0, result.err
    lines = [json.loads(line) for line in result.out.splitlines()]
    assert [line["seq"] for line in lines] == [5, 6, 7]
    assert lines[-1]["resource_id"] == "T-6" and lines[-1]["tenant"] == "acme"


def test_follow_yields_events_appended_later(make_audit) -> None:  # type: ignore[no-untyped-def]
    audit = make_audit()
    audit.append(2)
    stream = follow(audit.engine, after_seq=2, poll_s=0.01)
    audit.append(1)
    assert next(stream).seq == 3
