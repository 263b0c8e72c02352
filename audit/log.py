"""Appending to the audit chain: serialized across processes, durable when the call returns."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection, Engine

from airlock.db import describe_storage_failure, write_transaction
from airlock.settings import AirlockSettings
from audit import schema
from audit.chain import canonical_json, hash_fields
from audit.errors import AuditEventError, AuditKeyError
from audit.events import OUTCOMES, AuditEvent, AuditRecord
from audit.signing import AuditSigner, get_public_pem, load_signer

log = logging.getLogger(__name__)

TS_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
# Keys that name raw personal data or free text; details must carry redacted values or hashes.
PII_KEYS = frozenset(
    {
        "text",
        "body",
        "prompt",
        "answer",
        "email",
        "phone",
        "name",
        "address",
        "password",
        "ssn",
        "iban",
        "card_number",
        "ticket_text",
        "message",
    }
)


def format_ts(moment: datetime) -> str:
    """Fixed-width UTC timestamp whose string order is its time order."""
    return moment.astimezone(UTC).strftime(TS_FORMAT)


def utc_now() -> datetime:
    """The current UTC time."""
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class _Prepared:
    """An event validated and serialized outside the lock."""

    event: AuditEvent
    roles: list[str]
    roles_json: str
    details: Any
    details_json: str


@dataclass(frozen=True)
class Checkpoint:
    """A signed statement that the chain had `hash` at `seq`."""

    seq: int
    hash: str
    ts: str
    key_id: str
    signature: str


def checkpoint_message(seq: int, hash_: str, ts: str, key_id: str) -> bytes:
    """The bytes a checkpoint signature covers."""
    return canonical_json({"hash": hash_, "key_id": key_id, "seq": seq, "ts": ts}).encode()


class AuditLog:
    """Appends events to the hash chain and writes signed checkpoints."""

    def __init__(
        self,
        engine: Engine,
        signer: AuditSigner,
        *,
        checkpoint_every_events: int = 1000,
        checkpoint_every_s: float = 300.0,
        max_details_bytes: int = 16384,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.engine = engine
        self.signer = signer
        self.checkpoint_every_events = checkpoint_every_events
        self.checkpoint_every_s = checkpoint_every_s
        self.max_details_bytes = max_details_bytes
        self._clock = clock
        self._register_key()

    def append(self, event: AuditEvent) -> AuditRecord:
        """Append one event; it is committed (durable per storage settings) on return."""
        return self.append_many([event])[0]

    def append_many(self, batch: Sequence[AuditEvent]) -> list[AuditRecord]:
        """Append events in one transaction: all of them or none."""
        prepared = [self._prepare(event) for event in batch]
        if not prepared:
            return []
        try:
            with write_transaction(self.engine) as conn:
                return self._append_locked(conn, prepared)
        except sa.exc.SQLAlchemyError as exc:
            raise describe_storage_failure(self.engine, exc) from None

    def append_in(self, conn: Connection, batch: Sequence[AuditEvent]) -> list[AuditRecord]:
        """Append inside a `write_transaction` the caller holds (commits with the caller's work)."""
        return self._append_locked(conn, [self._prepare(event) for event in batch])

    def sign_past(self, conn: Connection, seq: int, hash_: str) -> Checkpoint:
        """Sign a checkpoint for an earlier point of the chain without moving the head's mark."""
        return self._write_checkpoint(conn, seq, hash_, move_head=False)

    def checkpoint(self) -> Checkpoint | None:
        """Sign the current head now if any event is not yet covered; return the checkpoint."""
        with write_transaction(self.engine) as conn:
            head = _lock_head(conn)
            if head.last_seq in (0, head.checkpoint_seq):
                return None
            return self._write_checkpoint(conn, head.last_seq, head.last_hash)

    def close(self) -> None:
        """Shutdown: sign a checkpoint over whatever is not yet covered."""
        self.checkpoint()

    def _prepare(self, event: AuditEvent) -> _Prepared:
        if not event.action:
            raise AuditEventError("audit event without an action", remedy="name the action")
        if event.outcome not in OUTCOMES:
            raise AuditEventError(
                f"audit outcome {event.outcome!r} is not one of {', '.join(OUTCOMES)}",
                remedy="use one of the allowed outcomes",
            )
        leaked = sorted(k for k in event.details if str(k).lower() in PII_KEYS)
        if leaked:
            raise AuditEventError(
                f"audit details for {event.action!r} carry raw-data keys {leaked}",
                remedy="pass redacted values or hashes under other keys",
            )
        try:
            details = canonical_json(dict(event.details))
        except (TypeError, ValueError) as exc:
            raise AuditEventError(
                f"audit details for {event.action!r} are not JSON ({exc})",
                remedy="pass plain JSON values",
            ) from None
        if len(details.encode()) > self.max_details_bytes:
            raise AuditEventError(
                f"audit details for {event.action!r} exceed {self.max_details_bytes} bytes",
                remedy="store references or hashes, not content",
            )
        roles = sorted(str(role) for role in event.roles)
        # The hash covers the JSON form, so hash what a reader will parse back (json.loads).
        return _Prepared(event, roles, canonical_json(roles), json.loads(details), details)

    def _append_locked(self, conn: Connection, prepared: list[_Prepared]) -> list[AuditRecord]:
        head = _lock_head(conn)
        seq, prev_hash = head.last_seq, head.last_hash
        # Timestamps never go backwards along the chain, even if the wall clock does.
        ts = max(format_ts(self._clock()), head.last_ts)
        rows: list[dict[str, object]] = []
        records: list[AuditRecord] = []
        for item in prepared:
            seq += 1
            event = item.event
            # Empty optional strings are stored as NULL so that every export format round-trips.
            values: list[Any] = [
                seq,
                ts,
                event.actor.subject or None,
                event.actor.client_id or None,
                item.roles,
                event.tenant or None,
                event.action,
                event.resource_type or None,
                event.resource_id or None,
                event.outcome,
                event.request_id or None,
                item.details,
                prev_hash,
            ]
            digest = hash_fields(values)
            stored = [*values, digest]
            stored[4], stored[11] = item.roles_json, item.details_json
            rows.append(dict(zip(schema.EVENT_COLUMNS, stored, strict=True)))
            values[4] = tuple(item.roles)
            records.append(AuditRecord(*values, digest))  # type: ignore[call-arg]
            prev_hash = digest
        conn.execute(schema.events.insert(), rows)
        checkpoint_ts = head.checkpoint_ts or ts
        due = seq - head.checkpoint_seq >= self.checkpoint_every_events or (
            _seconds_between(checkpoint_ts, ts) >= self.checkpoint_every_s
        )
        values_head: dict[str, object] = {"last_seq": seq, "last_hash": prev_hash, "last_ts": ts}
        if not due:
            values_head["checkpoint_ts"] = checkpoint_ts
        conn.execute(schema.head.update().where(schema.head.c.id == 1).values(**values_head))
        if due:
            self._write_checkpoint(conn, seq, prev_hash)
        return records

    def _write_checkpoint(
        self, conn: Connection, seq: int, hash_: str, *, move_head: bool = True
    ) -> Checkpoint:
        ts = format_ts(self._clock())
        key_id = self.signer.key_id
        signature = self.signer.sign(checkpoint_message(seq, hash_, ts, key_id))
        checkpoint = Checkpoint(seq, hash_, ts, key_id, signature)
        conn.execute(schema.checkpoints.insert().values(**checkpoint.__dict__))
        if move_head:
            conn.execute(
                schema.head.update()
                .where(schema.head.c.id == 1)
                .values(checkpoint_seq=seq, checkpoint_ts=ts)
            )
        return checkpoint

    def _register_key(self) -> None:
        """Record our public key; refuse a key file that is not the one the log was signed with."""
        with write_transaction(self.engine) as conn:
            known = conn.execute(sa.select(schema.keys.c.key_id)).scalars().all()
            if self.signer.key_id in known:
                return
            if known:
                raise AuditKeyError(
                    f"audit signing key {self.signer.path} (key id {self.signer.key_id[:16]}) "
                    f"is not the key this audit log is signed with ({known[-1][:16]})",
                    remedy="the key file was replaced: restore the original from backup",
                )
            conn.execute(
                schema.keys.insert().values(
                    key_id=self.signer.key_id,
                    public_key_pem=get_public_pem(self.signer.public_key),
                    created_at=format_ts(self._clock()),
                )
            )


def _lock_head(conn: Connection) -> sa.Row[tuple[int, int, str, str, int, str]]:
    query = sa.select(schema.head).where(schema.head.c.id == 1).with_for_update()
    return conn.execute(query).one()


def _seconds_between(earlier: str, later: str) -> float:
    start = datetime.strptime(earlier, TS_FORMAT)
    end = datetime.strptime(later, TS_FORMAT)
    return (end - start).total_seconds()


def build_audit_log(settings: AirlockSettings, engine: Engine) -> AuditLog:
    """The audit log of these settings; the dev profile generates a missing signing key."""
    signer = load_signer(settings.get_signing_key_path(), create=settings.profile == "dev")
    return AuditLog(
        engine,
        signer,
        checkpoint_every_events=settings.audit.checkpoint_every_events,
        checkpoint_every_s=settings.audit.checkpoint_every_s,
        max_details_bytes=settings.audit.max_details_bytes,
    )
