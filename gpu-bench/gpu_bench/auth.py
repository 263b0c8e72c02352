"""Credentials for the endpoint: none, a bearer token, or Keycloak client credentials."""

from __future__ import annotations

from dataclasses import dataclass


class AuthError(ValueError):
    """The credentials cannot be had: a bad --auth value or a refused Keycloak login."""


@dataclass(frozen=True)
class KeycloakClient:
    """A confidential client of a Keycloak realm (the client-credentials grant)."""

    realm_url: str  # https://HOST/realms/REALM
    client_id: str
    client_secret: str


def fetch_keycloak_token(client: KeycloakClient) -> str:
    """An access token by python-keycloak's client-credentials grant."""
    try:
        from keycloak import KeycloakOpenID
        from keycloak.exceptions import KeycloakError
    except ImportError:
        raise AuthError(
            "--auth keycloak needs python-keycloak: pip install 'gpu-bench[keycloak]'"
        ) from None
    base, marker, realm = client.realm_url.rstrip("/").rpartition("/realms/")
    if not marker or not realm:
        raise AuthError(f"{client.realm_url!r} is not a realm URL (https://HOST/realms/REALM)")
    keycloak = KeycloakOpenID(base + "/", realm, client.client_id, client.client_secret)
    try:
        token = keycloak.token(grant_type="client_credentials")
    except KeycloakError as exc:
        raise AuthError(
            f"Keycloak refused client {client.client_id!r} at {client.realm_url} "
            f"({exc.response_code}): check the client id and secret"
        ) from None
    return str(token["access_token"])


def auth_headers(token: str | None) -> dict[str, str]:
    """The Authorization header for a bearer token (none without one)."""
    return {"Authorization": f"Bearer {token}"} if token else {}
