"""Introspection mode: Keycloak confirms each token is still active (revocation-sensitive)."""

from __future__ import annotations

from keycloak import KeycloakOpenID
from keycloak.exceptions import KeycloakError

from airlock.settings_api import AuthSettings
from api.auth.errors import AuthError
from api.auth.oidc import OidcVerifier
from api.auth.principal import Principal


def split_realm_url(issuer_url: str) -> tuple[str, str]:
    """The server URL and realm name of a realm URL such as https://kc/realms/airlock."""
    base, marker, realm = issuer_url.rstrip("/").rpartition("/realms/")
    if not marker or not realm or "/" in realm:
        raise AuthError(
            f"{issuer_url!r} is not a Keycloak realm URL (expected https://HOST/realms/REALM)",
            status=503,
        )
    return base + "/", realm


class IntrospectionCheck:
    """Asks the realm's introspection endpoint (RFC 7662) about every token."""

    def __init__(self, settings: AuthSettings, issuer_url: str) -> None:
        server_url, realm = split_realm_url(issuer_url)
        secret = settings.introspection_client_secret
        self.client = KeycloakOpenID(
            server_url=server_url,
            realm_name=realm,
            client_id=settings.introspection_client_id,
            client_secret_key=secret.get_secret_value() if secret else None,
            timeout=int(max(1, settings.http_timeout_s)),
        )

    async def check(self, token: str) -> None:
        """Refuse a token Keycloak no longer calls active (revoked, logged out, expired)."""
        try:
            result = await self.client.a_introspect(token)
        except KeycloakError as exc:
            if exc.response_code is None:  # no answer at all
                reason = "is unreachable; check auth.issuer_url and the network path to it"
            else:
                reason = (
                    f"refused introspection ({exc.response_code}); "
                    "check auth.introspection_client_id and its secret"
                )
            raise AuthError(f"the identity provider {reason}", status=503) from None
        if not isinstance(result, dict) or result.get("active") is not True:
            raise AuthError("token is no longer active (revoked or logged out)")


class IntrospectingVerifier:
    """Local verification first (cheap refusals), then Keycloak's word on revocation."""

    def __init__(self, local: OidcVerifier, check: IntrospectionCheck) -> None:
        self.local = local
        self.check = check

    async def verify(self, token: str) -> Principal:
        """The caller of a token that verifies locally and is still active in Keycloak."""
        principal = await self.local.verify(token)
        await self.check.check(token)
        return principal
