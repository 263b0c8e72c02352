"""PII guard: offline presidio analysis, typed redaction, a crypto-shreddable vault, leak check."""

from guardrails.pii.anonymize import PiiSession
from guardrails.pii.evaluate import evaluate_pii
from guardrails.pii.guard import PiiGuard, PiiLeakGuard, build_pii_guard, build_pii_leak_guard

__all__ = [
    "PiiGuard",
    "PiiLeakGuard",
    "PiiSession",
    "build_pii_guard",
    "build_pii_leak_guard",
    "evaluate_pii",
]
