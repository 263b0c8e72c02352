"""Work-queue errors: a leaf of the helpdesk root."""

from __future__ import annotations

from helpdesk.errors import HelpdeskError


class WorkQueueError(HelpdeskError):
    """A job or decision cannot be queued or stored as given (not JSON, bad queue settings)."""
