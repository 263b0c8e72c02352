"""The escalation policy: whether a ticket is answered automatically, escalated, or sent back."""

from helpdesk.policy.decision import Action, Decision, DecisionInput, Severity, decide
from helpdesk.policy.escalation import EscalationPolicy, TenantPolicy, load_escalation_policy

__all__ = [
    "Action",
    "Decision",
    "DecisionInput",
    "EscalationPolicy",
    "Severity",
    "TenantPolicy",
    "decide",
    "load_escalation_policy",
]
