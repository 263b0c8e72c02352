"""Data-subject erasure (GDPR art. 17): every store of the subject's words, and a receipt."""

from __future__ import annotations

import logging
import uuid
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import Engine

from audit.events import Actor, AuditEvent
from audit.log import AuditLog
from guardrails.pii.vault import shred_subject_keys
from helpdesk.chat.memory import ConversationStore
from helpdesk.errors import ErasureError
from helpdesk.escalations import EscalationQueue
from helpdesk.queue.rows import format_ts, utc_now
from helpdesk.queue.subjects import SubjectRecords
from helpdesk.record import TEXT_FIELDS, scrub_record
from rag.ingest import KnowledgeBase

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ErasureReceipt:
    """What was removed where, for the data subject and the auditor."""

    receipt_id: str
    subject_id: str
    erased_at: str
    tenants: tuple[str, ...]
    tickets: tuple[str, ...]
    ticket_texts_erased: int  # stored ticket versions whose text was deleted
    queued_tickets_cancelled: int  # not yet decided: they will not be processed
    decision_records_scrubbed: int  # records kept, with these fields blanked
    scrubbed_fields: tuple[str, ...]
    kb_documents_deleted: tuple[str, ...]  # tenant/doc_id
    pii_vault_keys_deleted: tuple[str, ...]  # tenants whose key was shredded
    escalations_erased: int = 0  # escalations stamped erased, final replies blanked
    chat_turns_erased: int = 0  # chat turns deleted (conversations kept, stamped erased)
    audit_seq: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """The receipt as JSON values."""
        return asdict(self)


def erase_subject(
    subject_id: str,
    *,
    engine: Engine,
    audit: AuditLog,
    actor: Actor,
    kb: KnowledgeBase | None = None,
    tenant: str | None = None,
) -> ErasureReceipt:
    """Erase the subject's ticket, decision and reply texts, KB documents, vault key; audit it."""
    if not subject_id.strip():
        raise ErasureError("the subject id is empty", remedy="pass the customer's id")
    records = SubjectRecords(engine)
    tenants = (tenant,) if tenant else records.find_tenants(subject_id)
    rows = records.erase(subject_id, tenants, scrub_record)
    escalations = EscalationQueue(engine)
    escalated = sum(escalations.erase_subject(t, subject_id) for t in tenants)
    chats = ConversationStore(engine)
    chat_tenants = (tenant,) if tenant else chats.find_tenants(subject_id)
    chat_turns = sum(chats.erase_subject(t, subject_id) for t in chat_tenants)
    documents = kb.erase_subject(subject_id, actor, tenant) if kb is not None else []
    shredded = shred_subject_keys(engine, subject_id, (tenant,) if tenant else None)
    receipt = ErasureReceipt(
        receipt_id=uuid.uuid4().hex,
        subject_id=subject_id,
        erased_at=format_ts(utc_now()),
        tenants=tuple(sorted({*tenants, *chat_tenants, *shredded, *(d.tenant for d in documents)})),
        tickets=rows.ticket_ids,
        ticket_texts_erased=rows.payloads_erased,
        queued_tickets_cancelled=rows.jobs_cancelled,
        decision_records_scrubbed=rows.decisions_scrubbed,
        scrubbed_fields=TEXT_FIELDS,
        kb_documents_deleted=tuple(f"{d.tenant}/{d.doc_id}" for d in documents),
        pii_vault_keys_deleted=shredded,
        escalations_erased=escalated,
        chat_turns_erased=chat_turns,
    )
    event = audit.append(
        AuditEvent(
            "subject.erased",
            actor=actor,
            tenant=tenant,
            resource_type="data_subject",
            resource_id=subject_id,
            details={k: v for k, v in receipt.to_dict().items() if k != "subject_id"},
        )
    )
    log.info("subject erased", extra={"receipt_id": receipt.receipt_id})
    return ErasureReceipt(**{**receipt.to_dict(), "audit_seq": event.seq})
