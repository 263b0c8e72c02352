"""Routing a ticket to a team and queue by intent and language, from a YAML table."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from helpdesk.signals.policyfile import load_policy_file

SHIPPED_ROUTING = Path(__file__).resolve().parent / "routing.yaml"
Uncovered = Literal["variant", "fallback"]


class TeamSpec(BaseModel):
    """A team: the languages it answers in (empty: all) and what to do with the others."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    languages: tuple[str, ...] = ()
    uncovered: Uncovered | None = None
    fallback_queue: str | None = None


class RoutingTable(BaseModel):
    """Intents to teams, the teams' languages, and the default route."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    default_team: str = Field(default="general-support", min_length=1)
    min_confidence: float = Field(default=0.5, ge=0.0, le=1.0)
    # "variant": queue `<team>-<language>`; "fallback": the team's or the table's fallback queue.
    uncovered: Uncovered = "fallback"
    fallback_queue: str = Field(default="general-support", min_length=1)
    intents: dict[str, str] = {}
    teams: dict[str, TeamSpec] = {}

    @model_validator(mode="after")
    def _teams_exist(self) -> Self:
        known = {*self.teams, self.default_team}
        for intent, team in self.intents.items():
            if team not in known:
                raise ValueError(f"intents.{intent}: team {team!r} is not listed under teams")
        return self


@dataclass(frozen=True)
class Route:
    """Where a ticket goes: the owning team, the queue it lands in, and why."""

    team: str
    queue: str
    reasons: tuple[str, ...]


def load_routing_table(path: Path | None = None) -> RoutingTable:
    """The table in `path`, or the shipped one; problems name the file and the key."""
    shipped = "helpdesk/signals/routing.yaml"
    return load_policy_file(path or SHIPPED_ROUTING, RoutingTable, "routing table", shipped)


def route_ticket(
    table: RoutingTable, *, intent: str | None, language: str, confidence: float = 1.0
) -> Route:
    """The team of the intent (default team when unknown or unsure) and its language queue."""
    default = table.default_team
    if not intent:
        team, reason = default, f"no intent: default team {default}"
    elif intent not in table.intents:
        team, reason = default, f"intent {intent} has no route: default team {default}"
    elif confidence < table.min_confidence:
        team = default
        reason = (
            f"intent {intent} confidence {confidence:.2f} below {table.min_confidence:.2f}: "
            f"default team {default}"
        )
    else:
        team, reason = table.intents[intent], f"intent {intent} routes to {table.intents[intent]}"
    queue, language_reasons = _queue(table, team, language.strip().lower())
    return Route(team=team, queue=queue, reasons=(reason, *language_reasons))


def _queue(table: RoutingTable, team: str, language: str) -> tuple[str, tuple[str, ...]]:
    """The team's own queue when it covers the language, else its variant or a fallback."""
    spec = table.teams.get(team, TeamSpec())
    if not spec.languages or language in spec.languages:
        return team, ()
    if not language:
        return team, (f"language unknown: {team}'s own queue",)
    if (spec.uncovered or table.uncovered) == "variant":
        queue = f"{team}-{language}"
        return queue, (f"language {language} not covered by {team}: variant {queue}",)
    queue = spec.fallback_queue or table.fallback_queue
    return queue, (f"language {language} not covered by {team}: fallback {queue}",)
