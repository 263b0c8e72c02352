"""`airlock bundle keygen`: a private key only its owner reads, and its public half."""

from __future__ import annotations

import stat
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from airlock.bundle.keys import check_signature, load_signing_key, load_verify_key


def test_keygen_writes_private_0600_and_public_pem(tmp_path: Path, run_cli) -> None:
    result = run_cli("bundle", "keygen", "--out", str(tmp_path / "signer.pem"))
    assert result.code == 0, result.err
    private, public = tmp_path / "signer.pem", tmp_path / "signer.pub.pem"
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    key = load_signing_key(private)
    verify_key = load_verify_key(public)
    assert isinstance(verify_key, Ed25519PublicKey)
    assert check_signature(verify_key, key.sign(b"SHA256SUMS"), b"SHA256SUMS")
    assert not check_signature(verify_key, key.sign(b"SHA256SUMS"), b"SHA256SUMS!")


def test_keygen_refuses_to_overwrite(tmp_path: Path, run_cli) -> None:
    assert run_cli("bundle", "keygen", "--out", str(tmp_path / "k.pem")).code == 0
    before = (tmp_path / "k.pem").read_bytes()
    result = run_cli("bundle", "keygen", "--out", str(tmp_path / "k.pem"))
    assert result.code == 2
    assert "already exists" in result.err
    assert (tmp_path / "k.pem").read_bytes() == before


def test_verify_refuses_unreadable_public_key(tmp_path: Path, run_cli) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "bad.pem").write_text("not a key")
    result = run_cli(
        "bundle", "verify", str(tmp_path / "b"), "--public-key", str(tmp_path / "bad.pem")
    )
    assert result.code == 2
    assert "not a valid PEM key" in result.err
