"""Data-subject erasure over HTTP: the receipt."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ErasureReceiptOut(BaseModel):
    """What was removed where (helpdesk.erasure.ErasureReceipt; newer fields pass through)."""

    model_config = ConfigDict(extra="allow")

    receipt_id: str
    subject_id: str
    erased_at: str
    tenants: list[str]
    tickets: list[str] = Field(description="Tickets whose texts were erased or cancelled.")
    ticket_texts_erased: int = Field(description="Stored ticket versions whose text was deleted.")
    queued_tickets_cancelled: int = Field(description="Undecided versions that will not run.")
    decision_records_scrubbed: int = Field(description="Decision records with texts blanked.")
    scrubbed_fields: list[str] = Field(description="The decision fields that were blanked.")
    kb_documents_deleted: list[str] = Field(description="tenant/doc_id of deleted documents.")
    pii_vault_keys_deleted: list[str] = Field(description="Tenants whose vault key was shredded.")
    escalations_erased: int = Field(0, description="Escalations marked erased, replies blanked.")
    chat_turns_erased: int = Field(0, description="Chat turns deleted (conversations stamped).")
    audit_seq: int | None = Field(None, description="The `subject.erased` audit event's seq.")
