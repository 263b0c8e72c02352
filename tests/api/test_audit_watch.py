"""The periodic audit verification: its result becomes the metrics the alert rules read."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from api.auditwatch import AuditWatch
from api.metrics import ApiMetrics
from audit import schema
from tests.api.test_metrics_api import sample
from tests.audit.conftest import AuditFixture, make_audit

__all__ = ["make_audit"]  # the fixture, imported for these tests


def verify(watch: AuditWatch) -> str:
    return asyncio.run(watch.verify_once())


def test_metrics_give_no_verdict_before_the_first_verification() -> None:
    text = ApiMetrics().render().decode()
    assert math.isnan(sample(text, "airlock_audit_chain_intact") or 0.0)
    assert sample(text, "airlock_audit_verifications_total", result="broken") == 0


def test_watch_reports_an_intact_chain_then_a_broken_one(
    make_audit: Callable[..., AuditFixture],
) -> None:
    audit = make_audit()
    audit.append(8)
    metrics = ApiMetrics()
    watch = AuditWatch(audit.engine, audit.log.signer.public_key, metrics, every_s=3600)

    assert verify(watch) == "intact"
    text = metrics.render().decode()
    assert sample(text, "airlock_audit_chain_intact") == 1
    assert sample(text, "airlock_audit_verifications_total", result="intact") == 1
    assert (sample(text, "airlock_audit_last_verification_timestamp_seconds") or 0) > 0

    with audit.engine.begin() as conn:
        conn.execute(
            schema.events.update().where(schema.events.c.seq == 5).values(tenant="someone-else")
        )
    assert verify(watch) == "broken"
    text = metrics.render().decode()
    assert sample(text, "airlock_audit_chain_intact") == 0
    assert sample(text, "airlock_audit_verifications_total", result="broken") == 1


def test_watch_counts_an_unreadable_store_as_an_error(
    make_audit: Callable[..., AuditFixture],
) -> None:
    audit = make_audit()
    audit.append(3)
    metrics = ApiMetrics()
    watch = AuditWatch(audit.engine, audit.log.signer.public_key, metrics, every_s=3600)
    assert verify(watch) == "intact"
    with audit.engine.begin() as conn:
        conn.execute(schema.events.delete())
        conn.exec_driver_sql("DROP TABLE audit_events")

    assert verify(watch) == "error"
    text = metrics.render().decode()
    assert sample(text, "airlock_audit_verifications_total", result="error") == 1
    assert sample(text, "airlock_audit_chain_intact") == 1, "an error is no verdict on the chain"


@pytest.mark.usefixtures("api_settings")
def test_api_verifies_the_chain_at_start_up(client: TestClient) -> None:
    value = None
    for _ in range(200):  # the first verification runs beside start-up: wait for its result
        value = sample(client.get("/metrics").text, "airlock_audit_chain_intact")
        if value == 1:
            break
        time.sleep(0.05)
    assert value == 1
