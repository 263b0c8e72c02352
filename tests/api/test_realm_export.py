"""The Keycloak realm export: the roles, clients, scopes and mappers Airlock's tokens rely on."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from airlock.settings_api import ROLES, AuthSettings
from api.auth.devrealm import load_dev_realm

EXPORT = Path(__file__).resolve().parents[2] / "api" / "keycloak" / "realm-airlock.json"
PLACEHOLDER = "**********"


@pytest.fixture(scope="module")
def realm() -> dict[str, Any]:
    """The parsed realm export."""
    document: dict[str, Any] = json.loads(EXPORT.read_text(encoding="utf-8"))
    return document


def _client(realm: dict[str, Any], client_id: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = [c for c in realm["clients"] if c["clientId"] == client_id]
    assert len(found) == 1, f"client {client_id} missing or duplicated"
    return found[0]


def _scope(realm: dict[str, Any], name: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = [s for s in realm["clientScopes"] if s["name"] == name]
    assert len(found) == 1, f"client scope {name} missing or duplicated"
    return found[0]


def _mappers(owner: dict[str, Any], kind: str) -> list[dict[str, str]]:
    return [m["config"] for m in owner.get("protocolMappers", []) if m["protocolMapper"] == kind]


def test_realm_is_enabled_with_tls_and_short_tokens(realm: dict[str, Any]) -> None:
    assert realm["realm"] == "airlock"
    assert realm["enabled"] is True
    assert realm["sslRequired"] == "external"
    assert realm["accessTokenLifespan"] == 300


def test_realm_defines_exactly_airlocks_roles_with_descriptions(realm: dict[str, Any]) -> None:
    roles = {role["name"]: role for role in realm["roles"]["realm"]}
    assert set(roles) == set(ROLES)
    assert all(role.get("description") for role in roles.values())


def test_dev_realm_uses_only_roles_the_export_defines(realm: dict[str, Any]) -> None:
    exported = {role["name"] for role in realm["roles"]["realm"]}
    dev = load_dev_realm()
    used = {role for client in dev.clients for role in client.roles}
    used |= {role for user in dev.users for role in user.roles}
    assert used <= exported
    assert dev.audience == AuthSettings().audience


def test_resource_client_only_names_the_audience(realm: dict[str, Any]) -> None:
    api = _client(realm, "airlock-api")
    assert api["publicClient"] is False
    assert api["standardFlowEnabled"] is False
    assert api["directAccessGrantsEnabled"] is False
    assert api["serviceAccountsEnabled"] is False


def test_ticketing_client_is_confidential_service_account_with_tenant(
    realm: dict[str, Any],
) -> None:
    client = _client(realm, "ticketing-example")
    assert client["publicClient"] is False
    assert client["clientAuthenticatorType"] == "client-secret"
    assert client["serviceAccountsEnabled"] is True
    assert client["standardFlowEnabled"] is False
    assert client["directAccessGrantsEnabled"] is False
    assert client["secret"] == PLACEHOLDER  # regenerated after import, never shipped
    (tenant,) = _mappers(client, "oidc-hardcoded-claim-mapper")
    assert tenant["claim.name"] == "tenant" and tenant["claim.value"]
    assert tenant["access.token.claim"] == "true"
    accounts = [u for u in realm["users"] if u.get("serviceAccountClientId") == client["clientId"]]
    assert [user["realmRoles"] for user in accounts] == [["ticketing-client"]]


def test_introspection_client_is_confidential_without_roles(realm: dict[str, Any]) -> None:
    client = _client(realm, "airlock-introspection")
    assert client["publicClient"] is False
    assert client["secret"] == PLACEHOLDER
    accounts = [u for u in realm["users"] if u.get("serviceAccountClientId") == client["clientId"]]
    assert all(not user.get("realmRoles") for user in accounts)


def test_console_is_public_with_pkce_and_no_password_grant(realm: dict[str, Any]) -> None:
    console = _client(realm, "airlock-console")
    assert console["publicClient"] is True
    assert console["standardFlowEnabled"] is True
    assert console["implicitFlowEnabled"] is False
    assert console["directAccessGrantsEnabled"] is False
    assert console["attributes"]["pkce.code.challenge.method"] == "S256"
    assert console["redirectUris"] and "*" not in console["redirectUris"]
    assert "secret" not in console


def test_airlock_scope_adds_audience_and_tenant_for_every_client(realm: dict[str, Any]) -> None:
    scope = _scope(realm, "airlock-api")
    (audience,) = _mappers(scope, "oidc-audience-mapper")
    named = audience.get("included.client.audience") or audience.get("included.custom.audience")
    assert named == AuthSettings().audience
    assert audience["access.token.claim"] == "true"
    (tenant,) = _mappers(scope, "oidc-usermodel-attribute-mapper")
    assert (tenant["user.attribute"], tenant["claim.name"]) == ("tenant", "tenant")
    assert tenant["access.token.claim"] == "true"
    for client_id in ("ticketing-example", "airlock-console"):
        assert "airlock-api" in _client(realm, client_id)["defaultClientScopes"]
    assert "airlock-api" in realm["defaultDefaultClientScopes"]


def test_builtin_scopes_the_verifier_needs_are_declared(realm: dict[str, Any]) -> None:
    # Declaring clientScopes stops Keycloak from creating its built-in ones: sub and roles
    # would silently vanish from the access tokens.
    assert _mappers(_scope(realm, "basic"), "oidc-sub-mapper")
    (roles,) = _mappers(_scope(realm, "roles"), "oidc-usermodel-realm-role-mapper")
    assert roles["claim.name"] == "realm_access.roles"
    declared = {scope["name"] for scope in realm["clientScopes"]}
    for client in realm["clients"]:
        assert set(client.get("defaultClientScopes", [])) <= declared, client["clientId"]
    assert set(realm["defaultDefaultClientScopes"]) <= declared


def test_tenant_attribute_is_declared_and_only_admins_edit_it(realm: dict[str, Any]) -> None:
    (provider,) = realm["components"]["org.keycloak.userprofile.UserProfileProvider"]
    profile = json.loads(provider["config"]["kc.user.profile.config"][0])
    (tenant,) = [a for a in profile["attributes"] if a["name"] == "tenant"]
    assert tenant["permissions"]["edit"] == ["admin"]
    assert tenant["multivalued"] is False


def test_export_ships_no_secrets(realm: dict[str, Any]) -> None:
    secrets = [c["secret"] for c in realm["clients"] if "secret" in c]
    assert secrets and set(secrets) == {PLACEHOLDER}
    assert all("credentials" not in user for user in realm["users"])
