"""The development issuer: a loopback-only stand-in for Keycloak that speaks its protocol.

Same URL layout as a Keycloak realm (`/realms/{realm}/.well-known/openid-configuration`,
`/protocol/openid-connect/certs|token|token/introspect|revoke`), RS256 access tokens with
Keycloak's claim shapes (`realm_access`, `resource_access`, `azp`, `preferred_username`, a
`tenant` attribute mapper, the audience mapper's `aud`), clients and users from YAML, key rotation
on demand. It binds to 127.0.0.1 only, and the production profile never starts it.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import secrets
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from airlock.settings_api import DevIssuerSettings
from api.auth.devrealm import DevClient, DevRealm, DevUser, load_dev_realm
from api.loopback import serve_in_thread

LOOPBACK = "127.0.0.1"


@dataclass(frozen=True)
class _SigningKey:
    kid: str
    private: rsa.RSAPrivateKey


class DevIssuer:
    """Issues and checks tokens for one realm; `app` serves the Keycloak endpoints."""

    def __init__(
        self, realm: DevRealm, *, realm_name: str = "airlock", lifetime_s: int = 300
    ) -> None:
        self.realm = realm
        self.realm_name = realm_name
        self.lifetime_s = lifetime_s
        self.base_url = ""  # set once served: http://127.0.0.1:PORT
        self._keys: list[_SigningKey] = []
        self._revoked: set[str] = set()
        self._lock = threading.Lock()
        self.rotate_key()
        self.app = Starlette(routes=self._routes())

    @property
    def issuer(self) -> str:
        """The realm URL, exactly the tokens' `iss`."""
        return f"{self.base_url}/realms/{self.realm_name}"

    def rotate_key(self) -> str:
        """Make a new signing key active; the previous one stays published (passive)."""
        key = _SigningKey(secrets.token_hex(8), rsa.generate_private_key(65537, 2048))
        with self._lock:
            self._keys = [key, *self._keys[:1]]
        return key.kid

    def drop_passive_keys(self) -> None:
        """Stop publishing every key but the active one (tokens they signed stop verifying)."""
        with self._lock:
            self._keys = self._keys[:1]

    def sign(self, claims: Mapping[str, Any], *, headers: Mapping[str, Any] | None = None) -> str:
        """A JWT over `claims` signed with the active key (tests craft edge cases with it)."""
        key = self._keys[0]
        return jwt.encode(
            dict(claims),
            key.private,
            algorithm="RS256",
            headers={"kid": key.kid, **(headers or {})},
        )

    def get_public_jwks(self) -> dict[str, Any]:
        """The published keys, as the certs endpoint serves them."""
        keys = []
        for key in self._keys:
            jwk = RSAAlgorithm.to_jwk(key.private.public_key(), as_dict=True)
            keys.append({**jwk, "kid": key.kid, "alg": "RS256", "use": "sig"})
        return {"keys": keys}

    def client_token(self, client: DevClient) -> str:
        """A service-account access token, as Keycloak's client-credentials grant issues it."""
        return self.sign(
            self._claims(
                sub=str(uuid.uuid5(uuid.NAMESPACE_URL, f"{self.realm_name}/sa/{client.client_id}")),
                username=f"service-account-{client.client_id}",
                azp=client.client_id,
                tenant=client.tenant,
                roles=client.roles,
            )
            | {"clientId": client.client_id}
        )

    def user_token(self, user: DevUser, client_id: str) -> str:
        """A user's access token, as Keycloak's password grant issues it."""
        claims = self._claims(
            sub=str(uuid.uuid5(uuid.NAMESPACE_URL, f"{self.realm_name}/user/{user.username}")),
            username=user.username,
            azp=client_id,
            tenant=user.tenant,
            roles=user.roles,
        )
        if user.email:
            claims["email"] = user.email
        return self.sign(claims)

    def revoke(self, token: str) -> None:
        """Mark a token inactive for introspection (as a Keycloak logout or revocation does)."""
        claims = jwt.decode(token, options={"verify_signature": False})
        self._revoked.add(str(claims.get("jti")))

    def introspect(self, token: str) -> dict[str, Any]:
        """RFC 7662 answer: the claims with active true, or just active false."""
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key=self._public_key_for(token),
                algorithms=["RS256"],
                issuer=self.issuer,
                options={"verify_aud": False},
            )
        except (jwt.PyJWTError, KeyError):
            return {"active": False}
        if claims.get("jti") in self._revoked:
            return {"active": False}
        return {**claims, "active": True, "client_id": claims.get("azp"), "token_type": "Bearer"}

    def _public_key_for(self, token: str) -> rsa.RSAPublicKey:
        kid = jwt.get_unverified_header(token).get("kid")
        for key in self._keys:
            if key.kid == kid:
                return key.private.public_key()
        raise KeyError(kid)

    def _claims(
        self, *, sub: str, username: str, azp: str, tenant: str, roles: tuple[str, ...]
    ) -> dict[str, Any]:
        now = int(time.time())
        claims: dict[str, Any] = {
            "exp": now + self.lifetime_s,
            "iat": now,
            "jti": str(uuid.uuid4()),
            "iss": self.issuer,
            "aud": [self.realm.audience, "account"],
            "sub": sub,
            "typ": "Bearer",
            "azp": azp,
            "acr": "1",
            "scope": "profile email",
            "preferred_username": username,
            "realm_access": {"roles": ["default-roles-" + self.realm_name, *roles]},
            "resource_access": {"account": {"roles": ["manage-account", "view-profile"]}},
        }
        if tenant:
            claims["tenant"] = tenant
        return claims

    def _routes(self) -> list[Route]:
        prefix = f"/realms/{self.realm_name}"
        oidc = f"{prefix}/protocol/openid-connect"
        return [
            Route(f"{prefix}/.well-known/openid-configuration", self._discovery),
            Route(f"{oidc}/certs", self._certs),
            Route(f"{oidc}/token", self._token, methods=["POST"]),
            Route(f"{oidc}/token/introspect", self._introspect, methods=["POST"]),
            Route(f"{oidc}/revoke", self._revoke, methods=["POST"]),
        ]

    async def _discovery(self, request: Request) -> JSONResponse:
        oidc = f"{self.issuer}/protocol/openid-connect"
        return JSONResponse(
            {
                "issuer": self.issuer,
                "authorization_endpoint": f"{oidc}/auth",
                "token_endpoint": f"{oidc}/token",
                "introspection_endpoint": f"{oidc}/token/introspect",
                "revocation_endpoint": f"{oidc}/revoke",
                "userinfo_endpoint": f"{oidc}/userinfo",
                "end_session_endpoint": f"{oidc}/logout",
                "jwks_uri": f"{oidc}/certs",
                "grant_types_supported": ["client_credentials", "password"],
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "token_endpoint_auth_methods_supported": [
                    "client_secret_basic",
                    "client_secret_post",
                ],
                "code_challenge_methods_supported": ["S256"],
            }
        )

    async def _certs(self, request: Request) -> JSONResponse:
        return JSONResponse(self.get_public_jwks())

    async def _token(self, request: Request) -> JSONResponse:
        form = await request.form()
        fields = {key: str(value) for key, value in form.items()}
        client = self._authenticate_client(request, fields)
        if client is None:
            return _oauth_error(
                401, "invalid_client", "Invalid client or Invalid client credentials"
            )
        grant = fields.get("grant_type")
        if grant == "client_credentials":
            if client.public or not client.service_account:
                return _oauth_error(
                    400, "unauthorized_client", "Client not enabled to retrieve service account"
                )
            token = self.client_token(client)
        elif grant == "password":
            user = self._find_user(fields.get("username", ""), fields.get("password", ""))
            if user is None:
                return _oauth_error(401, "invalid_grant", "Invalid user credentials")
            token = self.user_token(user, client.client_id)
        else:
            return _oauth_error(400, "unsupported_grant_type", f"Unsupported grant_type {grant}")
        return JSONResponse(
            {
                "access_token": token,
                "expires_in": self.lifetime_s,
                "refresh_expires_in": 0,
                "token_type": "Bearer",
                "not-before-policy": 0,
                "scope": "profile email",
            }
        )

    async def _introspect(self, request: Request) -> JSONResponse:
        fields = {key: str(value) for key, value in (await request.form()).items()}
        client = self._authenticate_client(request, fields)
        if client is None or client.public:
            return _oauth_error(401, "invalid_client", "Authentication failed.")
        return JSONResponse(self.introspect(fields.get("token", "")))

    async def _revoke(self, request: Request) -> JSONResponse:
        fields = {key: str(value) for key, value in (await request.form()).items()}
        if self._authenticate_client(request, fields) is None:
            return _oauth_error(401, "invalid_client", "Authentication failed.")
        with contextlib.suppress(jwt.PyJWTError):  # RFC 7009: an invalid token is no error
            self.revoke(fields.get("token", ""))
        return JSONResponse({})

    def _authenticate_client(self, request: Request, fields: Mapping[str, str]) -> DevClient | None:
        client_id, secret = _basic_credentials(request) or (
            fields.get("client_id", ""),
            fields.get("client_secret", ""),
        )
        for client in self.realm.clients:
            if client.client_id != client_id:
                continue
            if client.public:
                return client
            if client.secret and secrets.compare_digest(client.secret, secret):
                return client
        return None

    def _find_user(self, username: str, password: str) -> DevUser | None:
        for user in self.realm.users:
            if user.username == username and secrets.compare_digest(user.password, password):
                return user
        return None


@contextmanager
def run_dev_issuer(settings: DevIssuerSettings) -> Iterator[DevIssuer]:
    """Serve the development issuer on 127.0.0.1 for the block (never another interface)."""
    issuer = DevIssuer(
        load_dev_realm(settings.realm_file),
        realm_name=settings.realm,
        lifetime_s=settings.token_lifetime_s,
    )
    with serve_in_thread(issuer.app, host=LOOPBACK, port=settings.port) as url:
        issuer.base_url = url
        yield issuer


def _basic_credentials(request: Request) -> tuple[str, str] | None:
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(header[6:].strip()).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, _, secret = decoded.partition(":")
    return client_id, secret


def _oauth_error(status: int, error: str, description: str) -> JSONResponse:
    return JSONResponse({"error": error, "error_description": description}, status_code=status)
