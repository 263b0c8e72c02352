"""Knowledge-base errors: one root, a few named leaves."""

from __future__ import annotations

from airlock.errors import AirlockError


class RagError(AirlockError):
    """Root of every knowledge-base error."""


class DocumentError(RagError):
    """One input file cannot be read (corrupt, encrypted, empty, undecodable); others go on."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}", remedy="fix or remove the file and ingest again")
        self.path = path
        self.reason = reason


class VectorStoreUnavailableError(RagError):
    """Milvus cannot be reached or refused the operation."""

    exit_code = 3


class SchemaMismatchError(RagError):
    """An existing collection's schema differs from what this version needs."""
