"""Who is calling: the subject, client, tenant and roles read from a verified token."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from airlock.settings_api import ROLES
from api.auth.errors import AuthError
from audit.events import Actor

__all__ = ["ROLES", "Principal", "principal_from_claims"]

_TENANT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")


@dataclass(frozen=True)
class Principal:
    """A verified caller; every query is scoped to `tenant`."""

    subject: str
    client_id: str
    tenant: str
    roles: frozenset[str]
    username: str = ""
    token_id: str = ""

    def has_any(self, roles: Iterable[str]) -> bool:
        """Whether the caller holds at least one of `roles`."""
        return not self.roles.isdisjoint(roles)

    def get_actor(self) -> Actor:
        """The audit actor of this caller (subject and client; never the token)."""
        return Actor(subject=self.username or self.subject, client_id=self.client_id)

    def get_roles(self) -> tuple[str, ...]:
        """The caller's roles, sorted (as audit events record them)."""
        return tuple(sorted(self.roles))


def principal_from_claims(
    claims: Mapping[str, Any], *, tenant_claim: str, role_clients: Iterable[str]
) -> Principal:
    """The caller of a verified token's claims (403 when it names no usable tenant)."""
    tenant = claims.get(tenant_claim)
    if not isinstance(tenant, str) or not _TENANT.fullmatch(tenant):
        raise AuthError(
            f"the token has no valid {tenant_claim!r} claim; ask the identity provider "
            "administrator to map the user's or client's tenant into the token",
            status=403,
            error="insufficient_scope",
        )
    roles = set(_role_list(claims.get("realm_access")))
    access = claims.get("resource_access")
    if isinstance(access, Mapping):
        for client in role_clients:
            roles.update(_role_list(access.get(client)))
    client_id = str(claims.get("azp") or claims.get("client_id") or "")
    return Principal(
        subject=str(claims.get("sub") or client_id),
        client_id=client_id,
        tenant=tenant,
        roles=frozenset(role for role in roles if role in ROLES),
        username=str(claims.get("preferred_username") or ""),
        token_id=str(claims.get("jti") or ""),
    )


def _role_list(block: object) -> list[str]:
    if not isinstance(block, Mapping):
        return []
    roles = block.get("roles")
    if not isinstance(roles, list):
        return []
    return [role for role in roles if isinstance(role, str)]
