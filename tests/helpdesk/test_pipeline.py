"""The ticket desk end to end: records, audit, idempotency, bad input, dead letters, failover."""

from __future__ import annotations

import dataclasses
import json

import pytest
import sqlalchemy as sa

from airlock.settings import EngineSettings
from airlock.settings_helpdesk import HelpdeskSettings
from audit.events import Actor
from audit.reader import fetch_tail
from helpdesk.desk import TicketDesk
from helpdesk.errors import TicketError
from helpdesk.pipeline import TicketPipeline
from helpdesk.queue import QueuedTicket, WorkQueue
from helpdesk.record import DecisionRecord
from helpdesk.tickets import Ticket
from serving.failover import FailoverChain
from serving.openai_engine import OpenAIEngine

ACTOR = Actor(subject="test", client_id="pytest")
QUESTION = "Hello, how long is a password reset link valid? I asked for one an hour ago."


def _ticket(ticket_id: str, body: str = QUESTION, **fields: object) -> Ticket:
    data = {
        "id": ticket_id,
        "tenant": "demo",
        "subject": "Password reset",
        "body": body,
        "customer": {"id": f"cust-{ticket_id}"},
    }
    return Ticket.model_validate(data | fields)


def _decide(desk: TicketDesk, ticket: Ticket) -> DecisionRecord:
    ref = desk.submit(ticket, ACTOR)
    desk.work("test-worker", only={ref.job_id}, drain=True)
    stored = desk.queue.get_decision(ref.tenant, ref.ticket_id, ref.version)
    assert stored is not None
    return DecisionRecord.model_validate(stored)


def test_answerable_ticket_is_answered_with_citations_engine_and_latencies(
    desk: TicketDesk,
) -> None:
    record = _decide(desk, _ticket("P-1"))
    assert record.decision.action == "auto_reply"
    assert record.draft and "30 minutes" in record.draft
    assert record.citations and record.citations[0].doc_id.startswith("account-and-password/")
    assert record.engine is not None and record.engine.name == "extractive"
    assert {"input_guards", "classify", "retrieve", "generate", "output_guards", "decide"} <= set(
        record.latency_ms
    )
    assert record.intent is not None and record.intent.label == "account_password"
    assert record.language == "en" and record.route.team == "accounts"


def test_audit_events_name_ids_and_outcomes_never_text(desk: TicketDesk) -> None:
    record = _decide(desk, _ticket("P-2", body=QUESTION + " My e-mail is anna.berg@example.com."))
    events = [e for e in fetch_tail(desk.queue.engine, 10_000) if e.resource_id == "P-2"]
    assert [e.action for e in events] == ["ticket.received", "ticket.decided"]
    assert events[1].details["action"] == record.decision.action
    assert events[1].details["version"] == record.version
    dumped = json.dumps([e.to_dict() for e in events])
    assert "password reset link" not in dumped and "anna.berg" not in dumped


def test_a_ticket_version_is_queued_and_decided_once(desk: TicketDesk) -> None:
    ticket = _ticket("P-3")
    first = _decide(desk, ticket)
    again = desk.submit(ticket, ACTOR)
    assert not again.created and again.state == "done"
    assert desk.queue.get_decision("demo", "P-3", ticket.get_version()) == first.model_dump(
        mode="json"
    )
    edited = _ticket("P-3", body=QUESTION + " Thanks!")
    assert edited.get_version() != ticket.get_version()
    assert desk.submit(edited, ACTOR).created


@pytest.mark.parametrize(
    ("fields", "action", "reason"),
    [
        ({"subject": "", "body": ""}, "needs_info", "no subject or body"),
        ({"body": "x" * 1_048_576}, "escalate", "more than helpdesk.max_auto_chars"),
        ({"body": "PK\x03\x04\x00\x00\x08\x00" * 200}, "escalate", "binary content"),
        ({"subject": "Help", "body": "help"}, "needs_info", "ask the customer for details"),
    ],
    ids=["empty", "one-megabyte", "binary", "too-short"],
)
def test_unanalysable_tickets_are_decided_with_a_reason(
    desk: TicketDesk, fields: dict[str, str], action: str, reason: str
) -> None:
    record = _decide(desk, _ticket(f"P-bad-{action}-{len(fields['body'])}", **fields))
    assert record.decision.action == action
    assert any(reason in r for r in record.decision.reasons)


def test_attachments_are_not_read_and_the_summary_says_so(desk: TicketDesk) -> None:
    ticket = _ticket("P-4", attachments=[{"name": "log.zip", "size": 4096}])
    assert "1 attachment(s) not read" in _decide(desk, ticket).summary


def test_unknown_tenant_is_refused_and_nothing_is_queued(desk: TicketDesk) -> None:
    strict = TicketDesk(desk.pipeline, desk.queue, None, HelpdeskSettings(tenants=("demo",)))
    try:
        with pytest.raises(TicketError, match="tenant 'other' is not served here"):
            strict.submit(_ticket("P-5", tenant="other"), ACTOR)
    finally:
        strict.close()
    assert desk.queue.get_decision("other", "P-5", _ticket("P-5").get_version()) is None


def test_poison_ticket_is_dead_lettered_while_others_are_decided(desk: TicketDesk) -> None:
    queue = WorkQueue(desk.queue.engine, max_attempts=2, backoff_base_s=0, backoff_max_s=0)
    worker = TicketDesk(desk.pipeline, queue, None, desk.settings)
    try:
        poison = queue.enqueue(QueuedTicket("demo", "P-poison", "v1", {"body": "no customer"}))
        good = worker.submit(_ticket("P-6"), ACTOR)
        report = worker.work("test-worker", only={poison.job_id, good.job_id}, drain=True)
    finally:
        worker.close()
    assert report.completed == 1 and report.failed == 2
    status = queue.get_status(poison.job_id)
    assert status is not None and status.state == "dead"
    assert status.last_error is not None and "does not hold a valid ticket" in status.last_error
    assert queue.get_decision("demo", "P-6", _ticket("P-6").get_version()) is not None


def test_no_engine_available_escalates_without_a_draft(desk: TicketDesk) -> None:
    down = EngineSettings(
        name="vllm",
        kind="openai",
        base_url="http://127.0.0.1:9/v1",
        model="llama",
        max_retries=0,
        connect_timeout_s=0.5,
    )
    parts = dataclasses.replace(desk.pipeline.parts, chat=FailoverChain([OpenAIEngine(down)]))
    worker = TicketDesk(TicketPipeline(parts), desk.queue, None, desk.settings)
    try:
        record = _decide(worker, _ticket("P-7"))
    finally:
        worker.close()
    assert record.decision.action == "escalate"
    assert record.draft is None and record.engine is None
    assert any(note.startswith("no draft:") for note in record.notes)
    assert "no draft" in " ".join(record.decision.reasons)


def test_repeated_question_escalates_on_the_fourth_time(desk: TicketDesk) -> None:
    customer = {"id": "repeat-customer"}
    actions = [
        _decide(
            desk,
            _ticket(f"P-r{i}", customer=customer, created_at=f"2026-11-01T1{i}:00:00Z"),
        ).decision
        for i in range(4)
    ]
    assert [a.action for a in actions[:3]] == ["auto_reply"] * 3
    assert actions[3].action == "escalate"
    assert "asked 4 times within 24 h" in actions[3].reasons[0]


def test_decisions_table_keeps_subject_and_intent_for_repeat_counting(desk: TicketDesk) -> None:
    record = _decide(desk, _ticket("P-8"))
    with desk.queue.engine.connect() as conn:
        row = conn.execute(
            sa.text("SELECT subject_id, intent FROM helpdesk_decisions WHERE ticket_id = 'P-8'")
        ).one()
    assert tuple(row) == ("cust-P-8", record.intent.label if record.intent else None)
