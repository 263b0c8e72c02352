"""Prompt-injection detection: rules plus a classifier, for tickets, passages and drafts."""

from __future__ import annotations

from guardrails.injection.classifier import InjectionScore
from guardrails.injection.echo import InjectionEchoGuard
from guardrails.injection.guard import InjectionGuard, build_injection_guard
from guardrails.injection.metrics import evaluate_injection

__all__ = [
    "InjectionEchoGuard",
    "InjectionGuard",
    "InjectionScore",
    "build_injection_guard",
    "evaluate_injection",
]
