"""Guardrail errors: one root, a few named leaves (a flagged text is a verdict, not an error)."""

from __future__ import annotations

from airlock.errors import AirlockError


class GuardrailsError(AirlockError):
    """Root of every guardrail error."""


class GuardInputError(GuardrailsError):
    """One input row or text cannot be checked (missing field, binary, over the limit)."""


class GuardModelError(GuardrailsError):
    """A shipped guard model or pattern file is missing, damaged or invalid."""


class VaultKeyMissingError(GuardrailsError):
    """A data subject's vault key is gone (erased), so their originals cannot be revealed."""
