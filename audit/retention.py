"""Retention: archive old events to a signed export, then delete them; the chain stays provable."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from airlock.db import write_transaction
from audit import schema
from audit.errors import AuditError
from audit.events import Actor, AuditEvent
from audit.export import export_events, verify_export
from audit.log import AuditLog
from audit.reader import get_row, get_seq_window
from audit.verify import PRUNE_ACTION, verify_log

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PruneResult:
    """What a prune did."""

    archived: int
    through_seq: int | None
    archive: Path | None
    anchor_seq: int | None


def prune_before(audit_log: AuditLog, before: str, archive_dir: Path, actor: Actor) -> PruneResult:
    """Archive and delete every event with ts < `before` (a TS_FORMAT-comparable string)."""
    engine = audit_log.engine
    report = verify_log(engine, audit_log.signer.public_key)
    if not report.ok:
        assert report.damage is not None
        raise AuditError(
            f"refusing to prune a damaged audit log (seq {report.damage.seq}: "
            f"{report.damage.kind.value})",
            remedy="run `airlock audit verify` and investigate before deleting anything",
        )
    with engine.connect() as conn:
        window = get_seq_window(conn, until=before)
    if window is None:
        return PruneResult(0, None, None, None)
    first, last = window
    archive = archive_dir / f"audit-{first:012d}-{last:012d}.jsonl"
    manifest = export_events(engine, audit_log.signer, archive, seq_range=window)
    check = verify_export(archive, audit_log.signer.public_key)
    if not check.ok:
        raise AuditError(
            f"archive {archive} failed verification ({check.problem}); nothing was deleted",
            remedy="check the archive directory's disk and try again",
        )
    with write_transaction(engine) as conn:
        row = get_row(conn, last)
        current = conn.execute(sa.select(sa.func.min(schema.events.c.seq))).scalar()
        if row is None or current != first:
            raise AuditError(
                "the audit log changed during the prune; nothing was deleted",
                remedy="run the prune again",
            )
        audit_log.sign_past(conn, last, row.hash)
        conn.execute(schema.events.delete().where(schema.events.c.seq <= last))
        details = {
            "through_seq": last,
            "through_hash": row.hash,
            "archived": last - first + 1,
            "archive": archive.name,
            "archive_sha256": manifest.file_sha256,
            "before": before,
        }
        (anchor,) = audit_log.append_in(
            conn,
            [AuditEvent(PRUNE_ACTION, actor=actor, resource_type="audit_log", details=details)],
        )
    log.info("audit log pruned", extra={"through_seq": last, "archive": str(archive)})
    return PruneResult(last - first + 1, last, archive, anchor.seq)
