"""Retention: prune archives first, deletes second; the chain stays verifiable across the cut."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
import sqlalchemy as sa

from audit import schema
from audit.errors import AuditError
from audit.events import Actor, AuditEvent
from audit.export import verify_export
from audit.log import format_ts
from audit.retention import prune_before
from audit.verify import PRUNE_ACTION, DamageKind, verify_log
from tests.audit.conftest import AuditFixture

OPERATOR = Actor(subject="local:operator", client_id="airlock-cli")


def fill(audit: AuditFixture, batches: int) -> list[str]:
    """Append `batches` single events; return each one's timestamp."""
    return [audit.log.append(AuditEvent("ticket.closed", tenant="acme")).ts for _ in range(batches)]


def test_prune_archives_then_deletes_and_chain_still_verifies(
    make_audit: Callable[..., AuditFixture],
) -> None:
    audit = make_audit(checkpoint_every_events=7)
    stamps = fill(audit, 30)
    archive_dir = audit.settings.get_archive_dir()
    result = prune_before(audit.log, stamps[20], archive_dir, OPERATOR)  # events 1..20
    assert (result.archived, result.through_seq, result.anchor_seq) == (20, 20, 31)
    assert (
        result.archive is not None and verify_export(result.archive, audit.log.signer.public_key).ok
    )
    report = verify_log(audit.engine, audit.log.signer.public_key)
    assert report.ok, report.damage
    assert (report.first_seq, report.last_seq, report.pruned_through_seq) == (21, 31, 20)
    with audit.engine.connect() as conn:
        anchor = conn.execute(sa.select(schema.events).where(schema.events.c.seq == 31)).one()
    assert anchor.action == PRUNE_ACTION and '"through_seq":20' in anchor.details
    # A second prune chains onto the first: its archive starts where the first one ended.
    fill(audit, 3)
    second = prune_before(
        audit.log, format_ts(audit.clock.now + timedelta(seconds=30)), archive_dir, OPERATOR
    )
    assert second.through_seq == 34
    assert verify_log(audit.engine, audit.log.signer.public_key).ok


def test_deleting_old_events_without_prune_is_detected(
    make_audit: Callable[..., AuditFixture],
) -> None:
    audit = make_audit()
    fill(audit, 10)
    with audit.engine.begin() as conn:
        conn.execute(schema.events.delete().where(schema.events.c.seq <= 4))
    report = verify_log(audit.engine, audit.log.signer.public_key)
    assert report.damage is not None
    assert (report.damage.seq, report.damage.kind) == (1, DamageKind.DELETED)


def test_prune_refuses_a_damaged_log_and_deletes_nothing(
    make_audit: Callable[..., AuditFixture],
) -> None:
    audit = make_audit()
    stamps = fill(audit, 10)
    with audit.engine.begin() as conn:
        conn.execute(schema.events.update().where(schema.events.c.seq == 3).values(tenant="x"))
    with pytest.raises(AuditError, match="refusing to prune a damaged audit log"):
        prune_before(audit.log, stamps[8], audit.settings.get_archive_dir(), OPERATOR)
    with audit.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(schema.events)).scalar() == 10


def test_prune_with_nothing_old_enough_changes_nothing(
    make_audit: Callable[..., AuditFixture],
) -> None:
    audit = make_audit()
    fill(audit, 3)
    result = prune_before(
        audit.log, "2000-01-01T00:00:00.000000Z", audit.settings.get_archive_dir(), OPERATOR
    )
    assert result.archived == 0 and result.archive is None
    assert verify_log(audit.engine, audit.log.signer.public_key).events_checked == 3


def test_cli_prune_then_verify(make_audit, run_cli) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import env_for

    audit = make_audit()
    fill(audit, 5)  # clock is in January 2026
    env = env_for(audit.settings)
    result = run_cli("audit", "prune", "--before", "2026-06-01", "--yes", env=env)
    assert result.code == 0, result.err
    assert "archived 5 events through seq 5" in result.out
    verify = run_cli("audit", "verify", env=env)
    assert verify.code == 0 and "pruned through seq 5" in verify.out
