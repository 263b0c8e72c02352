"""The guard pipeline from settings: every guard some policy names, built once and shared."""

from __future__ import annotations

import sqlalchemy as sa

from airlock.settings import AirlockSettings
from guardrails.grounding import JudgeFn, build_grounding_guard
from guardrails.injection import InjectionEchoGuard, build_injection_guard
from guardrails.language import LanguageGuard
from guardrails.pii import build_pii_guard
from guardrails.pipeline import GuardPipeline
from guardrails.types import Guard
from models.embedder import Embedder, load_embedder

WARM_UP = "Warm-up: Anna Berg (anna@example.com) asks about order 12345 on 2024-05-01."


def build_guard_pipeline(
    settings: AirlockSettings,
    *,
    engine: sa.Engine | None = None,
    embedder: Embedder | None = None,
    judge: JudgeFn | None = None,
) -> GuardPipeline:
    """Language, PII, injection, grounding, PII-leak and injection-echo guards as configured.

    Only guards that the default policy or a tenant's policy runs are built (the models load
    now, not inside the first ticket's time budget). `engine` is the Airlock database (needed
    for the PII vault); `judge` asks the served model for per-claim grounding verdicts.
    """
    config = settings.guardrails
    policies = [config.policy, *config.tenants.values()]
    wanted = {name for p in policies for name in (*p.input_guards, *p.output_guards)}
    guards: dict[str, Guard] = {}
    if "language" in wanted:
        languages = {tenant: policy.languages for tenant, policy in config.tenants.items()}
        guards["language"] = LanguageGuard(config.policy.languages, languages)
    if wanted & {"pii", "pii_leak"}:
        pii = build_pii_guard(settings, engine)
        pii.analyze(WARM_UP)  # first calls compile presidio's patterns
        guards |= {"pii": pii, "pii_leak": pii.leak_guard()}
    if wanted & {"injection", "injection_echo", "grounding"}:
        embedder = embedder or load_embedder(settings)
        embedder.embed([WARM_UP])  # torch's first call is slow: not in a ticket's budget
    if wanted & {"injection", "injection_echo"}:
        injection = build_injection_guard(settings, embedder)
        guards |= {"injection": injection, "injection_echo": InjectionEchoGuard(injection)}
    if "grounding" in wanted:
        grounding = build_grounding_guard(settings, embedder, judge)
        grounding.assess(WARM_UP, [WARM_UP])
        guards["grounding"] = grounding
    return GuardPipeline({name: guards[name] for name in sorted(wanted)}, config)
