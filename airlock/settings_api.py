"""Settings of the HTTP facade: authentication (`auth`) and the API itself (`api`)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator

from airlock.section import Section

ROLES = ("ticketing-client", "agent", "auditor", "kb-editor", "admin", "ml-engineer")
Algorithm = Literal["RS256", "RS384", "RS512", "PS256", "ES256", "ES384"]


class DevIssuerSettings(Section):
    """The loopback-only development issuer that speaks Keycloak's protocol (dev profile only)."""

    enabled: bool = Field(
        True,
        description="Start the development issuer when auth.issuer_url is empty (dev profile).",
    )
    port: int = Field(
        0, ge=0, le=65535, description="Loopback port of the issuer; 0 picks a free port."
    )
    realm: str = Field("airlock", description="Realm name in the issuer's URLs.")
    realm_file: Path | None = Field(
        None,
        description="YAML of clients, users, roles and tenants. Empty: the shipped "
        "api/keycloak/dev-realm.yaml (demo clients and users).",
    )
    token_lifetime_s: int = Field(300, ge=10, le=86400, description="Access token lifetime.")


class AuthSettings(Section):
    """The API as an OIDC resource server of a Keycloak realm."""

    issuer_url: str = Field(
        "",
        description="The realm URL, exactly the tokens' iss, e.g. "
        "https://keycloak.example.internal/realms/airlock. Empty: the development issuer "
        "(dev profile only).",
    )
    audience: str = Field(
        "airlock-api",
        description="Our audience: tokens must name it in aud (or come from "
        "an allowed client, see allowed_clients).",
    )
    allowed_clients: tuple[str, ...] = Field(
        (), description="Clients (azp) accepted even when aud does not name the audience."
    )
    algorithms: tuple[Algorithm, ...] = Field(
        ("RS256",),
        description="Accepted signature algorithms; 'none' and HMAC are never accepted.",
    )
    leeway_s: int = Field(
        30, ge=0, le=30, description="Clock skew allowed on exp and nbf (at most 30 s)."
    )
    jwks_cooldown_s: float = Field(
        30.0,
        ge=1,
        le=3600,
        description="A token with an unknown kid refreshes the JWKS at most once per this long.",
    )
    jwks_max_age_s: float = Field(
        3600.0, ge=60, description="The JWKS is refetched when older than this."
    )
    http_timeout_s: float = Field(5.0, gt=0, le=60, description="Discovery and JWKS timeout.")
    tenant_claim: str = Field("tenant", description="The token claim naming the tenant.")
    role_clients: tuple[str, ...] = Field(
        ("airlock-api",),
        description="Clients whose resource_access roles count beside the realm roles.",
    )
    mode: Literal["jwt", "introspection"] = Field(
        "jwt",
        description="jwt: verify signatures locally; introspection: also ask Keycloak whether "
        "each token is still active (revocation-sensitive deployments).",
    )
    introspection_client_id: str = Field(
        "", description="Confidential client that calls the introspection endpoint."
    )
    introspection_client_secret: SecretStr | None = Field(
        None, description="Its secret (environment or mounted secret file)."
    )
    dev_issuer: DevIssuerSettings = Field(default_factory=DevIssuerSettings)

    @model_validator(mode="after")
    def _safe_algorithms(self) -> AuthSettings:
        if not self.algorithms:
            raise ValueError("auth.algorithms is empty: name at least one, e.g. RS256")
        if self.mode == "introspection" and not self.introspection_client_id:
            raise ValueError(
                "auth.mode 'introspection' needs auth.introspection_client_id and its secret"
            )
        return self


class RateLimit(Section):
    """A token bucket: `rate_per_s` sustained, `burst` at once."""

    rate_per_s: float = Field(gt=0, description="Requests per second, sustained.")
    burst: int = Field(ge=1, description="Requests allowed at once.")


def _default_rate_limits() -> dict[str, RateLimit]:
    return {
        "ticketing-client": RateLimit(rate_per_s=500, burst=1000),
        "agent": RateLimit(rate_per_s=20, burst=60),
        "auditor": RateLimit(rate_per_s=10, burst=20),
        "kb-editor": RateLimit(rate_per_s=10, burst=20),
        "admin": RateLimit(rate_per_s=10, burst=20),
        "ml-engineer": RateLimit(rate_per_s=1000, burst=2000),
    }


class WebhookSettings(Section):
    """How one tenant's ticketing system proves its webhook deliveries."""

    system: Literal["zendesk", "jira", "servicenow"] = Field(description="The sending system.")
    secret: SecretStr = Field(
        description="zendesk: the webhook's signing secret; jira: the HMAC secret; servicenow: "
        "the shared token sent in the token header."
    )
    token_header: str = Field(
        "X-Airlock-Token", description="servicenow: the header that carries the shared token."
    )


class ApiSettings(Section):
    """The HTTP facade."""

    host: str = Field("127.0.0.1", description="Listen address of `airlock serve`.")
    port: int = Field(8080, ge=0, le=65535, description="Listen port; 0 picks a free one.")
    workers: int = Field(
        1, ge=0, le=64, description="Ticket worker threads in the API process (0: none)."
    )
    max_body_bytes: int = Field(
        1_048_576, ge=1024, description="Largest request body (413 above), except KB uploads."
    )
    max_upload_bytes: int = Field(
        20_971_520, ge=1024, description="Largest knowledge-base upload (413 above)."
    )
    request_timeout_s: float = Field(
        30.0, gt=0, le=600, description="A request still running after this gets 504."
    )
    max_wait_s: float = Field(
        25.0,
        gt=0,
        le=300,
        description="Longest ?wait= a ticket submission may ask for (below request_timeout_s: "
        "an undecided ticket answers 202, not 504).",
    )
    cors_origins: tuple[str, ...] = Field(
        (), description="Origins allowed by CORS; empty: CORS off (no headers sent)."
    )
    rate_limits: dict[str, RateLimit] = Field(
        default_factory=_default_rate_limits,
        description="Token bucket per client and role (the most generous of a client's roles).",
    )
    webhooks: dict[str, WebhookSettings] = Field(
        default_factory=dict,
        description="Per tenant: the ticketing system that posts webhooks and its secret.",
    )
    webhook_max_age_s: int = Field(
        300, ge=1, le=3600, description="zendesk: accepted age of a signed timestamp (±)."
    )
    chat_history_turns: int = Field(
        10, ge=0, le=100, description="Earlier turns of a conversation given to the model."
    )
    access_log: bool = Field(True, description="One log line per request (never bodies).")
    metrics_require_token: bool = Field(
        False,
        description="Ask /metrics scrapers for a bearer token with role ml-engineer or admin. "
        "Off: /metrics is open like /healthz and must not be reachable from outside.",
    )

    @model_validator(mode="after")
    def _known_roles(self) -> ApiSettings:
        if self.max_wait_s >= self.request_timeout_s:
            raise ValueError(
                f"api.max_wait_s ({self.max_wait_s:g}) must be below api.request_timeout_s "
                f"({self.request_timeout_s:g}), or waiting submissions time out with 504"
            )
        unknown = sorted(set(self.rate_limits) - set(ROLES))
        if unknown:
            raise ValueError(
                f"api.rate_limits names unknown roles {unknown}; roles are {', '.join(ROLES)}"
            )
        return self
