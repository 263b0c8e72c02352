"""Data-subject erasure: texts gone from every store, decisions kept, the audit chain intact."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
import sqlalchemy as sa

from airlock.settings import AirlockSettings
from audit.events import Actor
from audit.log import AuditLog
from audit.verify import verify_log
from guardrails.errors import VaultKeyMissingError
from guardrails.pii.keys import load_master_key
from guardrails.pii.vault import PiiVault
from helpdesk.desk import TicketDesk
from helpdesk.erasure import erase_subject
from helpdesk.errors import ErasureError
from helpdesk.queue.schema import jobs
from helpdesk.tickets import Ticket
from rag.ingest import IngestTarget
from rag.registry import open_knowledge_base
from rag.types import SourceDocument
from tests.conftest import CliResult, env_for

ACTOR = Actor(subject="test", client_id="pytest")
SUBJECT = "erase-me-42"


def _ticket(ticket_id: str, body: str) -> Ticket:
    return Ticket.model_validate(
        {
            "id": ticket_id,
            "tenant": "demo",
            "subject": "Reset",
            "body": body,
            "customer": {"id": SUBJECT},
        }
    )


@pytest.fixture
def audit(desk: TicketDesk) -> AuditLog:
    assert desk.audit is not None
    return desk.audit


def test_erasure_removes_texts_everywhere_and_the_chain_still_verifies(
    desk: TicketDesk, kb_settings: AirlockSettings, audit: AuditLog
) -> None:
    engine = desk.queue.engine
    refs = [
        desk.submit(_ticket(f"E-{i}", f"How long is a reset link valid? Ticket {i}."), ACTOR)
        for i in range(2)
    ]
    desk.work("test-worker", only={r.job_id for r in refs[:1]}, drain=True)  # one stays queued
    vault = PiiVault(engine, load_master_key(kb_settings))
    vault.assign(
        "demo", SUBJECT, "E-0", [("EMAIL_ADDRESS", "erase@example.com", "erase@example.com")]
    )
    document = SourceDocument(
        doc_id="notes/erase-me.md",
        title="Call notes",
        format="markdown",
        text="Call notes about the customer's router setup and reset.",
        subject_ids=(SUBJECT,),
    )
    with open_knowledge_base(kb_settings, engine, audit) as kb:
        kb.kb.ingest([document], IngestTarget("demo"), ACTOR)
        receipt = erase_subject(SUBJECT, engine=engine, audit=audit, actor=ACTOR, kb=kb.kb)
        left = kb.kb.catalog.find_by_subject(SUBJECT)
    assert left == []
    assert receipt.tickets == ("E-0", "E-1")
    assert receipt.ticket_texts_erased == 2
    assert receipt.queued_tickets_cancelled == 1
    assert receipt.decision_records_scrubbed == 1
    assert receipt.kb_documents_deleted == ("demo/notes/erase-me.md",)
    assert receipt.pii_vault_keys_deleted == ("demo",)
    with pytest.raises(VaultKeyMissingError):
        vault.reveal("<EMAIL_ADDRESS_1>", tenant="demo", subject_id=SUBJECT, scope="E-0")
    with engine.connect() as conn:
        payloads = conn.execute(
            sa.select(jobs.c.payload, jobs.c.state).where(jobs.c.subject_id == SUBJECT)
        ).all()
    assert [p for p, _ in payloads] == [None, None]
    assert sorted(state for _, state in payloads) == ["dead", "done"]
    record = desk.queue.get_decision("demo", "E-0", refs[0].version)
    assert record is not None and record["erased"] is True
    assert record["ticket_text"] == record["draft"] == record["summary"] == ""
    assert record["decision"]["action"]  # the decision itself is kept
    assert "reset link" not in json.dumps(record)
    report = verify_log(engine, audit.signer.public_key)
    assert report.ok
    assert receipt.audit_seq is not None


def test_subjects_erase_command_prints_a_receipt(
    kb_settings: AirlockSettings, run_cli: Callable[..., CliResult]
) -> None:
    result = run_cli(
        "subjects", "erase", "nobody-here", "--tenant", "demo", env=env_for(kb_settings)
    )
    assert result.code == 0, result.err
    receipt = json.loads(result.out)
    assert receipt["subject_id"] == "nobody-here" and receipt["tenants"] == ["demo"]
    assert receipt["tickets"] == [] and receipt["audit_seq"] > 0


def test_erasing_an_empty_subject_id_is_refused(desk: TicketDesk, audit: AuditLog) -> None:
    with pytest.raises(ErasureError, match="subject id is empty"):
        erase_subject(" ", engine=desk.queue.engine, audit=audit, actor=ACTOR)
