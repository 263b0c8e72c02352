"""Token verification: JWKS refresh limits, key rotation, discovery, introspection mode."""

from __future__ import annotations

import asyncio
import secrets
import socket
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import jwt
import pytest
from fastapi.testclient import TestClient

from airlock.config import load_settings
from airlock.server import build_api_app
from airlock.settings import AirlockSettings
from airlock.settings_api import AuthSettings, DevIssuerSettings
from api.auth.devissuer import DevIssuer, run_dev_issuer
from api.auth.errors import AuthError
from api.auth.introspection import IntrospectionCheck
from api.auth.oidc import OidcVerifier

COOLDOWN_S = 30.0


class ManualClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Let `seconds` pass."""
        self.now += seconds


@pytest.fixture
def own_issuer() -> Iterator[DevIssuer]:
    """A private issuer whose keys a test may rotate (the session one is shared)."""
    with run_dev_issuer(DevIssuerSettings()) as issuer:
        yield issuer


def _settings(**changes: Any) -> AuthSettings:
    return AuthSettings(jwks_cooldown_s=COOLDOWN_S, **changes)


def _claims(issuer: DevIssuer) -> dict[str, Any]:
    token = issuer.client_token(next(c for c in issuer.realm.clients if c.service_account))
    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return claims


def _run_with_verifier(
    issuer_url: str,
    scenario: Callable[[OidcVerifier, ManualClock], Any],
    settings: AuthSettings | None = None,
) -> None:
    """Run `scenario(verifier, clock)` against a started verifier of `issuer_url`."""

    async def main() -> None:
        clock = ManualClock()
        async with httpx.AsyncClient() as http:
            verifier = OidcVerifier(settings or _settings(), issuer_url, http, clock=clock)
            await verifier.start()
            await scenario(verifier, clock)

    asyncio.run(main())


def _refused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port  # closed again: connecting is refused


def test_unknown_kid_flood_refreshes_jwks_once_per_cooldown(dev_issuer: DevIssuer) -> None:
    claims = _claims(dev_issuer)

    def forged() -> str:
        return dev_issuer.sign(claims, headers={"kid": secrets.token_hex(8)})

    async def scenario(verifier: OidcVerifier, clock: ManualClock) -> None:
        assert verifier.jwks_fetches == 1
        for _ in range(200):  # fetched just now: within the cooldown, no refresh at all
            with pytest.raises(AuthError, match="does not publish"):
                await verifier.verify_claims(forged())
        assert verifier.jwks_fetches == 1
        clock.advance(COOLDOWN_S)
        for _ in range(200):
            with pytest.raises(AuthError, match="does not publish"):
                await verifier.verify_claims(forged())
        assert verifier.jwks_fetches == 2

    _run_with_verifier(dev_issuer.issuer, scenario)


def test_concurrent_unknown_kids_share_one_refresh(dev_issuer: DevIssuer) -> None:
    claims = _claims(dev_issuer)
    tokens = [dev_issuer.sign(claims, headers={"kid": secrets.token_hex(8)}) for _ in range(200)]

    async def scenario(verifier: OidcVerifier, clock: ManualClock) -> None:
        clock.advance(COOLDOWN_S + 1)
        results = await asyncio.gather(
            *(verifier.verify_claims(token) for token in tokens), return_exceptions=True
        )
        assert all(isinstance(result, AuthError) for result in results)
        assert verifier.jwks_fetches == 2

    _run_with_verifier(dev_issuer.issuer, scenario)


def test_rotated_key_verifies_after_one_refresh_past_cooldown(own_issuer: DevIssuer) -> None:
    claims = _claims(own_issuer)
    old = own_issuer.sign(claims)

    async def scenario(verifier: OidcVerifier, clock: ManualClock) -> None:
        assert (await verifier.verify_claims(old))["jti"] == claims["jti"]
        own_issuer.rotate_key()
        new = own_issuer.sign(claims)
        with pytest.raises(AuthError, match="does not publish"):  # refreshed < cooldown ago
            await verifier.verify_claims(new)
        assert verifier.jwks_fetches == 1
        clock.advance(COOLDOWN_S)
        assert (await verifier.verify_claims(new))["sub"] == claims["sub"]
        assert (await verifier.verify_claims(old))["sub"] == claims["sub"]  # passive key
        assert verifier.jwks_fetches == 2

    _run_with_verifier(own_issuer.issuer, scenario)


def test_dropped_key_fails_once_the_jwks_is_refetched(own_issuer: DevIssuer) -> None:
    claims = _claims(own_issuer)
    old = own_issuer.sign(claims)

    async def scenario(verifier: OidcVerifier, clock: ManualClock) -> None:
        own_issuer.rotate_key()
        own_issuer.drop_passive_keys()
        assert await verifier.verify_claims(old)  # cached key: still good until a refresh
        clock.advance(verifier.settings.jwks_max_age_s + 1)
        with pytest.raises(AuthError, match="does not publish"):
            await verifier.verify_claims(old)
        assert verifier.jwks_fetches == 2
        assert await verifier.verify_claims(own_issuer.sign(claims))

    _run_with_verifier(own_issuer.issuer, scenario)


def test_stale_jwks_is_refetched_once_by_concurrent_callers(dev_issuer: DevIssuer) -> None:
    token = dev_issuer.sign(_claims(dev_issuer))

    async def scenario(verifier: OidcVerifier, clock: ManualClock) -> None:
        clock.advance(verifier.settings.jwks_max_age_s + 1)
        await asyncio.gather(*(verifier.verify_claims(token) for _ in range(50)))
        assert verifier.jwks_fetches == 2

    _run_with_verifier(dev_issuer.issuer, scenario)


def test_cached_keys_verify_while_the_realm_is_down() -> None:
    attempts: list[str] = []

    async def count(request: httpx.Request) -> None:
        attempts.append(str(request.url))

    async def main() -> None:
        clock = ManualClock()
        async with httpx.AsyncClient(event_hooks={"request": [count]}) as http:
            with run_dev_issuer(DevIssuerSettings()) as issuer:
                token = issuer.sign(_claims(issuer))
                verifier = OidcVerifier(_settings(), issuer.issuer, http, clock=clock)
                await verifier.start()
            attempts.clear()  # the issuer is gone from here on
            clock.advance(verifier.settings.jwks_max_age_s + 1)
            for _ in range(20):
                assert await verifier.verify_claims(token)
            assert len(attempts) == 1  # one try per cooldown, not one per request
            clock.advance(COOLDOWN_S)
            assert await verifier.verify_claims(token)
            assert len(attempts) == 2

    asyncio.run(main())


def test_introspection_against_an_unreachable_realm_is_503(dev_issuer: DevIssuer) -> None:
    settings = _settings(
        mode="introspection",
        introspection_client_id="ticketing-demo",
        introspection_client_secret="dev-ticketing-secret",
    )
    check = IntrospectionCheck(settings, f"http://127.0.0.1:{_refused_port()}/realms/airlock")
    with pytest.raises(AuthError) as refused:
        asyncio.run(check.check(dev_issuer.sign(_claims(dev_issuer))))
    assert refused.value.status == 503
    assert "unreachable" in refused.value.detail


def test_start_fails_clearly_when_discovery_names_another_issuer(dev_issuer: DevIssuer) -> None:
    # The same realm reached by another host name: its tokens' iss would never match.
    other_name = dev_issuer.issuer.replace("127.0.0.1", "localhost")

    async def main() -> None:
        async with httpx.AsyncClient() as http:
            verifier = OidcVerifier(_settings(), other_name, http)
            with pytest.raises(AuthError) as refused:
                await verifier.start()
        assert refused.value.status == 503
        assert dev_issuer.issuer in refused.value.detail
        assert "set auth.issuer_url" in refused.value.detail

    asyncio.run(main())


def test_unreachable_issuer_is_503(dev_issuer: DevIssuer) -> None:
    url = f"http://127.0.0.1:{_refused_port()}/realms/airlock"

    async def main() -> None:
        async with httpx.AsyncClient() as http:
            verifier = OidcVerifier(_settings(http_timeout_s=2.0), url, http)
            with pytest.raises(AuthError) as refused:
                await verifier.start()
        assert refused.value.status == 503
        assert "cannot read" in refused.value.detail

    asyncio.run(main())


def test_allowed_client_is_accepted_without_our_audience(dev_issuer: DevIssuer) -> None:
    claims = {**_claims(dev_issuer), "aud": "account"}
    token = dev_issuer.sign(claims)

    async def refused(verifier: OidcVerifier, clock: ManualClock) -> None:
        with pytest.raises(AuthError, match="not meant for this API"):
            await verifier.verify_claims(token)

    async def accepted(verifier: OidcVerifier, clock: ManualClock) -> None:
        assert (await verifier.verify(token)).client_id == claims["azp"]

    _run_with_verifier(dev_issuer.issuer, refused)
    allowed = _settings(allowed_clients=(claims["azp"],))
    _run_with_verifier(dev_issuer.issuer, accepted, allowed)


@pytest.fixture(scope="module")
def introspecting_client(
    api_settings: AirlockSettings, dev_issuer: DevIssuer
) -> Iterator[TestClient]:
    """The app in introspection mode: Keycloak (here the dev issuer) confirms every token."""
    settings = load_settings(
        overrides={
            "data_dir": str(api_settings.data_dir),
            "auth": {
                "issuer_url": dev_issuer.issuer,
                "mode": "introspection",
                "introspection_client_id": "ticketing-demo",
                "introspection_client_secret": "dev-ticketing-secret",
            },
        },
        environ={},
    )
    with TestClient(build_api_app(settings), raise_server_exceptions=False) as client:
        yield client


def test_introspection_mode_refuses_a_revoked_token(
    introspecting_client: TestClient, dev_issuer: DevIssuer
) -> None:
    client = next(c for c in dev_issuer.realm.clients if c.client_id == "ticketing-demo")
    token = dev_issuer.client_token(client)  # fresh: the shared token cache stays valid
    headers = {"Authorization": f"Bearer {token}"}
    before = introspecting_client.get("/v1/tickets/INTRO-1", headers=headers)
    assert before.status_code == 404, before.text  # authenticated; no such ticket
    dev_issuer.revoke(token)
    after = introspecting_client.get("/v1/tickets/INTRO-1", headers=headers)
    assert after.status_code == 401
    assert after.headers["content-type"] == "application/problem+json"
    assert "no longer active" in after.json()["detail"]
    assert after.headers["www-authenticate"].lower().startswith("bearer")
