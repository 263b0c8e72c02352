"""The escalation policy: a default and per-tenant overrides, read from one YAML file."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator

from helpdesk.signals.policyfile import load_policy_file
from helpdesk.signals.text import fold, term_pattern

SHIPPED_ESCALATION = Path(__file__).resolve().parent / "escalation.yaml"
ANY_LANGUAGE = "*"


class TenantPolicy(BaseModel):
    """The thresholds and lists `decide` applies for one tenant; unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    angry_sentiment_below: float = Field(default=-0.6, ge=-1.0, le=1.0)
    min_intent_confidence: float = Field(default=0.5, ge=0.0, le=1.0)
    # The caller counts the customer's earlier similar tickets within `repeat_window_hours`;
    # the ticket escalates when it is asked more than `repeat_max_count` times in all.
    repeat_max_count: int = Field(default=3, ge=1)
    repeat_window_hours: float = Field(default=24.0, gt=0)
    priority_routing_tiers: tuple[str, ...] = ("vip",)
    human_intents: tuple[str, ...] = ("talk_to_human",)
    human_phrases: dict[str, tuple[str, ...]] = {}
    # Flags that stop an automatic reply even on a verdict that is allowed; a verdict that is
    # not allowed always stops it.
    blocking_flags: tuple[str, ...] = (
        "injection",
        "indirect_injection",
        "ungrounded",
        "pii_leak",
        "timeout",
        "error",
        "not_configured",
        "over_budget",
        "unsupported_language",
    )
    auto_answerable_intents: tuple[str, ...] = ()
    # On the retriever's own scale: RRF scores are small (about 1/60), weighted ones up to 1.
    min_passage_score: float = Field(default=0.0, ge=0.0)
    min_grounding_score: float = Field(default=0.5, ge=0.0, le=1.0)
    min_body_chars: int = Field(default=10, ge=0)
    _phrases: list[tuple[str, re.Pattern[str]]] = PrivateAttr(default_factory=list)

    def model_post_init(self, context: object, /) -> None:
        """Compile the human-request phrases once, one regex per language."""
        for language, phrases in self.human_phrases.items():
            if phrases:
                source = "|".join(term_pattern(phrase) for phrase in phrases)
                self._phrases.append((language.lower(), re.compile(source)))

    def human_phrase(self, text: str, language: str) -> str | None:
        """The first human-request phrase in `text` (ticket language, en, `*`; all if unknown)."""
        scanned = {language.lower(), "en", ANY_LANGUAGE} if language else None
        folded = fold(text)  # same length as `text`, so spans point into the original
        for code, pattern in self._phrases:
            if scanned is not None and code not in scanned:
                continue
            match = pattern.search(folded)
            if match:
                return " ".join(text[match.start() : match.end()].split())
        return None


class EscalationPolicy(BaseModel):
    """The default tenant policy and each tenant's, whose keys replace the default's."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    default: TenantPolicy = Field(default_factory=TenantPolicy)
    tenants: dict[str, TenantPolicy] = {}

    @model_validator(mode="before")
    @classmethod
    def _merge_tenants(cls, data: Any) -> Any:
        """Each tenant block on top of the raw default block, so errors keep their key path."""
        if not isinstance(data, dict):
            return data
        default, tenants = data.get("default") or {}, data.get("tenants")
        if not isinstance(default, dict) or not isinstance(tenants, dict):
            return data
        merged = {
            name: {**default, **(block or {})} if isinstance(block, dict | None) else block
            for name, block in tenants.items()
        }
        return {**data, "tenants": merged}

    def for_tenant(self, tenant: str) -> TenantPolicy:
        """The tenant's policy, or the default one."""
        return self.tenants.get(tenant, self.default)


def load_escalation_policy(path: Path | None = None) -> EscalationPolicy:
    """The policy in `path`, or the shipped one; problems name the file and the key."""
    shipped = "helpdesk/policy/escalation.yaml"
    return load_policy_file(
        path or SHIPPED_ESCALATION, EscalationPolicy, "escalation policy", shipped
    )
