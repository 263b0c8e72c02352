"""The `AirlockSettings` tree: defaults < YAML file < environment < arguments."""

from __future__ import annotations

import contextvars
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    NestedSecretsSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

ENV_PREFIX = "AIRLOCK__"
ENV_CONFIG_FILE = "AIRLOCK_CONFIG"
ENV_SECRETS_DIR = "AIRLOCK_SECRETS_DIR"
DEFAULT_SECRETS_DIR = Path("/run/secrets/airlock")

# The YAML mapping of the load in progress; a context variable because pydantic-settings builds
# its sources from the class, and settings are loaded once per entry point, never at import time.
_yaml_data: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "airlock_yaml_data", default=None
)


class Section(BaseModel):
    """Base of every settings section: immutable, unknown keys rejected."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


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


class ModelsSettings(Section):
    """Model registry."""

    store_dir: Path | None = Field(
        None, description="Folder of imported models. Empty: data_dir/models"
    )
    trusted_keys: tuple[Path, ...] = Field(
        (), description="Ed25519 public keys (PEM) whose manifest signatures are accepted."
    )


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
