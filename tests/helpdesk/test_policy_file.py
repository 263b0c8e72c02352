"""The escalation policy file: shipped defaults, tenant overrides, and errors naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from guardrails.pipeline import PipelineVerdict
from guardrails.types import GuardVerdict
from helpdesk.policy import DecisionInput, decide, load_escalation_policy
from helpdesk.signals import Priority, SignalsConfigError

OVERRIDES = """
default:
  auto_answerable_intents: [order_status, shipping]
  min_grounding_score: 0.6
tenants:
  bank:
    auto_answerable_intents: [account_password]
  quiet:
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "escalation.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def answerable(intent: str) -> DecisionInput:
    """A clean, grounded ticket of `intent` with support from retrieval."""
    grounding = GuardVerdict(guard="grounding", allowed=True, scores={"grounding": 0.8})
    return DecisionInput(
        tenant="bank",
        text_chars=40,
        intent=intent,
        confidence=0.9,
        sentiment=0.1,
        priority=Priority(level="P4", reasons=()),
        input_verdict=PipelineVerdict(allowed=True, verdicts=()),
        output_verdict=PipelineVerdict(allowed=True, verdicts=(grounding,)),
        best_passage_score=0.03,
    )


def test_shipped_policy_loads_with_its_documented_defaults() -> None:
    policy = load_escalation_policy()
    assert policy.default.angry_sentiment_below == -0.6
    assert policy.default.repeat_max_count == 3
    assert "order_status" in policy.default.auto_answerable_intents
    assert policy.for_tenant("unknown") == policy.default


def test_tenant_override_replaces_only_its_own_keys(tmp_path: Path) -> None:
    policy = load_escalation_policy(write(tmp_path, OVERRIDES))
    bank = policy.for_tenant("bank")
    assert bank.auto_answerable_intents == ("account_password",)
    assert bank.min_grounding_score == 0.6
    assert policy.for_tenant("quiet") == policy.default


def test_tenant_override_changes_the_auto_answerable_set(tmp_path: Path) -> None:
    policy = load_escalation_policy(write(tmp_path, OVERRIDES))
    assert decide(answerable("order_status"), policy.for_tenant("acme")).action == "auto_reply"
    assert decide(answerable("order_status"), policy.for_tenant("bank")).action == "escalate"
    assert decide(answerable("account_password"), policy.for_tenant("bank")).action == (
        "auto_reply"
    )


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("default:\n  min_grounding_score: 1.5\n", "default.min_grounding_score"),
        ("default:\n  auto_answer: [shipping]\n", "default.auto_answer"),
        ("tenants:\n  bank:\n    repeat_max_count: zero\n", "tenants.bank.repeat_max_count"),
        ("tenants:\n  bank: [shipping]\n", "tenants.bank"),
        ("escalate: always\n", "escalate"),
    ],
)
def test_invalid_policy_names_the_file_and_the_key(tmp_path: Path, text: str, where: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(SignalsConfigError) as caught:
        load_escalation_policy(path)
    assert str(path) in caught.value.message
    assert f"{where}:" in caught.value.message


def test_unreadable_yaml_names_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "default: [unclosed\n")
    with pytest.raises(SignalsConfigError, match="is not valid YAML"):
        load_escalation_policy(path)


def test_missing_file_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(SignalsConfigError, match="cannot be read"):
        load_escalation_policy(tmp_path / "absent.yaml")
