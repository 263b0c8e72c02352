"""Keycloak access tokens verified locally: discovery, a cached JWKS, pinned algorithms.

The JWKS is fetched once and refetched when it is older than `jwks_max_age_s`, or when a token
names a key id we do not know, but never more than once per `jwks_cooldown_s`: a flood of tokens
with made-up key ids costs the identity provider one request per cooldown, not one per token.
When an old JWKS cannot be refetched, the cached keys keep verifying until a later try succeeds.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx
import jwt
from jwt import PyJWK

from airlock.settings_api import AuthSettings
from api.auth.errors import AuthError
from api.auth.principal import Principal, principal_from_claims

log = logging.getLogger(__name__)

_REFUSED_ALGORITHMS = frozenset({"none", "HS256", "HS384", "HS512"})


class OidcVerifier:
    """Verifies bearer tokens of one realm and turns their claims into a `Principal`."""

    def __init__(
        self,
        settings: AuthSettings,
        issuer_url: str,
        http: httpx.AsyncClient,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.issuer = issuer_url.rstrip("/")
        self.http = http
        self._clock = clock
        self._algorithms = frozenset(settings.algorithms) - _REFUSED_ALGORITHMS
        self._keys: dict[str, PyJWK] = {}
        self._jwks_uri = ""
        self._fetched_at: float | None = None
        self._attempted_at: float | None = None  # last fetch try, successful or not
        self._lock = asyncio.Lock()
        self.jwks_fetches = 0  # how often the JWKS was fetched (metrics, tests)

    async def start(self) -> None:
        """Read the realm's discovery document and its keys (fails loudly when unreachable)."""
        await self._discover()
        await self._refresh_keys()

    async def verify(self, token: str) -> Principal:
        """The caller of a bearer token, or `AuthError` saying why it is refused."""
        claims = await self.verify_claims(token)
        return principal_from_claims(
            claims,
            tenant_claim=self.settings.tenant_claim,
            role_clients=self.settings.role_clients,
        )

    async def verify_claims(self, token: str) -> dict[str, Any]:
        """The claims of a token whose signature, issuer, audience and times check out."""
        header = _read_header(token)
        algorithm = header.get("alg")
        if algorithm not in self._algorithms:
            raise AuthError(f"token algorithm {algorithm!r} is not accepted")
        key = await self._find_key(header.get("kid"))
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key=key,
                algorithms=[algorithm],
                issuer=self.issuer,
                leeway=self.settings.leeway_s,
                options={"require": ["exp", "iat", "iss", "sub"], "verify_aud": False},
            )
        except jwt.ExpiredSignatureError:
            raise AuthError("token expired") from None
        except jwt.ImmatureSignatureError:
            raise AuthError("token not yet valid") from None
        except jwt.InvalidIssuerError:
            raise AuthError("token issuer is not this realm") from None
        except jwt.InvalidSignatureError:
            raise AuthError("token signature does not verify") from None
        except jwt.PyJWTError as exc:
            raise AuthError(f"token refused: {exc}") from None
        self._check_audience(claims)
        return claims

    def _check_audience(self, claims: Mapping[str, Any]) -> None:
        audience = claims.get("aud")
        audiences = [audience] if isinstance(audience, str) else audience
        if isinstance(audiences, list) and self.settings.audience in audiences:
            return
        if claims.get("azp") in self.settings.allowed_clients:
            return
        raise AuthError(
            f"token is not meant for this API (aud does not contain {self.settings.audience!r})"
        )

    async def _find_key(self, kid: object) -> PyJWK:
        if not isinstance(kid, str) or not kid:
            raise AuthError("token header names no key id (kid)")
        if self._is_stale() and self._may_refresh():
            await self._refresh_stale_keys()
        key = self._keys.get(kid)
        if key is None and self._may_refresh():
            await self._refresh_keys(if_older_than=self.settings.jwks_cooldown_s)
            key = self._keys.get(kid)
        if key is None:
            raise AuthError("token signed with a key this realm does not publish")
        return key

    def _is_stale(self) -> bool:
        fetched = self._fetched_at
        return fetched is None or self._clock() - fetched > self.settings.jwks_max_age_s

    def _may_refresh(self) -> bool:
        attempted = self._attempted_at
        return attempted is None or self._clock() - attempted >= self.settings.jwks_cooldown_s

    async def _refresh_stale_keys(self) -> None:
        try:
            await self._refresh_keys(if_older_than=self.settings.jwks_cooldown_s)
        except AuthError:
            if not self._keys:
                raise
            log.warning("jwks refresh failed; verifying with the cached keys until the next try")

    async def _discover(self) -> None:
        url = f"{self.issuer}/.well-known/openid-configuration"
        document = await self._get_json(url)
        if document.get("issuer") != self.issuer:
            raise AuthError(
                f"the realm at {url} calls itself {document.get('issuer')!r}, not "
                f"{self.issuer!r}; set auth.issuer_url to exactly the tokens' iss",
                status=503,
            )
        self._jwks_uri = str(document.get("jwks_uri") or "")
        if not self._jwks_uri:
            raise AuthError(f"the discovery document at {url} has no jwks_uri", status=503)

    async def _refresh_keys(self, *, if_older_than: float = 0.0) -> None:
        async with self._lock:  # concurrent callers wait for one fetch
            tried = self._attempted_at
            if tried is not None and if_older_than and self._clock() - tried < if_older_than:
                return
            self._attempted_at = self._clock()
            if not self._jwks_uri:
                await self._discover()
            document = await self._get_json(self._jwks_uri)
            self._keys = _usable_keys(document, self._algorithms)
            self._fetched_at = self._clock()
            self.jwks_fetches += 1
            log.info("jwks fetched", extra={"keys": len(self._keys)})

    async def _get_json(self, url: str) -> dict[str, Any]:
        try:
            response = await self.http.get(url, timeout=self.settings.http_timeout_s)
            response.raise_for_status()
            document = response.json()
        except (httpx.HTTPError, json.JSONDecodeError) as exc:
            raise AuthError(
                f"cannot read {url} from the identity provider: {exc}", status=503
            ) from None
        if not isinstance(document, dict):
            raise AuthError(f"{url} did not return a JSON object", status=503)
        return document


def _read_header(token: str) -> dict[str, Any]:
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise AuthError("bearer token is not a JWT") from None
    return dict(header)


def _usable_keys(document: Mapping[str, Any], algorithms: frozenset[str]) -> dict[str, PyJWK]:
    """Signing keys of the JWKS by kid (encryption keys and unknown key types skipped)."""
    keys: dict[str, PyJWK] = {}
    for entry in document.get("keys") or []:
        if not isinstance(entry, dict) or entry.get("use", "sig") != "sig" or "kid" not in entry:
            continue
        algorithm = entry.get("alg")
        if algorithm is not None and algorithm not in algorithms:
            continue
        try:
            keys[str(entry["kid"])] = PyJWK(entry)
        except jwt.PyJWTError:
            continue
    return keys
