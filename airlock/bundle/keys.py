"""The bundle's Ed25519 signing key: create a pair, load either half, sign and check."""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from airlock.bundle.errors import BundleKeyError
from audit.errors import AuditKeyError
from audit.signing import (
    KeyFileRemedies,
    get_public_pem,
    load_public_key,
    load_signer,
    read_private_key,
    verify_signature,
)

KEYGEN_HINT = "create a pair with `airlock bundle keygen --out KEY.pem`"


def get_public_path(private_path: Path) -> Path:
    """KEY.pem -> KEY.pub.pem (the name `keygen` gives the public half)."""
    stem = private_path.name.removesuffix(".pem")
    return private_path.with_name(f"{stem}.pub.pem")


def generate_key_pair(private_path: Path) -> Path:
    """Write a new private key (mode 0600) and its public half; refuse to overwrite either."""
    public_path = get_public_path(private_path)
    for path in (private_path, public_path):
        if path.exists():
            raise BundleKeyError(
                f"{path} already exists", remedy="choose another --out; keys are never overwritten"
            )
    try:
        signer = load_signer(private_path, create=True)  # audit's atomic 0600 key writer
        fd = os.open(public_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(get_public_pem(signer.public_key))
    except (AuditKeyError, OSError) as exc:
        raise BundleKeyError(
            f"cannot write the key pair {private_path} ({exc})",
            remedy="choose a writable folder for --out",
        ) from None
    return public_path


def load_signing_key(path: Path) -> Ed25519PrivateKey:
    """A PKCS8 PEM Ed25519 private key that only its owner can read."""
    if not path.is_file():
        raise BundleKeyError(f"signing key {path} does not exist", remedy=KEYGEN_HINT)
    return read_private_key(
        path,
        label="signing key",
        error=BundleKeyError,
        remedies=KeyFileRemedies(
            exposed=f"run `chmod 600 {path}`", unreadable=KEYGEN_HINT, wrong_type=KEYGEN_HINT
        ),
    )


def load_verify_key(path: Path) -> Ed25519PublicKey:
    """The signer's public key (PEM), as obtained apart from the bundle."""
    try:
        return load_public_key(path)
    except AuditKeyError as exc:
        raise BundleKeyError(
            exc.message,
            remedy="pass the signer's public key PEM (KEY.pub.pem), obtained apart from the bundle",
        ) from None


def check_signature(public_key: Ed25519PublicKey, signature: bytes, message: bytes) -> bool:
    """True when `signature` (raw 64 bytes) signs `message` under `public_key`."""
    return len(signature) == 64 and verify_signature(public_key, signature.hex(), message)
