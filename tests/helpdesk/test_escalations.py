"""Escalation queue on SQLite and PostgreSQL: opened once, tenant-scoped, claimed, resolved."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine

from airlock.services import open_storage
from airlock.settings import AirlockSettings
from helpdesk.analytics import percentile, summarize
from helpdesk.errors import EscalationConflictError, EscalationError, EscalationNotFoundError
from helpdesk.escalations import EscalationQueue
from helpdesk.escalations.schema import escalations
from helpdesk.policy.reasons import reason_kinds
from helpdesk.queue import DecisionKeys, QueuedTicket, WorkQueue
from helpdesk.record import DecisionRecord


@pytest.fixture
def engine(make_settings: Callable[..., AirlockSettings]) -> Iterator[Engine]:
    """A migrated store on the current backend."""
    engine = open_storage(make_settings(), writable=True)
    yield engine
    engine.dispose()


def record(ticket_id: str, **fields: Any) -> DecisionRecord:
    """A decision record as the pipeline stores it (escalated by default)."""
    data: dict[str, Any] = {
        "ticket_id": ticket_id,
        "tenant": fields.pop("tenant", "demo"),
        "version": "v1",
        "subject_id": fields.pop("subject_id", "cust-1"),
        "channel": "email",
        "received_at": "2026-11-02T10:00:00.000000Z",
        "decided_at": "2026-11-02T10:00:05.000000Z",
        "language": "en",
        "intent": {"label": fields.pop("intent", "billing_refund"), "confidence": 0.9},
        "sentiment": -0.8,
        "priority": {"level": fields.pop("priority", "P2")},
        "route": {"team": fields.pop("team", "billing"), "queue": "billing-l1"},
        "decision": {
            "action": fields.pop("action", "escalate"),
            "severity": "high",
            "transfer": False,
            "priority_routing": False,
            "reasons": fields.pop("reasons", ["sentiment -0.80 below -0.50"]),
        },
        "summary": "Customer wants a refund of a duplicate charge.",
        "draft": "We have refunded the duplicate charge [1].",
        "citations": [{"ref": 1, "doc_id": "billing/refunds.md", "chunk_id": "c1", "score": 0.8}],
    }
    return DecisionRecord.model_validate(data | fields)


def store_decision(engine: Engine, decided: DecisionRecord) -> str:
    """Store `decided` through the work queue, as a worker does; its job id."""
    queue = WorkQueue(engine)
    ref = queue.enqueue(
        QueuedTicket(decided.tenant, decided.ticket_id, decided.version, {}, decided.subject_id)
    )
    job = queue.lease("test-worker", lease_s=30, only={ref.job_id})
    assert job is not None
    keys = DecisionKeys(
        intent=decided.intent.label if decided.intent else None,
        received_at=decided.received_at,
        action=decided.decision.action,
    )
    assert queue.complete(job, decided.model_dump(mode="json"), keys)
    return ref.job_id


def test_open_for_creates_one_row_only_for_escalate_and_needs_info(engine: Engine) -> None:
    queue = EscalationQueue(engine)
    assert queue.open_for(record("T-1"), "job1")
    assert not queue.open_for(record("T-1"), "job1")  # idempotent
    assert queue.open_for(record("T-2", action="needs_info"), "job2")
    assert not queue.open_for(record("T-3", action="auto_reply"), "job3")
    page = queue.list("demo")
    assert [(e.escalation_id, e.action, e.state) for e in page.items] == [
        ("job1", "escalate", "open"),
        ("job2", "needs_info", "open"),
    ]
    first = page.items[0]
    assert (first.priority, first.team, first.queue, first.intent) == (
        "P2",
        "billing",
        "billing-l1",
        "billing_refund",
    )
    assert first.reasons == ("sentiment -0.80 below -0.50",)
    assert first.subject_id == "cust-1" and first.received_at == "2026-11-02T10:00:00.000000Z"


def test_sync_missing_opens_escalations_of_stored_decisions_without_one(engine: Engine) -> None:
    escalated = store_decision(engine, record("T-1"))
    store_decision(engine, record("T-2", action="auto_reply"))
    queue = EscalationQueue(engine)
    assert queue.sync_missing() == 1
    assert queue.sync_missing() == 0
    items = queue.list("demo").items
    assert [e.escalation_id for e in items] == [escalated]
    assert items[0].summary.startswith("Customer wants a refund")
    assert items[0].draft == "We have refunded the duplicate charge [1]."
    assert [c.doc_id for c in items[0].citations] == ["billing/refunds.md"]


def test_list_pages_in_stable_order_with_filters_and_tenant_scope(engine: Engine) -> None:
    queue = EscalationQueue(engine)
    for i in range(5):
        queue.open_for(record(f"T-{i}", team="billing" if i % 2 else "accounts"), f"job{i}")
    queue.open_for(record("A-1", tenant="acme"), "acme1")
    seen, cursor = [], None
    while True:
        page = queue.list("demo", limit=2, cursor=cursor)
        seen += [e.escalation_id for e in page.items]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == [f"job{i}" for i in range(5)]
    assert [e.escalation_id for e in queue.list("demo", team="billing").items] == ["job1", "job3"]
    assert queue.list("demo", intent="other", priority="P2").items == ()
    assert [e.escalation_id for e in queue.list("acme").items] == ["acme1"]
    queue.claim("demo", "job0", "alice")
    assert [e.escalation_id for e in queue.list("demo", state="claimed").items] == ["job0"]


def test_list_with_a_forged_cursor_is_refused(engine: Engine) -> None:
    with pytest.raises(EscalationError, match="cursor"):
        EscalationQueue(engine).list("demo", cursor="not-a-cursor")


def test_claim_by_another_agent_conflicts_and_the_same_agent_again_is_idempotent(
    engine: Engine,
) -> None:
    queue = EscalationQueue(engine)
    queue.open_for(record("T-1"), "job1")
    claimed = queue.claim("demo", "job1", "alice")
    assert claimed.state == "claimed" and claimed.claimed_by == "alice"
    again = queue.claim("demo", "job1", "alice")
    assert again.claimed_at == claimed.claimed_at
    with pytest.raises(EscalationConflictError, match="claimed by alice"):
        queue.claim("demo", "job1", "olga")


def test_claim_of_an_unknown_or_other_tenants_escalation_is_not_found(engine: Engine) -> None:
    queue = EscalationQueue(engine)
    queue.open_for(record("T-1"), "job1")
    with pytest.raises(EscalationNotFoundError):
        queue.claim("acme", "job1", "bob")
    with pytest.raises(EscalationNotFoundError):
        queue.claim("demo", "nope", "alice")


def test_resolve_records_the_reply_and_feedback_and_twice_conflicts(engine: Engine) -> None:
    queue = EscalationQueue(engine)
    queue.open_for(record("T-1"), "job1")
    resolved = queue.resolve(
        "demo", "job1", "alice", final_reply="Refunded.", feedback="edited", corrected_intent="x_y"
    )
    assert resolved.state == "resolved" and resolved.claimed_by == resolved.resolved_by == "alice"
    assert (resolved.feedback, resolved.corrected_intent) == ("edited", "x_y")
    assert resolved.final_reply == "Refunded." and resolved.resolved_at is not None
    with pytest.raises(EscalationConflictError, match="resolved"):
        queue.resolve("demo", "job1", "alice", final_reply="Again.", feedback="used")


def test_resolve_of_another_agents_claim_conflicts(engine: Engine) -> None:
    queue = EscalationQueue(engine)
    queue.open_for(record("T-1"), "job1")
    queue.claim("demo", "job1", "alice")
    with pytest.raises(EscalationConflictError, match="claimed by alice"):
        queue.resolve("demo", "job1", "olga", final_reply="Mine.", feedback="used")


@pytest.mark.parametrize(
    ("feedback", "corrected"), [("liked", None), ("used", "Not A Label"), ("used", "a" * 65)]
)
def test_resolve_with_a_bad_label_is_refused(
    engine: Engine, feedback: Any, corrected: str | None
) -> None:
    queue = EscalationQueue(engine)
    queue.open_for(record("T-1"), "job1")
    with pytest.raises(EscalationError, match=r"feedback|corrected_intent"):
        queue.resolve(
            "demo", "job1", "alice", final_reply="", feedback=feedback, corrected_intent=corrected
        )
    assert queue.get("demo", "job1").state == "open"


def test_erase_subject_blanks_final_replies_and_stamps_rows(engine: Engine) -> None:
    queue = EscalationQueue(engine)
    queue.open_for(record("T-1"), "job1")
    queue.open_for(record("T-2"), "job2")
    queue.open_for(record("T-3", subject_id="someone-else"), "job3")
    queue.resolve("demo", "job1", "alice", final_reply="Dear Priya, refunded.", feedback="used")
    assert queue.erase_subject("demo", "cust-1") == 2
    assert queue.erase_subject("demo", "cust-1") == 0
    assert queue.get("demo", "job1").final_reply == ""
    assert queue.get("demo", "job2").final_reply is None
    assert queue.get("demo", "job2").erased_at is not None
    assert queue.get("demo", "job3").erased_at is None
    with engine.connect() as conn:
        texts = conn.execute(sa.select(escalations.c.final_reply)).scalars().all()
    assert not any("Priya" in (text or "") for text in texts)


def test_find_ticket_subject_reads_the_tenants_job(engine: Engine) -> None:
    store_decision(engine, record("T-1", subject_id="cust-9"))
    queue = EscalationQueue(engine)
    assert queue.find_ticket_subject("demo", "T-1") == "cust-9"
    assert queue.find_ticket_subject("acme", "T-1") is None


def test_summary_counts_rates_reasons_feedback_and_response_times(engine: Engine) -> None:
    reasons = ["sentiment -0.80 below -0.50", "tier gold: priority routing"]
    ids = [store_decision(engine, record(f"T-{i}", reasons=reasons)) for i in range(2)]
    store_decision(engine, record("T-9", action="auto_reply", reasons=[]))
    store_decision(engine, record("A-1", tenant="acme"))
    queue = EscalationQueue(engine)
    queue.sync_missing()
    queue.resolve("demo", ids[0], "alice", final_reply="Done.", feedback="rejected")
    queue.resolve(
        "demo", ids[1], "alice", final_reply="Done.", feedback="used", corrected_intent="a"
    )
    summary = summarize(engine, "demo")
    assert summary.decisions == 3 and summary.actions == {"auto_reply": 1, "escalate": 2}
    assert summary.auto_resolution_rate == pytest.approx(1 / 3)
    # "tier ...: priority routing" routes a ticket; it is no reason to escalate, so not counted
    assert summary.escalation_reasons == {"negative_sentiment": 2}
    assert summary.escalation_reason_rates["negative_sentiment"] == 1.0
    assert (summary.feedback.used, summary.feedback.rejected) == (1, 1)
    assert summary.feedback.corrected_intents == 1
    assert summary.intents == {"billing_refund": 3}
    assert summary.first_response["auto_reply"].count == 1
    assert summary.first_response["escalation"].count == 2
    later = datetime.now(UTC) + timedelta(hours=1)
    assert summarize(engine, "demo", since=later).decisions == 0


def test_reason_kinds_follow_policy_wording_and_percentiles_use_nearest_rank() -> None:
    assert reason_kinds(["critical keyword lawsuit"]) == {"critical_keyword"}
    assert reason_kinds(["asked for a person ('agent'): transfer to a person"]) == {"human_request"}
    assert reason_kinds(["intent oos: out of scope"]) == {"out_of_scope"}
    assert reason_kinds(["something new"]) == {"other"}
    values = [float(v) for v in range(1, 101)]
    assert (percentile(values, 50), percentile(values, 99)) == (50.0, 99.0)
    assert percentile([], 50) is None
