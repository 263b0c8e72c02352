"""The development issuer's realm: clients, users, roles and tenants from YAML."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from airlock.settings_api import ROLES
from airlock.yamlfile import load_yaml_model
from api.errors import ApiStartupError

DEFAULT_REALM_FILE = Path(__file__).resolve().parent.parent / "keycloak" / "dev-realm.yaml"


class DevClient(BaseModel):
    """A realm client: confidential with a service account, or public (no secret)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    client_id: str
    secret: str = ""
    public: bool = False
    service_account: bool = False
    tenant: str = ""
    roles: tuple[str, ...] = ()


class DevUser(BaseModel):
    """A realm user with a password, a tenant attribute and realm roles."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    username: str
    password: str
    tenant: str
    roles: tuple[str, ...] = ()
    email: str = ""


class DevRealm(BaseModel):
    """The issuer's YAML: audience, clients and users."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    audience: str = "airlock-api"
    clients: tuple[DevClient, ...] = ()
    users: tuple[DevUser, ...] = Field(default=())


def load_dev_realm(path: Path | None = None) -> DevRealm:
    """The issuer's clients and users from YAML (default: the shipped demo realm)."""
    realm = load_yaml_model(
        path or DEFAULT_REALM_FILE,
        DevRealm,
        what="development realm",
        error=ApiStartupError,
        remedy="fix auth.dev_issuer.realm_file (the shipped example: api/keycloak/dev-realm.yaml)",
    )
    named = {role for client in realm.clients for role in client.roles}
    named |= {role for user in realm.users for role in user.roles}
    unknown = sorted(named - set(ROLES))
    if unknown:
        raise ApiStartupError(
            f"development realm {path or DEFAULT_REALM_FILE} names unknown roles {unknown}",
            remedy=f"use the roles {', '.join(ROLES)}",
        )
    return realm
