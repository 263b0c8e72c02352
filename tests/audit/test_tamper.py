"""`audit verify` names the first bad seq and the kind of damage, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
import sqlalchemy as sa
from sqlalchemy import Connection

from audit import schema
from audit.chain import hash_stored_row
from audit.reader import iter_rows
from audit.verify import DamageKind, verify_log
from tests.audit.conftest import AuditFixture
from tests.conftest import env_for

EVENTS = schema.events


def modify_details(conn: Connection) -> None:
    conn.execute(EVENTS.update().where(EVENTS.c.seq == 5).values(details='{"channel":"phone"}'))


def delete_one(conn: Connection) -> None:
    conn.execute(EVENTS.delete().where(EVENTS.c.seq == 5))


def delete_and_renumber(conn: Connection) -> None:
    conn.execute(EVENTS.delete().where(EVENTS.c.seq == 5))
    for seq in range(6, 14):
        conn.execute(EVENTS.update().where(EVENTS.c.seq == seq).values(seq=seq - 1))
    conn.execute(schema.head.update().values(last_seq=12))


def swap_two(conn: Connection) -> None:
    conn.execute(EVENTS.update().where(EVENTS.c.seq == 5).values(seq=-1))
    conn.execute(EVENTS.update().where(EVENTS.c.seq == 6).values(seq=5))
    conn.execute(EVENTS.update().where(EVENTS.c.seq == -1).values(seq=6))


def truncate_tail(conn: Connection) -> None:
    conn.execute(EVENTS.delete().where(EVENTS.c.seq >= 12))


def forge_signature(conn: Connection) -> None:
    row = conn.execute(sa.select(schema.checkpoints).order_by(schema.checkpoints.c.seq)).first()
    assert row is not None
    flipped = ("0" if row.signature[0] != "0" else "1") + row.signature[1:]
    conn.execute(
        schema.checkpoints.update()
        .where(schema.checkpoints.c.id == row.id)
        .values(signature=flipped)
    )


@pytest.mark.parametrize(
    ("tamper", "first_bad", "kind"),
    [
        (modify_details, 5, DamageKind.MODIFIED),
        (delete_one, 5, DamageKind.DELETED),
        (delete_and_renumber, 5, DamageKind.DELETED),
        (swap_two, 5, DamageKind.REORDERED),
        (truncate_tail, 12, DamageKind.TRUNCATED),
        (forge_signature, 10, DamageKind.BAD_SIGNATURE),
    ],
)
def test_verify_names_first_bad_seq_and_kind(
    make_audit: Callable[..., AuditFixture],
    tamper: Callable[[Connection], None],
    first_bad: int,
    kind: DamageKind,
) -> None:
    audit = make_audit(checkpoint_every_events=10)
    for _ in range(13):  # checkpoint at 10; 11..13 are after the last checkpoint
        audit.append(1)
    assert verify_log(audit.engine, audit.log.signer.public_key).ok
    with audit.engine.begin() as conn:
        tamper(conn)
    report = verify_log(audit.engine, audit.log.signer.public_key)
    assert not report.ok
    assert report.damage is not None
    assert (report.damage.seq, report.damage.kind) == (first_bad, kind)


def test_rewriting_the_chain_without_the_key_is_caught_by_the_checkpoint(
    make_audit: Callable[..., AuditFixture],
) -> None:
    audit = make_audit(checkpoint_every_events=10)
    for _ in range(13):
        audit.append(1)
    with audit.engine.begin() as conn:
        rows = list(iter_rows(conn))
        prev = rows[2].prev_hash
        for row in rows[2:]:  # change event 3 and re-hash everything after it, head included
            values = list(row)
            if row.seq == 3:
                values[11] = json.dumps({"channel": "forged"})
            values[-2] = prev
            values[-1] = hash_stored_row(values)
            conn.execute(
                EVENTS.update()
                .where(EVENTS.c.seq == row.seq)
                .values(details=values[11], prev_hash=values[-2], hash=values[-1])
            )
            prev = values[-1]
        conn.execute(schema.head.update().values(last_hash=prev))
    report = verify_log(audit.engine, audit.log.signer.public_key)
    assert report.damage is not None
    assert (report.damage.seq, report.damage.kind) == (10, DamageKind.MODIFIED)


def test_cli_verify_exits_1_and_reports_damage_as_json(make_audit, run_cli) -> None:  # type: ignore[no-untyped-def]
    audit = make_audit()
    audit.append(8)
    env = env_for(audit.settings)
    intact = run_cli("audit", "verify", "--json", env=env)
    assert intact.code == 0, intact.err
    assert json.loads(intact.out)["ok"] is True
    with audit.engine.begin() as conn:
        modify_details(conn)
    damaged = run_cli("audit", "verify", "--json", env=env)
    assert damaged.code == 1
    report = json.loads(damaged.out)
    assert report["ok"] is False
    assert report["damage"]["seq"] == 5
    assert report["damage"]["kind"] == "modified_event"
    human = run_cli("audit", "verify", env=env)
    assert human.code == 1 and "AUDIT LOG DAMAGED at seq 5: modified_event" in human.out
