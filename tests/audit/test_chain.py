"""Appending builds an intact hash chain with signed checkpoints; bad events and keys refused."""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import stat
from collections.abc import Callable

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from audit import schema
from audit.chain import GENESIS_HASH
from audit.errors import AuditEventError, AuditKeyError
from audit.events import AuditEvent
from audit.log import AuditLog
from audit.signing import load_signer
from audit.verify import verify_log
from tests.audit.conftest import AuditFixture


def test_appended_events_form_a_contiguous_linked_chain(
    make_audit: Callable[..., AuditFixture],
) -> None:
    audit = make_audit()
    first = audit.log.append(AuditEvent("system.started"))
    rest = audit.log.append_many([AuditEvent("ticket.received", tenant="acme")] * 3)
    records = [first, *rest]
    assert [r.seq for r in records] == [1, 2, 3, 4]
    assert records[0].prev_hash == GENESIS_HASH
    for prev, record in itertools.pairwise(records):
        assert record.prev_hash == prev.hash
    # The hash is SHA-256 over the canonical JSON of every field but itself (what auditors check).
    fields = records[2].to_dict()
    del fields["hash"]
    payload = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert hashlib.sha256(payload.encode()).hexdigest() == records[2].hash
    assert verify_log(audit.engine, audit.log.signer.public_key).ok


def test_checkpoint_is_signed_every_n_events_and_at_shutdown(
    make_audit: Callable[..., AuditFixture],
) -> None:
    audit = make_audit(checkpoint_every_events=5)
    audit.append(12)
    with audit.engine.connect() as conn:
        seqs = conn.execute(sa.select(schema.checkpoints.c.seq)).scalars().all()
    assert seqs == [12]  # one batch of 12 crosses the threshold once, at its end
    audit.append(3)  # 15: three since the last checkpoint
    audit.append(3)  # 18: six since, past the threshold
    audit.append(1)  # 19: pending until shutdown
    audit.log.close()
    with audit.engine.connect() as conn:
        seqs = conn.execute(sa.select(schema.checkpoints.c.seq)).scalars().all()
    assert seqs == [12, 18, 19]


def test_checkpoint_is_written_when_the_last_is_older_than_the_interval(
    make_audit: Callable[..., AuditFixture],
) -> None:
    audit = make_audit()
    log = AuditLog(
        audit.engine,
        audit.log.signer,
        checkpoint_every_events=10**6,
        checkpoint_every_s=5,
        clock=audit.clock,
    )
    for _ in range(8):  # the step clock advances one second per call
        log.append(AuditEvent("tick"))
    with audit.engine.connect() as conn:
        assert (
            conn.execute(sa.select(sa.func.count()).select_from(schema.checkpoints)).scalar() >= 1
        )


def test_details_with_raw_personal_data_keys_are_refused_and_nothing_written(
    make_audit: Callable[..., AuditFixture],
) -> None:
    audit = make_audit()
    with pytest.raises(AuditEventError, match="raw-data keys"):
        audit.log.append_many([AuditEvent("ok"), AuditEvent("bad", details={"email": "a@b.c"})])
    with audit.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(schema.events)).scalar() == 0


def test_signing_key_is_generated_with_mode_0600(make_audit: Callable[..., AuditFixture]) -> None:
    audit = make_audit()
    mode = stat.S_IMODE(os.stat(audit.settings.get_signing_key_path()).st_mode)
    assert mode == 0o600


def test_damaged_key_file_is_refused_with_path_and_remedy(
    make_audit: Callable[..., AuditFixture],
) -> None:
    audit = make_audit()
    path = audit.settings.get_signing_key_path()
    path.write_text("-----BEGIN PRIVATE KEY-----\nnot base64 at all\n-----END PRIVATE KEY-----\n")
    with pytest.raises(AuditKeyError) as info:
        load_signer(path, create=True)
    assert str(path) in str(info.value) and "restore it from backup" in str(info.value)


def test_replaced_key_file_is_refused_by_the_log_it_does_not_match(
    make_audit: Callable[..., AuditFixture],
) -> None:
    audit = make_audit()
    audit.append(2)
    path = audit.settings.get_signing_key_path()
    other = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    path.write_bytes(other)
    with pytest.raises(AuditKeyError, match="not the key this audit log is signed with"):
        AuditLog(audit.engine, load_signer(path, create=False))


def test_key_file_readable_by_others_is_refused(make_audit: Callable[..., AuditFixture]) -> None:
    audit = make_audit()
    path = audit.settings.get_signing_key_path()
    path.chmod(0o644)
    with pytest.raises(AuditKeyError, match="chmod 600"):
        load_signer(path, create=False)
