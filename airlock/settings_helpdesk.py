"""Settings of the ticket domain: intent model, priority, routing and escalation files."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from airlock.section import Section


class HelpdeskSettings(Section):
    """Where the helpdesk's trained model and policy files are (empty: the shipped ones)."""

    intent_model: Path | None = Field(
        None, description="Intent model folder (`airlock intents train`); empty: the shipped one."
    )
    priority_policy: Path | None = Field(
        None, description="Priority rules YAML (keywords, tiers, intents, SLA); empty: shipped."
    )
    routing_table: Path | None = Field(
        None, description="Intent and language to team YAML; empty: the shipped table."
    )
    escalation_policy: Path | None = Field(
        None, description="Escalation rules YAML, per tenant; empty: the shipped policy."
    )
