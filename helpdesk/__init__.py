"""The ticket domain: classification, signals, escalation policy, the pipeline, the durable queue,
ticketing connectors and data-subject erasure."""
