"""Escalations: decided tickets that wait for a human agent, who claims and resolves them.

The table (`schema.py`, migration 0006) holds one row per escalate or needs_info decision,
keyed by the decision's job id; `store.EscalationQueue` opens, lists (per tenant, keyset paged),
claims, resolves and erases them; `rows.py` holds the values and checks. The agent's final
reply is the data subject's text: erasure blanks it and stamps `erased_at`.
"""

from helpdesk.escalations.rows import (
    ESCALATED_ACTIONS,
    FEEDBACK,
    MAX_PAGE,
    MAX_REPLY_CHARS,
    Escalation,
    EscalationPage,
    Feedback,
)
from helpdesk.escalations.store import EscalationQueue

__all__ = [
    "ESCALATED_ACTIONS",
    "FEEDBACK",
    "MAX_PAGE",
    "MAX_REPLY_CHARS",
    "Escalation",
    "EscalationPage",
    "EscalationQueue",
    "Feedback",
]
