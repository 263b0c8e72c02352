"""The demo's HTTP half: the API on loopback, a Keycloak-style token, tickets over HTTP."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from keycloak import KeycloakOpenID

from airlock.errors import AirlockError
from airlock.settings import AirlockSettings
from api.auth.devrealm import load_dev_realm
from api.auth.introspection import split_realm_url

Echo = Callable[[str], None]
WAIT_S = 60  # the longest a demo ticket may take to be decided
# A ticket's longest reason shown in the table (the decision record holds them all).
REASON_CHARS = 64


@dataclass(frozen=True)
class DemoApi:
    """The running API: its base URL and the realm its tokens come from."""

    url: str
    issuer_url: str


@contextmanager
def serve_demo_api(settings: AirlockSettings) -> Iterator[DemoApi]:
    """The API (with the dev issuer and a local worker) served on loopback for the block."""
    from airlock.server import build_api_app
    from api.loopback import serve_in_thread

    app = build_api_app(settings)
    with serve_in_thread(
        app, host=settings.api.host, port=settings.api.port, lifespan="on", start_timeout_s=600
    ) as url:
        yield DemoApi(url=url, issuer_url=app.state.api.parts.issuer_url)


def fetch_client_token(settings: AirlockSettings, issuer_url: str, tenant: str) -> str:
    """A ticketing client's access token by python-keycloak's client-credentials grant."""
    realm = load_dev_realm(settings.auth.dev_issuer.realm_file)
    clients = [
        client
        for client in realm.clients
        if client.tenant == tenant and "ticketing-client" in client.roles and client.secret
    ]
    if not clients:
        raise AirlockError(
            f"the development realm has no ticketing client for tenant {tenant!r}",
            remedy="add one to auth.dev_issuer.realm_file (see api/keycloak/dev-realm.yaml)",
        )
    server_url, realm_name = split_realm_url(issuer_url)
    keycloak = KeycloakOpenID(server_url, realm_name, clients[0].client_id, clients[0].secret)
    token: dict[str, Any] = keycloak.token(grant_type="client_credentials")
    return str(token["access_token"])


def submit_tickets(
    api: DemoApi, token: str, path: Path, progress: Callable[[dict[str, Any]], None]
) -> list[dict[str, Any]]:
    """Each ticket of a JSON Lines file through POST /v1/tickets?wait=, in file order."""
    decisions: list[dict[str, Any]] = []
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=api.url, headers=headers, timeout=WAIT_S + 30) as http:
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            ticket = json.loads(line)
            response = http.post(
                "/v1/tickets",
                params={"wait": WAIT_S},
                json=ticket,
                headers={"Idempotency-Key": f"demo-{ticket['id']}"},
            )
            if response.status_code not in (200, 202):
                raise AirlockError(
                    f"POST /v1/tickets for {ticket.get('id')} answered {response.status_code}: "
                    f"{response.text[:300]}",
                    remedy="see the API's log lines above",
                )
            body = response.json()
            decision = body.get("decision") or http.get(body["location"]).json().get("decision")
            if decision is not None:
                decisions.append(decision)
                progress(decision)
    return decisions


def format_table(decisions: Sequence[dict[str, Any]]) -> list[str]:
    """One line per decision: ticket, intent, priority, decision, grounding, citations, why."""
    header = ("ticket", "intent", "prio", "decision", "grounded", "cites", "reasons")
    rows = [header, *(_row(decision) for decision in decisions)]
    widths = [max(len(row[column]) for row in rows) for column in range(len(header) - 1)]
    lines = []
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        lines.append("  ".join([*cells, row[-1]]).rstrip())
    lines.insert(1, "  ".join("-" * width for width in widths) + "  " + "-" * 7)
    return lines


def _row(decision: dict[str, Any]) -> tuple[str, ...]:
    intent = decision.get("intent") or {}
    grounding = next(
        (g for g in decision.get("output_guards", ()) if g.get("guard") == "grounding"), None
    )
    score = (grounding or {}).get("scores", {}).get("grounding")
    reasons = decision["decision"]["reasons"]
    reason = reasons[0] if reasons else ""
    if len(reason) > REASON_CHARS:
        reason = reason[: REASON_CHARS - 1] + "…"
    more = f" (+{len(reasons) - 1})" if len(reasons) > 1 else ""
    return (
        str(decision["ticket_id"]),
        str(intent.get("label", "—")),
        str(decision["priority"]["level"]),
        str(decision["decision"]["action"]),
        f"{score:.2f}" if isinstance(score, float | int) else "—",
        ",".join(str(c["ref"]) for c in decision.get("citations", ())) or "—",
        reason + more,
    )
