"""The development issuer speaks Keycloak's protocol: python-keycloak works against it unchanged."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import httpx
import jwt
import pytest
from jwt import PyJWKSet
from keycloak import KeycloakOpenID
from keycloak.exceptions import KeycloakAuthenticationError, KeycloakError
from pydantic import ValidationError

from airlock.settings_api import DevIssuerSettings
from api.auth.devissuer import DevIssuer

SECRET = "dev-ticketing-secret"  # api/keycloak/dev-realm.yaml


def _openid(issuer: DevIssuer, client_id: str, secret: str | None = None) -> KeycloakOpenID:
    return KeycloakOpenID(issuer.base_url + "/", issuer.realm_name, client_id, secret)


def _verified(issuer: DevIssuer, token: str) -> dict[str, Any]:
    """The claims of `token`, checked against the JWKS the certs endpoint serves."""
    keys = PyJWKSet.from_dict(_openid(issuer, "airlock-console").certs())
    key = keys[str(jwt.get_unverified_header(token)["kid"])]
    claims: dict[str, Any] = jwt.decode(
        token, key=key, algorithms=["RS256"], issuer=issuer.issuer, audience="airlock-api"
    )
    return claims


def test_discovery_names_the_realm_urls(dev_issuer: DevIssuer) -> None:
    document = _openid(dev_issuer, "airlock-console").well_known()
    assert document["issuer"] == dev_issuer.issuer
    assert dev_issuer.issuer.endswith("/realms/airlock")
    endpoints = f"{dev_issuer.issuer}/protocol/openid-connect"
    assert document["token_endpoint"] == f"{endpoints}/token"
    assert document["jwks_uri"] == f"{endpoints}/certs"
    assert document["introspection_endpoint"] == f"{endpoints}/token/introspect"
    assert document["revocation_endpoint"] == f"{endpoints}/revoke"


def test_client_credentials_token_has_keycloak_claim_shapes(dev_issuer: DevIssuer) -> None:
    response = _openid(dev_issuer, "ticketing-demo", SECRET).token(grant_type="client_credentials")
    assert response["token_type"] == "Bearer"
    assert response["expires_in"] == dev_issuer.lifetime_s
    claims = _verified(dev_issuer, response["access_token"])
    assert "ticketing-client" in claims["realm_access"]["roles"]
    assert claims["azp"] == "ticketing-demo"
    assert claims["preferred_username"] == "service-account-ticketing-demo"
    assert claims["tenant"] == "demo"
    assert "airlock-api" in claims["aud"]
    assert claims["typ"] == "Bearer"
    assert claims["sub"] and claims["jti"]
    assert claims["exp"] - claims["iat"] == dev_issuer.lifetime_s


def test_password_grant_issues_a_user_token(dev_issuer: DevIssuer) -> None:
    response = _openid(dev_issuer, "airlock-console").token("alice", "alice-dev")
    claims = _verified(dev_issuer, response["access_token"])
    assert claims["preferred_username"] == "alice"
    assert claims["azp"] == "airlock-console"
    assert claims["tenant"] == "demo"
    assert "agent" in claims["realm_access"]["roles"]
    assert "ticketing-client" not in claims["realm_access"]["roles"]


def test_wrong_client_secret_is_invalid_client(dev_issuer: DevIssuer) -> None:
    openid = _openid(dev_issuer, "ticketing-demo", "not-the-secret")
    with pytest.raises(KeycloakAuthenticationError) as refused:
        openid.token(grant_type="client_credentials")
    assert refused.value.response_code == 401
    assert b"invalid_client" in refused.value.response_body


def test_wrong_password_is_invalid_grant(dev_issuer: DevIssuer) -> None:
    with pytest.raises(KeycloakAuthenticationError) as refused:
        _openid(dev_issuer, "airlock-console").token("alice", "wrong-password")
    assert refused.value.response_code == 401
    assert b"invalid_grant" in refused.value.response_body


def test_public_client_cannot_use_client_credentials(dev_issuer: DevIssuer) -> None:
    with pytest.raises(KeycloakError) as refused:
        _openid(dev_issuer, "airlock-console").token(grant_type="client_credentials")
    assert refused.value.response_code == 400
    assert b"unauthorized_client" in refused.value.response_body


def test_unsupported_grant_type_is_400(dev_issuer: DevIssuer) -> None:
    with pytest.raises(KeycloakError) as refused:
        _openid(dev_issuer, "ticketing-demo", SECRET).token(grant_type="implicit")
    assert refused.value.response_code == 400
    assert b"unsupported_grant_type" in refused.value.response_body


def test_introspection_is_active_until_revoked(dev_issuer: DevIssuer) -> None:
    openid = _openid(dev_issuer, "ticketing-demo", SECRET)
    token = openid.token(grant_type="client_credentials")["access_token"]  # not the shared cache
    active = openid.introspect(token)
    assert active["active"] is True
    assert active["client_id"] == "ticketing-demo"
    assert active["tenant"] == "demo"
    revoked = httpx.post(
        f"{dev_issuer.issuer}/protocol/openid-connect/revoke",
        data={"token": token},
        auth=("ticketing-demo", SECRET),
    )
    assert revoked.status_code == 200
    assert openid.introspect(token) == {"active": False}


def test_introspection_of_a_forged_token_is_inactive(dev_issuer: DevIssuer) -> None:
    openid = _openid(dev_issuer, "ticketing-demo", SECRET)
    token = openid.token(grant_type="client_credentials")["access_token"]
    header, payload, signature = token.split(".")
    assert openid.introspect(f"{header}.{payload}.{signature[::-1]}") == {"active": False}
    assert openid.introspect("not-a-token") == {"active": False}


def test_introspection_needs_a_confidential_client(dev_issuer: DevIssuer) -> None:
    token = _openid(dev_issuer, "airlock-console").token("alice", "alice-dev")["access_token"]
    with pytest.raises(KeycloakAuthenticationError):
        _openid(dev_issuer, "airlock-console").introspect(token)
    with pytest.raises(KeycloakAuthenticationError):
        _openid(dev_issuer, "ticketing-demo", "not-the-secret").introspect(token)


def test_issuer_listens_on_loopback_only(dev_issuer: DevIssuer) -> None:
    assert urlsplit(dev_issuer.base_url).hostname == "127.0.0.1"
    assert "host" not in DevIssuerSettings.model_fields
    with pytest.raises(ValidationError):
        DevIssuerSettings.model_validate({"host": "0.0.0.0"})
