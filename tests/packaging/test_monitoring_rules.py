"""The Prometheus alert rules: the alerts the issue asks for, each with a runbook that exists."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.packaging.tools import REPO

RULES = REPO / "helm" / "airlock" / "files" / "alerts" / "airlock-rules.yaml"
RUNBOOKS = REPO / "docs" / "monitoring.md"
REQUIRED_ALERTS = frozenset(
    {
        "AirlockTicketSubmitLatencyHigh",  # API latency SLO
        "AirlockApiErrorBudgetFastBurn",  # 5xx burn rate
        "AirlockEscalationRateSpike",
        "AirlockEngineFailover",
        "AirlockAuditChainBroken",
        "AirlockAuditVerificationBroken",
        "AirlockAuditVerificationStale",
        "AirlockQueueBacklog",
        "AirlockQueueBacklogCritical",
        "AirlockQueueDown",
        "AirlockApiTargetDown",
        "AirlockVllmMetricsGone",
        "AirlockVllmKvCacheNearFull",
        "AirlockGpuHot",
    }
)
SEVERITIES = frozenset({"warning", "critical"})
# The PrometheusRule CRD's duration pattern (prometheus-operator), stricter than Prometheus.
DURATION = re.compile(
    r"^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$"
)
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*$", re.MULTILINE)

Rule = dict[str, Any]


def load_rules() -> list[Rule]:
    """Every rule of every group in the rule file."""
    document = yaml.safe_load(RULES.read_text())
    return [rule for group in document["groups"] for rule in group["rules"]]


def load_alerts() -> dict[str, Rule]:
    """The alerting rules by name."""
    return {rule["alert"]: rule for rule in load_rules() if "alert" in rule}


def github_anchor(heading: str) -> str:
    """The anchor GitHub (and most Markdown renderers) give a heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


ALERTS = load_alerts()


def test_rule_file_is_a_list_of_named_groups() -> None:
    document = yaml.safe_load(RULES.read_text())
    assert set(document) == {"groups"}  # also a PrometheusRule spec as it is
    names = [group["name"] for group in document["groups"]]
    assert len(names) == len(set(names))
    assert all(group["rules"] for group in document["groups"])


def test_required_alerts_are_defined() -> None:
    assert sorted(REQUIRED_ALERTS - set(ALERTS)) == []


def test_alert_names_are_unique() -> None:
    names = [rule["alert"] for rule in load_rules() if "alert" in rule]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("name", sorted(ALERTS))
def test_alert_carries_severity_summary_description_and_runbook(name: str) -> None:
    rule = ALERTS[name]
    assert rule["labels"]["severity"] in SEVERITIES
    annotations = rule["annotations"]
    for key in ("summary", "description", "runbook_url"):
        assert isinstance(annotations.get(key), str) and annotations[key].strip(), key


@pytest.mark.parametrize("name", sorted(ALERTS))
def test_alert_waits_a_valid_duration(name: str) -> None:
    assert DURATION.match(str(ALERTS[name]["for"])), ALERTS[name]["for"]


@pytest.mark.parametrize("name", sorted(ALERTS))
def test_runbook_anchor_exists_in_the_monitoring_doc(name: str) -> None:
    path, _, anchor = ALERTS[name]["annotations"]["runbook_url"].partition("#")
    assert (REPO / path).resolve() == Path(RUNBOOKS).resolve()
    anchors = {github_anchor(h) for h in HEADING.findall(RUNBOOKS.read_text())}
    assert anchor in anchors, f"no heading for #{anchor} in {RUNBOOKS.name}"


def test_every_runbook_section_names_meaning_threshold_and_first_steps() -> None:
    text = RUNBOOKS.read_text()
    for name in ALERTS:
        section = text.split(f"### {name}\n", 1)[1].split("\n### ", 1)[0]
        for part in ("**Meaning**", "**Threshold**", "**First steps**"):
            assert part in section, f"{name}: {part}"
