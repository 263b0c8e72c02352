"""Verifying the audit chain: recompute every hash, follow every link, check signed checkpoints."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import Connection, Engine

from audit import schema
from audit.chain import GENESIS_HASH, hash_stored_row
from audit.log import checkpoint_message
from audit.reader import get_row, iter_rows
from audit.signing import get_key_id, verify_signature

PRUNE_ACTION = "audit.pruned"
# How far from its slot a moved event is looked for when telling reordering from modification.
MOVE_WINDOW = 64


class DamageKind(StrEnum):
    """What went wrong at the first bad sequence number."""

    MODIFIED = "modified_event"
    DELETED = "deleted_event"
    REORDERED = "reordered_events"
    TRUNCATED = "truncated_after_checkpoint"
    BAD_SIGNATURE = "bad_checkpoint_signature"


@dataclass(frozen=True)
class Damage:
    """The first problem found, by sequence number."""

    seq: int
    kind: DamageKind
    detail: str


@dataclass(frozen=True)
class VerifyReport:
    """Outcome of one verification run."""

    events_checked: int
    first_seq: int | None
    last_seq: int | None
    checkpoints_checked: int
    last_checkpoint_seq: int | None
    pruned_through_seq: int | None
    damage: Damage | None

    @property
    def ok(self) -> bool:
        """True when the log is intact."""
        return self.damage is None

    def to_dict(self) -> dict[str, Any]:
        """JSON data for `--json`."""
        return {"ok": self.ok, **asdict(self)}


@dataclass
class _Scan:
    events: int = 0
    first_seq: int | None = None
    last_seq: int | None = None
    last_hash: str = GENESIS_HASH
    damage: Damage | None = None


def verify_log(engine: Engine, public_key: Ed25519PublicKey) -> VerifyReport:
    """Verify the whole stored chain against the auditor's public key."""
    with engine.connect() as conn:
        checkpoints = conn.execute(
            sa.select(schema.checkpoints).order_by(schema.checkpoints.c.seq)
        ).all()
        head = conn.execute(sa.select(schema.head).where(schema.head.c.id == 1)).one()
        first = conn.execute(sa.select(sa.func.min(schema.events.c.seq))).scalar()
        start_prev, pruned, damage = _starting_point(conn, first, checkpoints)
        wanted = {cp.seq for cp in checkpoints}
        seen: dict[int, str] = {}
        scan = _scan(conn, first, start_prev, wanted, seen) if damage is None else _Scan()
    findings = [d for d in (damage, scan.damage) if d is not None]
    findings += _check_head(head, scan)
    findings += _check_checkpoints(checkpoints, public_key, scan, seen, first)
    return VerifyReport(
        events_checked=scan.events,
        first_seq=scan.first_seq,
        last_seq=scan.last_seq,
        checkpoints_checked=len(checkpoints),
        last_checkpoint_seq=checkpoints[-1].seq if checkpoints else None,
        pruned_through_seq=pruned,
        damage=min(findings, key=lambda d: d.seq) if findings else None,
    )


def _starting_point(
    conn: Connection, first: int | None, checkpoints: Sequence[sa.Row[Any]]
) -> tuple[str, int | None, Damage | None]:
    """The prev_hash the first stored event must carry: genesis, or a prune anchor's cut."""
    if first is None or first == 1:
        return GENESIS_HASH, None, None
    anchors = conn.execute(
        sa.select(schema.events.c.details)
        .where(schema.events.c.action == PRUNE_ACTION)
        .order_by(schema.events.c.seq.desc())
    ).scalars()
    for details in anchors:
        cut = json.loads(details)
        if cut.get("through_seq") != first - 1:
            continue
        signed = any(cp.seq == first - 1 and cp.hash == cut["through_hash"] for cp in checkpoints)
        if not signed:
            return (
                GENESIS_HASH,
                None,
                Damage(
                    first - 1, DamageKind.MODIFIED, "prune anchor names a cut no checkpoint signed"
                ),
            )
        return str(cut["through_hash"]), first - 1, None
    return (
        GENESIS_HASH,
        None,
        Damage(
            1,
            DamageKind.DELETED,
            f"events before seq {first} are missing and no prune anchor covers them",
        ),
    )


def _scan(
    conn: Connection, first: int | None, prev_hash: str, wanted: set[int], seen: dict[int, str]
) -> _Scan:
    scan = _Scan(first_seq=first, last_hash=prev_hash)
    expected = first
    for row in iter_rows(conn):
        seq, stored_prev, stored_hash = row.seq, row.prev_hash, row.hash
        if seq != expected:
            scan.damage = Damage(expected, DamageKind.DELETED, f"seq {expected} is missing")  # type: ignore[arg-type]
            break
        if hash_stored_row(row) != stored_hash:
            scan.damage = _classify_mismatch(conn, row)
            break
        if stored_prev != scan.last_hash:
            scan.damage = Damage(
                max(seq - 1, 1),
                DamageKind.MODIFIED,
                f"event {seq} is chained to a different predecessor than the stored one",
            )
            break
        if seq in wanted:
            seen[seq] = stored_hash
        scan.events += 1
        scan.last_seq, scan.last_hash = seq, stored_hash
        expected = seq + 1
    return scan


def _classify_mismatch(conn: Connection, row: sa.Row[Any]) -> Damage:
    """An event whose hash does not recompute: changed in place, moved, or shifted by a delete."""
    seq, stored_hash = row[0], row[-1]
    for offset in range(1, MOVE_WINDOW + 1):
        for slot in (seq + offset, seq - offset):
            if slot < 1 or hash_stored_row(row, seq=slot) != stored_hash:
                continue
            other = get_row(conn, slot)
            swapped = other is not None and hash_stored_row(other, seq=seq) == other[-1]
            if swapped or slot < seq:
                return Damage(
                    min(seq, slot),
                    DamageKind.REORDERED,
                    f"the event stored at seq {seq} belongs at seq {slot}",
                )
            return Damage(
                seq,
                DamageKind.DELETED,
                f"events {seq}..{slot - 1} were removed and later events renumbered",
            )
    return Damage(seq, DamageKind.MODIFIED, f"event {seq} does not match its hash")


def _check_head(head: sa.Row[Any], scan: _Scan) -> list[Damage]:
    if scan.damage is not None:
        return []
    last = scan.last_seq or 0
    if head.last_seq > last:
        return [
            Damage(
                last + 1,
                DamageKind.TRUNCATED,
                f"the chain head records seq {head.last_seq}, the log ends at {last}",
            )
        ]
    if head.last_seq < last:
        return [
            Damage(
                head.last_seq + 1,
                DamageKind.MODIFIED,
                f"events after the recorded head (seq {head.last_seq}) were added",
            )
        ]
    if last and head.last_hash != scan.last_hash:
        return [Damage(last, DamageKind.MODIFIED, "the last event differs from the chain head")]
    return []


def _check_checkpoints(
    checkpoints: Sequence[sa.Row[Any]],
    public_key: Ed25519PublicKey,
    scan: _Scan,
    seen: dict[int, str],
    first: int | None,
) -> list[Damage]:
    trusted = get_key_id(public_key)
    verified_to = scan.damage.seq - 1 if scan.damage else scan.last_seq or 0
    found: list[Damage] = []
    for cp in checkpoints:
        message = checkpoint_message(cp.seq, cp.hash, cp.ts, cp.key_id)
        if cp.key_id != trusted or not verify_signature(public_key, cp.signature, message):
            found.append(
                Damage(
                    cp.seq,
                    DamageKind.BAD_SIGNATURE,
                    f"checkpoint at seq {cp.seq} is not signed by key {trusted[:16]}",
                )
            )
        elif cp.seq > verified_to and scan.damage is None:
            found.append(
                Damage(
                    verified_to + 1,
                    DamageKind.TRUNCATED,
                    f"a signed checkpoint covers seq {cp.seq}, the log ends at {verified_to}",
                )
            )
        elif cp.seq in seen and seen[cp.seq] != cp.hash:
            found.append(
                Damage(
                    cp.seq,
                    DamageKind.MODIFIED,
                    f"event {cp.seq} differs from its signed checkpoint",
                )
            )
        elif first is not None and cp.seq >= first and cp.seq <= verified_to and cp.seq not in seen:
            found.append(
                Damage(cp.seq, DamageKind.DELETED, f"checkpointed seq {cp.seq} is missing")
            )
    return found
