"""Authentication: Keycloak access tokens verified as an OIDC resource server."""

from api.auth.errors import AuthError
from api.auth.principal import ROLES, Principal

__all__ = ["ROLES", "AuthError", "Principal"]
