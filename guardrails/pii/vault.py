"""The PII vault: originals sealed with AES-GCM under a key per data subject, crypto-shreddable.

Each subject's key is random, stored wrapped (AES-GCM) by a key derived from the master key.
Sealed originals sit beside it, keyed by the subject key's id, the scope (a ticket) and the
placeholder. Erasing the subject deletes the key, so no copy of a sealed original (a database
backup, an export) can be opened again: `reveal` then raises `VaultKeyMissingError`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from airlock.db import describe_storage_failure, write_transaction
from guardrails.errors import GuardModelError, VaultKeyMissingError
from guardrails.pii.keys import KEY_BYTES, MasterKey, derive_key
from guardrails.pii.schema import VAULT_ENTRIES, VAULT_KEYS

NONCE_BYTES = 12
PLACEHOLDER = re.compile(r"<([A-Z][A-Z0-9_]*)_(\d+)>")


@dataclass(frozen=True)
class _SubjectKey:
    key_id: str
    secret: bytes

    def mac(self, entity_type: str, normalized: str) -> str:
        """A keyed fingerprint of a value: finds its placeholder without decrypting anything."""
        key = derive_key(self.secret, "airlock-pii/vault-mac")
        return hmac.new(key, f"{entity_type}\0{normalized}".encode(), hashlib.sha256).hexdigest()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class PiiVault:
    """Seals originals per data subject; reveals them on request; erases a subject's key."""

    def __init__(self, engine: sa.Engine, master: MasterKey) -> None:
        self.engine = engine
        self.master = master
        self._kek = AESGCM(master.derive("vault-kek"))

    def assign(
        self, tenant: str, subject_id: str, scope: str, items: Sequence[tuple[str, str, str]]
    ) -> list[str]:
        """Placeholders for (type, value, normalized value) items; new values are sealed."""
        try:
            return self._assign(tenant, subject_id, scope, items)
        except IntegrityError:
            # Another worker created the subject's key or a placeholder meanwhile: redo once.
            return self._assign(tenant, subject_id, scope, items)

    def _assign(
        self, tenant: str, subject_id: str, scope: str, items: Sequence[tuple[str, str, str]]
    ) -> list[str]:
        try:
            with write_transaction(self.engine) as conn:
                key = self._subject_key(conn, tenant, subject_id) or self._create_key(
                    conn, tenant, subject_id
                )
                known, counts = self._scope_entries(conn, key.key_id, scope)
                placeholders = []
                for entity_type, value, normalized in items:
                    mac = key.mac(entity_type, normalized)
                    if mac not in known:
                        counts[entity_type] = counts.get(entity_type, 0) + 1
                        known[mac] = f"<{entity_type}_{counts[entity_type]}>"
                        self._seal(
                            conn,
                            key,
                            scope=scope,
                            placeholder=known[mac],
                            entity_type=entity_type,
                            value=value,
                            mac=mac,
                        )
                    placeholders.append(known[mac])
                return placeholders
        except IntegrityError:
            raise
        except SQLAlchemyError as exc:
            raise describe_storage_failure(self.engine, exc) from None

    def reveal(self, text: str, *, tenant: str, subject_id: str, scope: str = "") -> str:
        """`text` with the subject's placeholders replaced by their originals."""
        try:
            with self.engine.connect() as conn:
                key = self._subject_key(conn, tenant, subject_id, lock=False)
                if key is None:
                    raise VaultKeyMissingError(
                        f"no vault key for subject {subject_id!r} of tenant {tenant!r}",
                        remedy="the subject was erased (or never sealed): originals are gone",
                    )
                rows = conn.execute(
                    sa.select(VAULT_ENTRIES.c.placeholder, VAULT_ENTRIES.c.sealed).where(
                        VAULT_ENTRIES.c.key_id == key.key_id, VAULT_ENTRIES.c.scope == scope
                    )
                ).all()
        except SQLAlchemyError as exc:
            raise describe_storage_failure(self.engine, exc) from None
        originals = {
            row.placeholder: self._open(key, scope, row.placeholder, row.sealed) for row in rows
        }
        return PLACEHOLDER.sub(lambda m: originals.get(m.group(), m.group()), text)

    def erase_subject(self, tenant: str, subject_id: str) -> bool:
        """Delete the subject's key and sealed originals; True when there was a key."""
        return bool(shred_subject_keys(self.engine, subject_id, (tenant,)))

    def _subject_key(
        self, conn: sa.Connection, tenant: str, subject_id: str, *, lock: bool = True
    ) -> _SubjectKey | None:
        keys = VAULT_KEYS.c
        query = sa.select(keys.key_id, keys.master_key_id, keys.wrapped_key).where(
            keys.tenant == tenant, keys.subject_id == subject_id
        )
        # PostgreSQL: one writer per subject at a time (SQLite's write lock already serializes).
        row = conn.execute(query.with_for_update() if lock else query).first()
        if row is None:
            return None
        if row.master_key_id != self.master.key_id:
            raise GuardModelError(
                f"vault key of subject {subject_id!r} was wrapped by another PII master key",
                remedy=f"restore the master key that was in use (now {self.master.path})",
            )
        blob = base64.b64decode(row.wrapped_key)
        aad = f"pii-vault-key\0{tenant}\0{subject_id}".encode()
        try:
            secret = self._kek.decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], aad)
        except InvalidTag:
            raise GuardModelError(
                f"vault key of subject {subject_id!r} does not open (altered row)",
                remedy="restore the pii_vault_keys table from backup",
            ) from None
        return _SubjectKey(row.key_id, secret)

    def _create_key(self, conn: sa.Connection, tenant: str, subject_id: str) -> _SubjectKey:
        key = _SubjectKey(secrets.token_hex(16), secrets.token_bytes(KEY_BYTES))
        nonce = secrets.token_bytes(NONCE_BYTES)
        aad = f"pii-vault-key\0{tenant}\0{subject_id}".encode()
        wrapped = nonce + self._kek.encrypt(nonce, key.secret, aad)
        conn.execute(
            sa.insert(VAULT_KEYS).values(
                tenant=tenant,
                subject_id=subject_id,
                key_id=key.key_id,
                master_key_id=self.master.key_id,
                wrapped_key=_b64(wrapped),
                created_at=_now(),
            )
        )
        return key

    @staticmethod
    def _scope_entries(
        conn: sa.Connection, key_id: str, scope: str
    ) -> tuple[dict[str, str], dict[str, int]]:
        entries = VAULT_ENTRIES.c
        rows = conn.execute(
            sa.select(entries.placeholder, entries.value_mac).where(
                entries.key_id == key_id, entries.scope == scope
            )
        ).all()
        known = {row.value_mac: row.placeholder for row in rows}
        counts: dict[str, int] = {}
        for row in rows:
            match = PLACEHOLDER.fullmatch(row.placeholder)
            if match:
                counts[match[1]] = max(counts.get(match[1], 0), int(match[2]))
        return known, counts

    @staticmethod
    def _seal(
        conn: sa.Connection,
        key: _SubjectKey,
        *,
        scope: str,
        placeholder: str,
        entity_type: str,
        value: str,
        mac: str,
    ) -> None:
        nonce = secrets.token_bytes(NONCE_BYTES)
        sealed = nonce + AESGCM(key.secret).encrypt(
            nonce, value.encode("utf-8"), f"{scope}\0{placeholder}".encode()
        )
        conn.execute(
            sa.insert(VAULT_ENTRIES).values(
                key_id=key.key_id,
                scope=scope,
                placeholder=placeholder,
                entity_type=entity_type,
                value_mac=mac,
                sealed=_b64(sealed),
                created_at=_now(),
            )
        )

    @staticmethod
    def _open(key: _SubjectKey, scope: str, placeholder: str, sealed: str) -> str:
        blob = base64.b64decode(sealed)
        try:
            plain = AESGCM(key.secret).decrypt(
                blob[:NONCE_BYTES], blob[NONCE_BYTES:], f"{scope}\0{placeholder}".encode()
            )
        except InvalidTag:
            raise GuardModelError(
                f"sealed original {placeholder} does not match its key (altered row)",
                remedy="restore the pii_vault_entries table from backup",
            ) from None
        return plain.decode("utf-8")


def shred_subject_keys(
    engine: sa.Engine, subject_id: str, tenants: Sequence[str] | None = None
) -> tuple[str, ...]:
    """Delete a subject's vault keys and sealed originals (no master key needed).

    `tenants` None: every tenant. Returns the tenants whose key was deleted.
    """
    keys = VAULT_KEYS.c
    query = sa.select(keys.tenant, keys.key_id).where(keys.subject_id == subject_id)
    if tenants is not None:
        query = query.where(keys.tenant.in_(list(tenants)))
    try:
        with write_transaction(engine) as conn:
            found = conn.execute(query).all()
            key_ids = [row.key_id for row in found]
            if key_ids:
                conn.execute(sa.delete(VAULT_ENTRIES).where(VAULT_ENTRIES.c.key_id.in_(key_ids)))
                conn.execute(sa.delete(VAULT_KEYS).where(keys.key_id.in_(key_ids)))
    except SQLAlchemyError as exc:
        raise describe_storage_failure(engine, exc) from None
    return tuple(sorted(str(row.tenant) for row in found))
