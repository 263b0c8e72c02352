"""Fixtures of the API tests: the development issuer, the app over a sample KB, tokens."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from keycloak import KeycloakOpenID

from airlock.config import load_settings
from airlock.server import build_api_app
from airlock.services import open_services
from airlock.settings import AirlockSettings
from airlock.settings_api import DevIssuerSettings
from api.auth.devissuer import DevIssuer, run_dev_issuer
from audit.events import Actor
from rag.ingest import IngestTarget
from rag.loaders import load_paths
from rag.registry import open_knowledge_base

REPO = Path(__file__).resolve().parents[2]
TICKETS = REPO / "examples" / "tickets.jsonl"
# Demo realm credentials (api/keycloak/dev-realm.yaml).
CLIENT_SECRETS = {
    "ticketing-demo": "dev-ticketing-secret",
    "ticketing-acme": "dev-acme-secret",
    "chat-widget-demo": "dev-chat-secret",
}
USER_PASSWORDS = {
    "alice": "alice-dev",
    "bob": "bob-dev",
    "olga": "olga-dev",
    "audrey": "audrey-dev",
    "kim": "kim-dev",
    "mo": "mo-dev",
    "nobody": "nobody-dev",
}


@pytest.fixture(scope="session")
def dev_issuer() -> Iterator[DevIssuer]:
    """The development issuer on a loopback port for the whole session."""
    with run_dev_issuer(DevIssuerSettings()) as issuer:
        yield issuer


@pytest.fixture(scope="session")
def api_settings(
    tmp_path_factory: pytest.TempPathFactory, dev_issuer: DevIssuer
) -> AirlockSettings:
    """Settings whose knowledge base holds examples/kb for tenant demo; tokens from the issuer."""
    data_dir = tmp_path_factory.mktemp("api-data")
    settings = load_settings(
        overrides={"data_dir": str(data_dir), "auth": {"issuer_url": dev_issuer.issuer}},
        environ={},
    )
    with (
        open_services(settings) as services,
        open_knowledge_base(settings, services.engine, services.audit) as kb,
    ):
        loaded = load_paths([REPO / "examples" / "kb"])
        kb.kb.ingest(loaded.documents, IngestTarget("demo"), Actor(subject="test"))
    return settings


@pytest.fixture(scope="module")
def client(api_settings: AirlockSettings) -> Iterator[TestClient]:
    """The app with its lifespan (parts, verifier, one worker), once per test module."""
    with TestClient(build_api_app(api_settings), raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture(scope="session")
def get_token(dev_issuer: DevIssuer) -> Callable[[str], str]:
    """An access token from the issuer's token endpoint via python-keycloak (cached per name).

    Client ids get the client-credentials grant; user names the password grant through the
    public console client, as a real Keycloak would issue them.
    """
    cache: dict[str, str] = {}

    def token(name: str) -> str:
        if name not in cache:
            server = dev_issuer.base_url + "/"
            if name in CLIENT_SECRETS:
                kc = KeycloakOpenID(server, "airlock", name, CLIENT_SECRETS[name])
                cache[name] = kc.token(grant_type="client_credentials")["access_token"]
            else:
                kc = KeycloakOpenID(server, "airlock", "airlock-console")
                cache[name] = kc.token(name, USER_PASSWORDS[name])["access_token"]
        return cache[name]

    return token


@pytest.fixture(scope="session")
def auth(get_token: Callable[[str], str]) -> Callable[[str], dict[str, str]]:
    """Authorization headers for a client id or user name of the demo realm."""
    return lambda name: {"Authorization": f"Bearer {get_token(name)}"}
