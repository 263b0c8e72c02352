"""Ed25519 keys that sign checkpoints and exports; the public half is what auditors hold."""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from airlock.errors import AirlockError
from audit.errors import AuditKeyError


def get_key_id(public_key: Ed25519PublicKey) -> str:
    """SHA-256 (hex) of the raw public key bytes."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


def get_public_pem(public_key: Ed25519PublicKey) -> str:
    """The public key as SubjectPublicKeyInfo PEM text."""
    return public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def verify_signature(public_key: Ed25519PublicKey, signature_hex: str, message: bytes) -> bool:
    """True when `signature_hex` is a valid signature of `message` by `public_key`."""
    try:
        public_key.verify(bytes.fromhex(signature_hex), message)
    except (InvalidSignature, ValueError):
        return False
    return True


@dataclass(frozen=True)
class AuditSigner:
    """A loaded private key."""

    private_key: Ed25519PrivateKey
    path: Path

    @property
    def public_key(self) -> Ed25519PublicKey:
        """The public half."""
        return self.private_key.public_key()

    @property
    def key_id(self) -> str:
        """Fingerprint recorded beside every signature."""
        return get_key_id(self.public_key)

    def sign(self, message: bytes) -> str:
        """Ed25519 signature (hex)."""
        return self.private_key.sign(message).hex()


@dataclass(frozen=True)
class KeyFileRemedies:
    """What to tell the operator for each way a private key file can be wrong."""

    exposed: str
    unreadable: str
    wrong_type: str


def read_private_key(
    path: Path, *, label: str, error: type[AirlockError], remedies: KeyFileRemedies
) -> Ed25519PrivateKey:
    """An unencrypted Ed25519 PEM private key that only its owner can read, or `error`."""
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise error(
            f"{label} {path} is readable by group or others (mode {mode:04o})",
            remedy=remedies.exposed,
        )
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (ValueError, TypeError, OSError) as exc:
        raise error(
            f"{label} {path} cannot be read as an unencrypted Ed25519 PEM key ({exc})",
            remedy=remedies.unreadable,
        ) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise error(
            f"{label} {path} is a {type(key).__name__}, not Ed25519", remedy=remedies.wrong_type
        )
    return key


def load_signer(path: Path, *, create: bool) -> AuditSigner:
    """Load the private key at `path`; with `create`, generate it (mode 0600) when missing."""
    if not path.exists():
        if not create:
            raise AuditKeyError(
                f"audit signing key {path} does not exist",
                remedy="restore it from backup or set audit.signing_key_file",
            )
        return AuditSigner(_generate(path), path)
    key = read_private_key(
        path,
        label="audit signing key",
        error=AuditKeyError,
        remedies=KeyFileRemedies(
            exposed=f"run `chmod 600 {path}` (or mount the secret with mode 0400)",
            unreadable="the file was damaged or replaced: restore it from backup",
            wrong_type="restore the original key file from backup",
        ),
    )
    return AuditSigner(key, path)


def _generate(path: Path) -> Ed25519PrivateKey:
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = path.with_name(f".{path.name}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
            handle.flush()
            os.fsync(handle.fileno())
        # link() fails if another process created the key meanwhile: then that one wins.
        os.link(tmp, path)
        tmp.unlink()
    except FileExistsError:
        tmp.unlink(missing_ok=True)
        return load_signer(path, create=False).private_key
    except OSError as exc:
        raise AuditKeyError(
            f"audit signing key {path} cannot be created ({exc.strerror})",
            remedy="make its directory writable or set audit.signing_key_file",
        ) from None
    return key


def load_public_key(path: Path) -> Ed25519PublicKey:
    """Load a public key PEM, or derive it from a private key PEM."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise AuditKeyError(
            f"public key {path} cannot be read ({exc.strerror})",
            remedy="pass the file written by `airlock audit public-key`",
        ) from None
    try:
        if b"PRIVATE KEY" in data:
            private = serialization.load_pem_private_key(data, password=None)
            if isinstance(private, Ed25519PrivateKey):
                return private.public_key()
        else:
            public = serialization.load_pem_public_key(data)
            if isinstance(public, Ed25519PublicKey):
                return public
    except ValueError as exc:
        raise AuditKeyError(
            f"public key {path} is not a valid PEM key ({exc})",
            remedy="pass the file written by `airlock audit public-key`",
        ) from None
    raise AuditKeyError(
        f"key {path} is not an Ed25519 key",
        remedy="pass the file written by `airlock audit public-key`",
    )
