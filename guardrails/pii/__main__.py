"""`python -m guardrails.pii FILE [--speed]`: evaluate the PII guard (see `evaluate`)."""

from guardrails.pii.evaluate import main

main()
