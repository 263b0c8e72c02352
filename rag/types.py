"""Values that cross the rag boundary: documents, chunks, scopes, passages."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

Visibility = Literal["public", "internal"]


class _Value(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SourceDocument(_Value):
    """One document as a loader read it, before chunking."""

    doc_id: str = Field(description="Stable id: from the source (article id) or the file path.")
    title: str = ""
    text: str = Field(description="Plain text (markdown kept for markdown sources).")
    source: str = Field("", description="Path or URL, shown with citations.")
    format: str = Field(description="markdown, html, text, pdf, docx, zendesk, faq, ticket")
    language: str = Field("", description="ISO 639-1 code detected from the text, or ''.")
    subject_ids: tuple[str, ...] = Field(
        (), description="Data subjects the document is about (for erasure)."
    )


class Chunk(_Value):
    """A piece of a document as it is embedded and stored."""

    doc_id: str
    index: int = Field(ge=0, description="Position of the chunk in its document.")
    text: str = Field(description="The chunk's own text (what citations quote).")
    embed_text: str = Field(description="Title and heading path prepended: what is embedded.")
    title: str = ""
    heading_path: str = ""
    start: int = Field(ge=0, description="Character offset of the chunk in the document text.")
    end: int = Field(ge=0)


NAME_PATTERN = r"^[A-Za-z0-9._:@/+=-]{1,255}$"


class AccessScope(_Value):
    """Who is asking: retrieval only returns chunks of this tenant that the groups may see."""

    tenant: str = Field(pattern=NAME_PATTERN, description="Tenant id from the caller's token.")
    groups: tuple[Annotated[str, Field(pattern=NAME_PATTERN)], ...] = Field(
        (), description="The caller's groups; documents with an ACL need one of them."
    )


class Passage(_Value):
    """A retrieved chunk with what a citation needs."""

    chunk_id: str
    doc_id: str
    score: float
    text: str
    title: str = ""
    source: str = ""
    start: int = 0
    end: int = 0
    language: str = ""
