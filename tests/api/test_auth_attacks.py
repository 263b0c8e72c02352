"""Forged, stale and misdirected tokens are refused with 401/403 problem details, never 500."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient
from jwt.algorithms import RSAAlgorithm

from api.auth.devissuer import DevIssuer

TICKET_URL = "/v1/tickets/ATTACK-none"  # no such ticket: 404 means the token was accepted


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _segment(document: dict[str, Any]) -> str:
    return _b64(json.dumps(document, separators=(",", ":")).encode())


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_refused(response: httpx.Response, status: int, reason: str = "") -> None:
    """A problem+json refusal with `status`, a Bearer challenge on 401, `reason` in detail."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == status
    assert reason.lower() in problem["detail"].lower()
    if status == 401:
        assert response.headers["www-authenticate"].lower().startswith("bearer")


@pytest.fixture(scope="module")
def claims(get_token: Callable[[str], str]) -> dict[str, Any]:
    """The claims of a real ticketing-demo token, to copy and modify."""
    decoded: dict[str, Any] = jwt.decode(
        get_token("ticketing-demo"), options={"verify_signature": False}
    )
    return decoded


@pytest.fixture(scope="module")
def kid(get_token: Callable[[str], str]) -> str:
    """The key id of the issuer's active signing key."""
    return str(jwt.get_unverified_header(get_token("ticketing-demo"))["kid"])


def _fresh(claims: dict[str, Any], **changes: Any) -> dict[str, Any]:
    now = int(time.time())
    return {**claims, "iat": now, "exp": now + 300, **changes}


def test_missing_token_is_401(client: TestClient) -> None:
    assert_refused(client.get(TICKET_URL), 401, "missing bearer token")


def test_basic_credentials_are_401(client: TestClient) -> None:
    headers = {"Authorization": "Basic " + _b64(b"ticketing-demo:dev-ticketing-secret")}
    assert_refused(client.get(TICKET_URL, headers=headers), 401)


@pytest.mark.parametrize(
    "token",
    ["not-a-jwt", "a.b.c", "%%%.%%%.%%%", _b64(b"\xff\xfe") + ".e30.", _segment({}) + ".e30.x"],
)
def test_malformed_token_is_401(client: TestClient, token: str) -> None:
    assert_refused(client.get(TICKET_URL, headers=_bearer(token)), 401)


def test_alg_none_is_401(client: TestClient, claims: dict[str, Any], kid: str) -> None:
    token = f"{_segment({'alg': 'none', 'typ': 'JWT', 'kid': kid})}.{_segment(_fresh(claims))}."
    assert_refused(client.get(TICKET_URL, headers=_bearer(token)), 401, "not accepted")


def test_hs256_signed_with_the_public_key_is_401(
    client: TestClient, dev_issuer: DevIssuer, claims: dict[str, Any], kid: str
) -> None:
    # Key confusion: a verifier that trusted the header's alg would check this HMAC with the
    # realm's public key and accept it.
    (jwk,) = [key for key in dev_issuer.get_public_jwks()["keys"] if key["kid"] == kid]
    public = RSAAlgorithm.from_jwk(jwk)
    assert isinstance(public, rsa.RSAPublicKey)
    pem = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    signing_input = f"{_segment({'alg': 'HS256', 'typ': 'JWT', 'kid': kid})}."
    signing_input += _segment(_fresh(claims))
    signature = hmac.new(pem, signing_input.encode(), hashlib.sha256).digest()
    token = f"{signing_input}.{_b64(signature)}"
    assert_refused(client.get(TICKET_URL, headers=_bearer(token)), 401, "not accepted")


def test_token_expired_beyond_leeway_is_401(
    client: TestClient, dev_issuer: DevIssuer, claims: dict[str, Any]
) -> None:
    now = int(time.time())
    token = dev_issuer.sign({**claims, "iat": now - 400, "exp": now - 60})
    assert_refused(client.get(TICKET_URL, headers=_bearer(token)), 401, "expired")


def test_token_expired_within_leeway_is_accepted(
    client: TestClient, dev_issuer: DevIssuer, claims: dict[str, Any]
) -> None:
    now = int(time.time())
    token = dev_issuer.sign({**claims, "iat": now - 310, "exp": now - 10})
    assert client.get(TICKET_URL, headers=_bearer(token)).status_code == 404


def test_token_not_yet_valid_is_401(
    client: TestClient, dev_issuer: DevIssuer, claims: dict[str, Any]
) -> None:
    token = dev_issuer.sign(_fresh(claims, nbf=int(time.time()) + 60))
    assert_refused(client.get(TICKET_URL, headers=_bearer(token)), 401, "not yet valid")


def test_wrong_issuer_is_401(
    client: TestClient, dev_issuer: DevIssuer, claims: dict[str, Any]
) -> None:
    token = dev_issuer.sign(_fresh(claims, iss="https://evil.example/realms/airlock"))
    assert_refused(client.get(TICKET_URL, headers=_bearer(token)), 401, "issuer")


def test_wrong_audience_is_401(
    client: TestClient, dev_issuer: DevIssuer, claims: dict[str, Any]
) -> None:
    token = dev_issuer.sign(_fresh(claims, aud=["account", "some-other-api"]))
    assert_refused(client.get(TICKET_URL, headers=_bearer(token)), 401, "not meant for this API")


@pytest.mark.parametrize("audience", [7, {"airlock-api": True}, None, [["airlock-api"]]])
def test_malformed_audience_is_401(
    client: TestClient, dev_issuer: DevIssuer, claims: dict[str, Any], audience: object
) -> None:
    token = dev_issuer.sign(_fresh(claims, aud=audience))
    assert_refused(client.get(TICKET_URL, headers=_bearer(token)), 401)


def test_unknown_kid_is_401(
    client: TestClient, dev_issuer: DevIssuer, claims: dict[str, Any]
) -> None:
    token = dev_issuer.sign(_fresh(claims), headers={"kid": "no-such-key"})
    assert_refused(client.get(TICKET_URL, headers=_bearer(token)), 401, "does not publish")


@pytest.mark.parametrize("kid_header", [{}, {"kid": ""}, {"kid": None}, {"kid": 42}])
def test_token_without_a_usable_kid_is_401(
    client: TestClient, get_token: Callable[[str], str], kid_header: dict[str, Any]
) -> None:
    _, payload, signature = get_token("ticketing-demo").split(".")
    token = f"{_segment({'alg': 'RS256', 'typ': 'JWT', **kid_header})}.{payload}.{signature}"
    assert_refused(client.get(TICKET_URL, headers=_bearer(token)), 401)


def test_tampered_payload_is_401(
    client: TestClient, get_token: Callable[[str], str], claims: dict[str, Any]
) -> None:
    header, _, signature = get_token("ticketing-demo").split(".")
    payload = _segment({**claims, "tenant": "acme"})  # the signature covers "demo"
    token = f"{header}.{payload}.{signature}"
    assert_refused(client.get(TICKET_URL, headers=_bearer(token)), 401, "signature")


def test_other_rsa_key_with_a_known_kid_is_401(
    client: TestClient, claims: dict[str, Any], kid: str
) -> None:
    attacker = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = jwt.encode(_fresh(claims), attacker, algorithm="RS256", headers={"kid": kid})
    assert_refused(client.get(TICKET_URL, headers=_bearer(token)), 401, "signature")


def test_other_tenants_ticket_is_404(
    client: TestClient, auth: Callable[[str], dict[str, str]]
) -> None:
    ticket = {"id": "ATTACK-1", "subject": "Invoice", "body": "Where is my invoice?"}
    ticket["customer"] = {"id": "C-attack-1"}  # type: ignore[assignment]
    submitted = client.post("/v1/tickets", json=ticket, headers=auth("ticketing-demo"))
    assert submitted.status_code == 202, submitted.text
    assert client.get("/v1/tickets/ATTACK-1", headers=auth("ticketing-demo")).status_code == 200
    read = client.get("/v1/tickets/ATTACK-1", headers=auth("ticketing-acme"))
    assert_refused(read, 404)


def test_posting_into_another_tenant_is_403(
    client: TestClient, auth: Callable[[str], dict[str, str]]
) -> None:
    ticket = {"id": "ATTACK-2", "subject": "Hi", "body": "Hello", "tenant": "demo"}
    ticket["customer"] = {"id": "C-attack-2"}  # type: ignore[assignment]
    response = client.post("/v1/tickets", json=ticket, headers=auth("ticketing-acme"))
    assert_refused(response, 403, "tenant")


def test_token_missing_the_role_is_403(
    client: TestClient, auth: Callable[[str], dict[str, str]]
) -> None:
    ticket = {"id": "ATTACK-3", "subject": "Hi", "body": "Hello", "customer": {"id": "C-3"}}
    response = client.post("/v1/tickets", json=ticket, headers=auth("alice"))
    assert_refused(response, 403, "ticketing-client")


def test_token_without_tenant_claim_is_403(
    client: TestClient, dev_issuer: DevIssuer, claims: dict[str, Any]
) -> None:
    token = dev_issuer.sign(_fresh({k: v for k, v in claims.items() if k != "tenant"}))
    assert_refused(client.get(TICKET_URL, headers=_bearer(token)), 403, "tenant")


@pytest.mark.parametrize("tenant", ["", "demo\n", "../acme", "a" * 80, ["demo"], 7])
def test_token_with_unusable_tenant_claim_is_403(
    client: TestClient, dev_issuer: DevIssuer, claims: dict[str, Any], tenant: object
) -> None:
    token = dev_issuer.sign(_fresh(claims, tenant=tenant))
    assert_refused(client.get(TICKET_URL, headers=_bearer(token)), 403, "tenant")


@pytest.mark.parametrize("missing", ["exp", "iat", "sub", "iss"])
def test_token_missing_a_required_claim_is_401(
    client: TestClient, dev_issuer: DevIssuer, claims: dict[str, Any], missing: str
) -> None:
    token = dev_issuer.sign({k: v for k, v in _fresh(claims).items() if k != missing})
    assert_refused(client.get(TICKET_URL, headers=_bearer(token)), 401)
