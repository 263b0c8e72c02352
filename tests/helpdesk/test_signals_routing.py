"""Routing: teams by intent, language variants and fallbacks, defaults, file errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpdesk.signals import RoutingTable, SignalsConfigError, load_routing_table, route_ticket


@pytest.fixture(scope="module")
def table() -> RoutingTable:
    return load_routing_table()


@pytest.mark.parametrize(
    ("intent", "team"),
    [
        ("payment_billing", "payments"),
        ("account_password", "accounts"),
        ("technical_problem", "tech-support"),
        ("legal_threat", "legal"),
        ("privacy_data_request", "privacy-office"),
        ("shipping", "general-support"),
    ],
)
def test_route_picks_team_by_intent(table: RoutingTable, intent: str, team: str) -> None:
    route = route_ticket(table, intent=intent, language="en", confidence=0.9)
    assert (route.team, route.queue) == (team, team)


def test_route_uses_language_variant_queue_when_team_lacks_language(table: RoutingTable) -> None:
    route = route_ticket(table, intent="account_password", language="fr")
    assert (route.team, route.queue) == ("accounts", "accounts-fr")
    assert "variant accounts-fr" in route.reasons[-1]


def test_route_uses_fallback_queue_when_configured(table: RoutingTable) -> None:
    route = route_ticket(table, intent="shipping", language="it")
    assert (route.team, route.queue) == ("general-support", "general-support-intl")


def test_route_keeps_team_queue_when_language_is_unknown(table: RoutingTable) -> None:
    assert route_ticket(table, intent="account_password", language="").queue == "accounts"


def test_route_sends_unknown_or_unsure_intent_to_default_with_reason(table: RoutingTable) -> None:
    unknown = route_ticket(table, intent="weather", language="en")
    unsure = route_ticket(table, intent="payment_billing", language="en", confidence=0.1)
    assert unknown.team == unsure.team == "general-support"
    assert "intent weather has no route" in unknown.reasons[0]
    assert "below 0.50" in unsure.reasons[0]


def test_routing_file_error_names_file_and_unknown_key(tmp_path: Path) -> None:
    path = tmp_path / "routing.yaml"
    path.write_text("teams:\n  payments: {languages: [en], langauge_fallback: x}\n", "utf-8")
    with pytest.raises(SignalsConfigError, match=r"routing.yaml is invalid: teams\.payments\."):
        load_routing_table(path)


def test_routing_file_error_names_intent_with_unlisted_team(tmp_path: Path) -> None:
    path = tmp_path / "routing.yaml"
    path.write_text("intents:\n  payment_billing: paymnets\n", "utf-8")
    with pytest.raises(SignalsConfigError, match=r"intents\.payment_billing.*'paymnets'"):
        load_routing_table(path)


def test_routing_file_error_names_file_and_line_of_bad_yaml(tmp_path: Path) -> None:
    path = tmp_path / "routing.yaml"
    path.write_text("intents:\n  payment_billing: [payments\n", "utf-8")
    with pytest.raises(SignalsConfigError, match=r"routing.yaml is not valid YAML.*line"):
        load_routing_table(path)
