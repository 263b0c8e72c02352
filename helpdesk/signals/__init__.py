"""Signals of a support ticket besides its intent: sentiment, priority and routing."""

from helpdesk.errors import SentimentDataError, SignalsConfigError
from helpdesk.signals.priority import (
    LEVEL_NAMES,
    Level,
    Priority,
    PriorityPolicy,
    assign_priority,
    load_priority_policy,
)
from helpdesk.signals.routing import Route, RoutingTable, load_routing_table, route_ticket
from helpdesk.signals.sentiment import SentimentScorer
from helpdesk.signals.ticket import Signals, SignalsPolicy, load_signals_policy, ticket_signals

__all__ = [
    "LEVEL_NAMES",
    "Level",
    "Priority",
    "PriorityPolicy",
    "Route",
    "RoutingTable",
    "SentimentDataError",
    "SentimentScorer",
    "Signals",
    "SignalsConfigError",
    "SignalsPolicy",
    "assign_priority",
    "load_priority_policy",
    "load_routing_table",
    "load_signals_policy",
    "route_ticket",
    "ticket_signals",
]
