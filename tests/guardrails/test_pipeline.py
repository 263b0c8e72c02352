"""The guard pipeline: tenant policies, time budgets, failing guards, the language guard."""

from __future__ import annotations

import asyncio

from airlock.settings_guardrails import GuardPolicy, GuardrailsSettings
from guardrails.errors import GuardInputError
from guardrails.language import LanguageGuard
from guardrails.pipeline import GuardPipeline
from guardrails.types import GuardContext, GuardVerdict


class Redactor:
    """A guard of our own protocol that replaces one word."""

    name = "pii"

    async def check(self, text: str, *, context: GuardContext) -> GuardVerdict:
        return GuardVerdict(guard=self.name, allowed=True, redacted=text.replace("Ada", "<P_1>"))


class Sleeper:
    """An I/O-bound guard (such as an LLM judge) that answers too late."""

    name = "injection"

    async def check(self, text: str, *, context: GuardContext) -> GuardVerdict:
        await asyncio.sleep(5)
        return GuardVerdict(guard=self.name, allowed=True)


class Refuser:
    """A guard that cannot check the text."""

    name = "injection"

    async def check(self, text: str, *, context: GuardContext) -> GuardVerdict:
        raise GuardInputError("text of 200001 characters is over the limit of 100000")


def run_input(pipeline: GuardPipeline, text: str, tenant: str = "acme") -> object:
    return asyncio.run(pipeline.check_input(text, GuardContext(tenant=tenant)))


def test_input_guards_run_in_order_and_pass_on_the_redacted_text() -> None:
    settings = GuardrailsSettings(policy=GuardPolicy(input_guards=("language", "pii")))
    pipeline = GuardPipeline({"language": LanguageGuard(), "pii": Redactor()}, settings)
    result = asyncio.run(
        pipeline.check_input("Hello, this is Ada and my order is late", GuardContext())
    )
    assert result.allowed and [v.guard for v in result.verdicts] == ["language", "pii"]
    assert result.redacted == "Hello, this is <P_1> and my order is late"
    assert result.verdicts[0].labels == {"language": "en"}


def test_a_tenant_policy_replaces_the_default_one() -> None:
    settings = GuardrailsSettings(
        policy=GuardPolicy(input_guards=("language", "pii")),
        tenants={"globex": GuardPolicy(input_guards=("pii",))},
    )
    pipeline = GuardPipeline({"language": LanguageGuard(), "pii": Redactor()}, settings)
    result = asyncio.run(pipeline.check_input("Ada here", GuardContext(tenant="globex")))
    assert [v.guard for v in result.verdicts] == ["pii"]


def test_a_guard_over_its_time_budget_fails_closed() -> None:
    settings = GuardrailsSettings(
        policy=GuardPolicy(input_guards=("injection",), time_budget_ms=50)
    )
    result = asyncio.run(
        GuardPipeline({"injection": Sleeper()}, settings).check_input("hi", GuardContext())
    )
    assert not result.allowed and result.flags == ("timeout",)


def test_a_guard_that_cannot_check_the_text_fails_closed_with_its_reason() -> None:
    settings = GuardrailsSettings(policy=GuardPolicy(input_guards=("injection",)))
    result = asyncio.run(
        GuardPipeline({"injection": Refuser()}, settings).check_input("x", GuardContext())
    )
    verdict = result.get("injection")
    assert not result.allowed and verdict is not None and verdict.flags == ("error",)
    assert "over the limit" in verdict.reasons[0]


def test_a_guard_missing_from_the_configuration_fails_closed() -> None:
    settings = GuardrailsSettings(policy=GuardPolicy(output_guards=("grounding",)))
    result = asyncio.run(GuardPipeline({}, settings).check_output("draft", GuardContext()))
    assert not result.allowed and result.flags == ("not_configured",)


def test_language_guard_flags_a_language_the_tenant_does_not_serve() -> None:
    guard = LanguageGuard(supported=("en",))
    verdict = asyncio.run(
        guard.check(
            "Bonjour, ma commande n'est pas encore arrivée chez moi", context=GuardContext()
        )
    )
    assert verdict.allowed and verdict.flags == ("unsupported_language",)
    assert verdict.labels["language"] == "fr"
