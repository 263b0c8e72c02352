"""Helpdesk errors: one root, a few named leaves."""

from __future__ import annotations

from airlock.errors import AirlockError


class HelpdeskError(AirlockError):
    """Root of every helpdesk error."""


class IntentDataError(HelpdeskError):
    """A labelled intent file or row is unreadable, malformed or unusable for training."""


class IntentModelError(HelpdeskError):
    """An intent model folder is missing, damaged, or made for another embedder or format."""


class SignalsConfigError(HelpdeskError):
    """A priority, routing or escalation policy file or a lexicon is unreadable or invalid."""


class SentimentDataError(HelpdeskError):
    """A labelled sentiment file or row is unreadable or malformed."""


class TicketError(HelpdeskError):
    """A ticket is malformed or not accepted (unknown tenant, bad field); says which and why."""


class ConnectorError(HelpdeskError):
    """A ticketing system refused a write-back or a webhook payload could not be read."""


class ErasureError(HelpdeskError):
    """A data-subject erasure could not be completed; the receipt lists what was removed."""


class IntakeConflictError(HelpdeskError):
    """An idempotency key or delivery id was reused with a different request."""


class EscalationError(HelpdeskError):
    """An escalation request is malformed (a bad cursor, feedback label or reply)."""


class EscalationNotFoundError(EscalationError):
    """No such escalation for this tenant (another tenant's escalation is not found either)."""


class EscalationConflictError(EscalationError):
    """The escalation is claimed by another agent, or already resolved."""
