"""Knowledge-base documents over HTTP: per-document ingest reports and search passages."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from rag.types import Passage

DocumentStatus = Literal["added", "updated", "unchanged", "failed"]


class DocumentReportOut(BaseModel):
    """What happened to one uploaded document."""

    doc_id: str = Field(description="The document's id: the uploaded file name (path kept).")
    source: str = Field(description="The file (or record) it came from.")
    status: DocumentStatus
    chunks: int = Field(0, description="Chunks written (added and updated only).")
    reason: str = Field("", description="Why it failed (failed only).")


class IngestSummary(BaseModel):
    """Counts per status and the chunks written."""

    added: int
    updated: int
    unchanged: int
    failed: int
    chunks: int


class IngestResult(BaseModel):
    """The reports of one upload, in the order the documents were handled."""

    summary: IngestSummary
    documents: list[DocumentReportOut]


class SearchResult(BaseModel):
    """Passages of the tenant's public documents, best first."""

    query_chars: int = Field(description="Length of the query searched (never echoed).")
    passages: list[Passage]
