"""The PII master key: wraps each data subject's vault key and salts hashed placeholders.

Dev: generated on first use as data_dir/keys/pii-master.key (mode 0600), like the audit key.
Production refuses a generated key: provision 32 random bytes, base64-encoded, in a file with
mode 0600 or 0400 (e.g. `head -c 32 /dev/urandom | base64 > pii-master.key`) and point
`guardrails.pii.key_file` at it. Losing the key loses every vault original; back it up apart
from the database, or crypto-shredding does not hold for database backups.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from airlock.settings import AirlockSettings
from guardrails.errors import GuardModelError

KEY_BYTES = 32
DEFAULT_KEY_NAME = "pii-master.key"


def derive_key(secret: bytes, purpose: str) -> bytes:
    """A 32-byte key for one purpose ("vault-kek", "hash-salt", ...) derived with HKDF-SHA256."""
    hkdf = HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=purpose.encode())
    return hkdf.derive(secret)


@dataclass(frozen=True)
class MasterKey:
    """The loaded master secret and where it came from."""

    secret: bytes
    path: Path

    def derive(self, purpose: str) -> bytes:
        """A purpose-bound key, so one secret never serves two algorithms."""
        return derive_key(self.secret, f"airlock-pii/{purpose}")

    @property
    def key_id(self) -> str:
        """Fingerprint stored beside what this key wrapped (detects a swapped key file)."""
        return hashlib.sha256(self.derive("key-id")).hexdigest()[:32]


def get_key_path(settings: AirlockSettings) -> Path:
    """Where the PII master key lives (`guardrails.pii.key_file` once settings carry it)."""
    configured: Path | None = getattr(settings.guardrails.pii, "key_file", None)
    return configured or settings.data_dir / "keys" / DEFAULT_KEY_NAME


def load_master_key(settings: AirlockSettings) -> MasterKey:
    """Load the master key; in the dev profile, generate it when missing."""
    path = get_key_path(settings)
    if (
        settings.profile == "production"
        and getattr(settings.guardrails.pii, "key_file", None) is None
    ):
        raise GuardModelError(
            "profile 'production' refuses an auto-generated PII master key",
            remedy="provision 32 random bytes (base64) and set guardrails.pii.key_file",
        )
    if not path.exists():
        if settings.profile == "production":
            raise GuardModelError(
                f"PII master key {path} does not exist", remedy="restore it from backup"
            )
        return MasterKey(_generate(path), path)
    return MasterKey(_read(path), path)


def _read(path: Path) -> bytes:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise GuardModelError(
            f"PII master key {path} is accessible by group or others (mode {mode:04o})",
            remedy=f"run `chmod 600 {path}` (or mount the secret with mode 0400)",
        )
    try:
        secret = base64.b64decode(path.read_bytes().strip(), validate=True)
    except (OSError, binascii.Error, ValueError) as exc:
        raise GuardModelError(
            f"PII master key {path} cannot be read as base64 ({exc})",
            remedy="restore the key file from backup",
        ) from None
    if len(secret) != KEY_BYTES:
        raise GuardModelError(
            f"PII master key {path} holds {len(secret)} bytes, not {KEY_BYTES}",
            remedy="restore the key file from backup",
        )
    return secret


def _generate(path: Path) -> bytes:
    secret = secrets.token_bytes(KEY_BYTES)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(base64.b64encode(secret) + b"\n")
            handle.flush()
            os.fsync(handle.fileno())
        # link() fails if another process created the key meanwhile: then that one wins.
        os.link(tmp, path)
    except FileExistsError:
        return _read(path)
    except OSError as exc:
        raise GuardModelError(
            f"PII master key {path} cannot be created ({exc.strerror})",
            remedy="make its directory writable or set guardrails.pii.key_file",
        ) from None
    finally:
        tmp.unlink(missing_ok=True)
    return secret
