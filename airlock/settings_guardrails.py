"""Settings of the guardrails: PII, prompt injection, groundedness, per-tenant guard policies."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from airlock.section import Section

PII_TYPES = (
    "PERSON", "EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "IBAN_CODE", "US_SSN",
    "IP_ADDRESS", "URL", "CRYPTO", "STREET_ADDRESS", "ORDER_ID", "ACCOUNT_ID", "TICKET_ID",
    "SECRET",
)  # fmt: skip


class PiiSettings(Section):
    """PII detection (presidio with offline recognizers) and how found PII is replaced."""

    entities: tuple[str, ...] = Field(
        PII_TYPES, description="Entity types to detect (presidio names plus Airlock's)."
    )
    detect_dates: bool = Field(False, description="Also detect DATE_TIME (off: order dates).")
    score_threshold: float = Field(0.5, ge=0, le=1, description="Minimum recognizer score.")
    patterns_file: Path | None = Field(
        None,
        description="YAML of extra pattern recognizers (ids, secrets); empty: the shipped file.",
    )
    key_file: Path | None = Field(
        None,
        description="PII master key (32 random bytes, base64, mode 0600) that wraps each data "
        "subject's vault key and salts hashed placeholders. Empty: data_dir/keys/pii-master.key, "
        "generated on first use (dev profile only).",
    )
    anonymize: Literal["placeholder", "mask", "hash", "vault"] = Field(
        "placeholder",
        description="placeholder: <PERSON_1>; mask: ****; hash: salted SHA-256; vault: "
        "placeholders whose originals are encrypted per data subject (revealable, erasable).",
    )


class InjectionSettings(Section):
    """Prompt-injection detection (rules plus a classifier over the registry's embeddings)."""

    threshold: float = Field(
        0.5,
        ge=0,
        le=1,
        description="Score at or above which text is flagged (0.5: the operating point tuned "
        "by grouped cross-validation; see guardrails/injection/model/manifest.json).",
    )
    model_dir: Path | None = Field(
        None, description="A retrained injection model folder; empty: the shipped model."
    )


class GroundingSettings(Section):
    """Groundedness of a draft answer against its passages."""

    threshold: float = Field(
        0.5, ge=0, le=1, description="Overall support score below which a draft is ungrounded."
    )
    judge_engine: str = Field(
        "",
        description="Name of a serving engine asked for per-claim verdicts (blended with the "
        "CPU score); empty: CPU checks only.",
    )
    judge_timeout_s: float = Field(
        30.0, gt=0, le=600, description="A judge slower than this is ignored (CPU score used)."
    )


class GuardPolicy(Section):
    """Which guards run for a tenant (the defaults, or a tenant's override)."""

    input_guards: tuple[Literal["language", "pii", "injection"], ...] = (
        "language",
        "pii",
        "injection",
    )
    output_guards: tuple[Literal["grounding", "pii_leak", "injection_echo"], ...] = (
        "grounding", "pii_leak", "injection_echo",
    )  # fmt: skip
    time_budget_ms: int = Field(
        500, ge=1, le=60_000, description="Per guard; a guard over budget flags the text."
    )
    languages: tuple[str, ...] = Field(
        (), description="ISO 639-1 codes served; others are flagged (empty: any language)."
    )


class GuardrailsSettings(Section):
    """Input and output guards."""

    pii: PiiSettings = Field(default_factory=PiiSettings)
    injection: InjectionSettings = Field(default_factory=InjectionSettings)
    grounding: GroundingSettings = Field(default_factory=GroundingSettings)
    policy: GuardPolicy = Field(default_factory=GuardPolicy)
    tenants: dict[str, GuardPolicy] = Field(
        default_factory=dict, description="Per-tenant guard policies replacing `policy`."
    )
    max_text_chars: int = Field(
        100_000, ge=1000, le=10_000_000, description="Longer texts are refused with the limit."
    )

    @model_validator(mode="after")
    def _judge_fits_the_budget(self) -> GuardrailsSettings:
        judge_ms = self.grounding.judge_timeout_s * 1000
        if not self.grounding.judge_engine:
            return self
        for where, policy in [("policy", self.policy), *self.tenants.items()]:
            if "grounding" in policy.output_guards and policy.time_budget_ms <= judge_ms:
                raise ValueError(
                    f"guardrails.{where if where == 'policy' else 'tenants.' + where}"
                    f".time_budget_ms ({policy.time_budget_ms}) must exceed "
                    f"grounding.judge_timeout_s ({judge_ms:g} ms) when a judge is configured, "
                    "or the grounding guard is cut off before its judge can answer"
                )
        return self
