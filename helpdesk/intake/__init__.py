"""Intake: what makes a resubmitted request or a redelivered webhook land exactly once."""

from helpdesk.intake.accept import Accepted, IntakeKeyRef, TicketIntake
from helpdesk.intake.keys import IntakeKey, IntakeKeys, request_digest

__all__ = ["Accepted", "IntakeKey", "IntakeKeyRef", "IntakeKeys", "TicketIntake", "request_digest"]
