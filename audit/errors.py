"""Audit errors: one root, a few named leaves."""

from __future__ import annotations

from airlock.errors import AirlockError


class AuditError(AirlockError):
    """Root of every audit-log error."""


class AuditKeyError(AuditError):
    """The signing or public key is missing, unreadable, too exposed or not the recorded one."""


class AuditEventError(AuditError):
    """An event was refused before anything was written (too large, PII-looking keys)."""


class AuditExportError(AuditError):
    """An export, archive or its manifest cannot be written or read."""
