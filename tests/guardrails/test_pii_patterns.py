"""Pattern files: the shipped one, a customer's own, and errors that name file and problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from airlock.config import load_settings
from guardrails.errors import GuardModelError
from guardrails.pii import build_pii_guard
from guardrails.pii.patterns import SHIPPED_PATTERNS, load_pattern_file

EMPLOYEE_PATTERNS = """
recognizers:
  - name: employee_id
    supported_entity: EMPLOYEE_ID
    patterns:
      - name: badge number
        regex: '\\bEMP-\\d{5}\\b'
        score: 0.9
    context: [employee, badge]
"""


def _build(tmp_path: Path, patterns: str):
    path = tmp_path / "patterns.yaml"
    path.write_text(patterns, encoding="utf-8")
    overrides = {"data_dir": str(tmp_path), "guardrails": {"pii": {"patterns_file": str(path)}}}
    return build_pii_guard(load_settings(overrides=overrides, environ={})), path


def test_shipped_patterns_file_is_valid() -> None:
    spec = load_pattern_file(SHIPPED_PATTERNS)
    assert {r.supported_entity for r in spec.recognizers} == {
        "ORDER_ID", "ACCOUNT_ID", "TICKET_ID", "SECRET",
    }  # fmt: skip


def test_customer_patterns_file_adds_its_own_type(tmp_path: Path) -> None:
    guard, _ = _build(tmp_path, EMPLOYEE_PATTERNS)
    text = "Badge EMP-20931 does not open the door."
    assert [(e.type, text[e.start : e.end]) for e in guard.analyze(text)] == [
        ("EMPLOYEE_ID", "EMP-20931")
    ]


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("recognizers: [\n  - name: x\n", "is not valid YAML"),
        ("- just a list\n", "is invalid: .*(?i:valid dictionary)"),
        ("recognizers: []\n", "is invalid: recognizers"),
        (
            EMPLOYEE_PATTERNS.replace("score: 0.9", "score: 9"),
            r"recognizers\.0\.patterns\.0\.score",
        ),
        (
            EMPLOYEE_PATTERNS.replace("EMPLOYEE_ID", "employee id"),
            r"recognizers\.0\.supported_entity",
        ),
        (EMPLOYEE_PATTERNS.replace("context:", "contexts:"), r"recognizers\.0\.contexts"),
        (EMPLOYEE_PATTERNS.replace("EMP-", "(EMP-"), "bad regex"),
    ],
)
def test_bad_patterns_file_is_a_model_error_naming_file_and_problem(
    tmp_path: Path, content: str, problem: str
) -> None:
    with pytest.raises(GuardModelError, match=problem) as caught:
        _build(tmp_path, content)
    assert str(tmp_path / "patterns.yaml") in str(caught.value)


def test_missing_patterns_file_is_a_model_error(tmp_path: Path) -> None:
    overrides = {
        "data_dir": str(tmp_path),
        "guardrails": {"pii": {"patterns_file": str(tmp_path / "absent.yaml")}},
    }
    with pytest.raises(GuardModelError, match=r"absent\.yaml cannot be read"):
        build_pii_guard(load_settings(overrides=overrides, environ={}))
