"""Decisions written back to the tenant's ticketing system after they are stored."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from airlock.settings_helpdesk import WritebackSettings
from audit.events import Actor
from audit.reader import fetch_tail
from helpdesk.desk import TicketDesk
from helpdesk.record import DecisionRecord
from helpdesk.tickets import Ticket
from helpdesk.writeback import WritebackDelivery, build_writeback
from tests.helpdesk.ticketing_servers import TOKEN, USERNAME, TicketingServer, serve

ACTOR = Actor(subject="test", client_id="pytest")


@pytest.fixture
def zendesk() -> Iterator[TicketingServer]:
    with serve("zendesk") as running:
        running.add("7001")
        running.add("7002")
        yield running


def _desk(desk: TicketDesk, server: TicketingServer) -> TicketDesk:
    config = WritebackSettings(
        system="zendesk", base_url=server.url, username=USERNAME, token=TOKEN, public_replies=True
    )
    delivery = WritebackDelivery({"demo": config}, desk.audit)
    return TicketDesk(desk.pipeline, desk.queue, desk.audit, desk.settings, deliver=delivery)


def _ticket(ticket_id: str, external: str, body: str) -> Ticket:
    return Ticket.model_validate(
        {
            "id": ticket_id,
            "tenant": "demo",
            "subject": "Question",
            "body": body,
            "customer": {"id": f"wb-{ticket_id}"},
            "external": {"system": "zendesk", "id": external},
        }
    )


def _run(desk: TicketDesk, ticket: Ticket) -> DecisionRecord:
    ref = desk.submit(ticket, ACTOR)
    desk.work("test-worker", only={ref.job_id}, drain=True)
    stored = desk.queue.get_decision(ref.tenant, ref.ticket_id, ref.version)
    assert stored is not None
    return DecisionRecord.model_validate(stored)


def test_answered_ticket_gets_a_public_reply_and_an_audit_event(
    desk: TicketDesk, zendesk: TicketingServer
) -> None:
    worker = _desk(desk, zendesk)
    try:
        record = _run(
            worker,
            _ticket(
                "W-1",
                "7001",
                "Hello, how long is a password reset link valid? I asked for one an hour ago.",
            ),
        )
    finally:
        worker.close()
    assert record.decision.action == "auto_reply", (record.decision.reasons, record.input_guards)
    (write,) = zendesk.writes()
    assert write.method == "PUT" and write.path == "/api/v2/tickets/7001.json"
    comment = write.json["ticket"]["comment"]
    assert comment["public"] is True and record.draft and record.draft in comment["body"]
    assert write.json["ticket"]["priority"] in ("low", "normal")
    events = [e for e in fetch_tail(desk.queue.engine, 50) if e.resource_id == "W-1"]
    assert events[-1].action == "ticket.written_back" and events[-1].outcome == "success"


def test_escalated_ticket_gets_an_internal_note_with_the_summary(
    desk: TicketDesk, zendesk: TicketingServer
) -> None:
    worker = _desk(desk, zendesk)
    try:
        record = _run(worker, _ticket("W-2", "7002", "I will sue you, my lawyer is ready. Refund!"))
    finally:
        worker.close()
    assert record.decision.action == "escalate"
    (write,) = zendesk.writes()
    comment = write.json["ticket"]["comment"]
    assert comment["public"] is False
    assert comment["body"].startswith("Airlock: escalate")
    assert write.json["ticket"]["priority"] == "urgent"


def test_ticket_without_external_reference_is_not_written_back() -> None:
    record = DecisionRecord.model_validate(
        {
            "ticket_id": "W-3",
            "tenant": "demo",
            "version": "v",
            "subject_id": "s",
            "channel": "api",
            "received_at": "t",
            "decided_at": "t",
            "language": "en",
            "intent": None,
            "sentiment": None,
            "priority": {"level": "P3"},
            "route": {"team": "general-support", "queue": "general-support"},
            "decision": {
                "action": "escalate",
                "severity": "normal",
                "transfer": False,
                "priority_routing": False,
                "reasons": ["x"],
            },
        }
    )
    assert build_writeback(record) is None
