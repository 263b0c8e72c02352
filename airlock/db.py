"""Database engine (SQLite WAL or PostgreSQL), write transactions, and Alembic migrations."""

from __future__ import annotations

import fcntl
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from airlock.datadir import ensure_data_dir
from airlock.errors import StorageError
from airlock.settings import AirlockSettings

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# Execution option that makes a SQLite transaction take the write lock at BEGIN, so that
# read-then-write sequences (the audit chain head) are serialized across processes.
WRITE_LOCK = "airlock_write_lock"


def build_database_url(settings: AirlockSettings) -> URL:
    """The SQLAlchemy URL, with the configured password put in (never log it)."""
    path = settings.get_database_path()
    url = make_url(settings.storage.url or f"sqlite:///{path}")
    if settings.storage.password is not None:
        url = url.set(password=settings.storage.password.get_secret_value())
    return url


def build_engine(settings: AirlockSettings, *, create: bool = True) -> Engine:
    """Create the engine; `create=False` refuses to make a new SQLite file (read-only commands)."""
    url = build_database_url(settings)
    if url.get_backend_name() == "sqlite":
        return _build_sqlite_engine(settings, url, create=create)
    engine = create_engine(
        url, pool_size=settings.storage.pool_size, pool_pre_ping=True, future=True
    )
    _check_connection(engine)
    return engine


def _build_sqlite_engine(settings: AirlockSettings, url: URL, *, create: bool) -> Engine:
    path = Path(url.database or "")
    if url.database and url.database != ":memory:":
        if not path.exists() and not create:
            raise StorageError(
                f"no database at {path}",
                remedy="run `airlock db upgrade` (or `airlock demo`) first, or check data_dir",
            )
        ensure_data_dir(path.parent)
    engine = create_engine(
        url,
        connect_args={"timeout": settings.storage.busy_timeout_s, "isolation_level": None},
        future=True,
    )
    busy_ms = int(settings.storage.busy_timeout_s * 1000)
    synchronous = settings.storage.sqlite_synchronous

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        cursor = dbapi_conn.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {busy_ms}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute(f"PRAGMA synchronous = {synchronous}")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # The driver runs in autocommit mode; we issue BEGIN ourselves so that writers can ask
        # for IMMEDIATE (take the write lock now) instead of failing to upgrade a read lock.
        immediate = conn.get_execution_options().get(WRITE_LOCK, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    _check_connection(engine)
    return engine


def _check_connection(engine: Engine) -> None:
    try:
        with engine.connect() as conn:
            if engine.dialect.name == "sqlite":
                conn.exec_driver_sql("SELECT count(*) FROM sqlite_master").scalar()
            else:
                conn.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        raise describe_storage_failure(engine, exc) from None


def describe_storage_failure(engine: Engine, exc: BaseException) -> StorageError:
    """Turn a driver error into a one-line StorageError that names the store and the remedy."""
    where = engine.url.render_as_string(hide_password=True)
    cause = str(exc.orig if isinstance(exc, DBAPIError) else exc).strip().splitlines()[0]
    if engine.dialect.name == "sqlite":
        return StorageError(
            f"database {engine.url.database} cannot be used ({cause})",
            remedy="if it is corrupt, stop Airlock, keep the file, and restore it from a backup "
            "(nothing in it has been changed)",
        )
    return StorageError(
        f"database {where} cannot be used ({cause})",
        remedy="check storage.url, that the server is running, and the credentials",
    )


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A transaction that holds the database write lock on SQLite from its first statement."""
    with engine.connect().execution_options(**{WRITE_LOCK: True}) as conn, conn.begin():
        yield conn


def _alembic_config(conn: Connection) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["connection"] = conn
    return cfg


def get_schema_revision(engine: Engine) -> str | None:
    """The Alembic revision the database is at (None when empty)."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def get_head_revision() -> str | None:
    """The newest Alembic revision this build knows."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return ScriptDirectory.from_config(cfg).get_current_head()


def upgrade_database(engine: Engine) -> str | None:
    """Apply pending migrations under a cross-process lock; return the revision reached."""
    head = get_head_revision()
    try:
        current = get_schema_revision(engine)
        if current == head:
            return current
        with _migration_lock(engine):
            with engine.begin() as conn:
                command.upgrade(_alembic_config(conn), "head")
            reached = get_schema_revision(engine)
    except SQLAlchemyError as exc:
        raise describe_storage_failure(engine, exc) from None
    log.info("database schema upgraded", extra={"from_revision": current, "to_revision": reached})
    return reached


@contextmanager
def _migration_lock(engine: Engine) -> Iterator[None]:
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(74210001)"))
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(74210001)"))
                conn.commit()
        return
    lock_path = Path(f"{engine.url.database}.migrate-lock")
    with lock_path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def require_current_schema(engine: Engine) -> None:
    """Refuse to run against a database whose schema is older or newer than this build."""
    current, head = get_schema_revision(engine), get_head_revision()
    if current != head:
        raise StorageError(
            f"database {engine.url.render_as_string(hide_password=True)} is at schema "
            f"{current or '(empty)'}, this build needs {head}",
            remedy="run `airlock db upgrade` (or enable storage.auto_migrate)",
        )
