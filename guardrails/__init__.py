"""Guardrails: PII detection and redaction, prompt-injection detection, groundedness."""
