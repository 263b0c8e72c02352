"""Storage: migrations on both backends, and bad stores refused without losing data."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from airlock.db import build_engine, get_head_revision, get_schema_revision, upgrade_database
from airlock.errors import DataDirError, StorageError
from airlock.services import open_storage
from airlock.settings import AirlockSettings
from audit import schema
from guardrails.pii import schema as pii_schema
from helpdesk.chat import schema as chat_schema
from helpdesk.escalations import schema as escalation_schema
from helpdesk.intake import schema as intake_schema
from helpdesk.queue import schema as queue_schema
from rag import schema as rag_schema
from tests.conftest import env_for


def test_migrations_apply_on_start_and_match_the_declared_tables(
    make_settings: Callable[..., AirlockSettings],
) -> None:
    settings = make_settings()
    engine = open_storage(settings, writable=True)
    assert get_schema_revision(engine) == get_head_revision()
    assert upgrade_database(engine) == get_head_revision()  # idempotent
    declared = sa.MetaData()
    for package_metadata in (
        schema.metadata,
        rag_schema.metadata,
        pii_schema.metadata,
        queue_schema.metadata,
        intake_schema.metadata,
        escalation_schema.metadata,
        chat_schema.metadata,
    ):
        for table in package_metadata.tables.values():
            table.to_metadata(declared)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), declared)
    assert diff == []


def test_sqlite_runs_in_wal_mode_with_full_sync(tmp_path: Path) -> None:
    from airlock.config import load_settings

    engine = build_engine(load_settings(overrides={"data_dir": str(tmp_path)}))
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL


def test_db_upgrade_command_reports_the_revision(make_settings, run_cli) -> None:  # type: ignore[no-untyped-def]
    settings = make_settings()
    result = run_cli("db", "upgrade", env=env_for(settings))
    assert result.code == 0, result.err
    assert get_head_revision() in result.out  # type: ignore[operator]


def test_corrupt_sqlite_file_is_refused_and_left_untouched(tmp_path: Path, run_cli) -> None:  # type: ignore[no-untyped-def]
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    database = data_dir / "airlock.db"
    garbage = b"this is not a database\x00" * 200
    database.write_bytes(garbage)
    for args in (("audit", "verify"), ("demo", "--once"), ("db", "upgrade")):
        result = run_cli(*args, env={"AIRLOCK__DATA_DIR": str(data_dir)})
        assert result.code == 2, args
        assert str(database) in result.err and "restore it from a backup" in result.err
    assert database.read_bytes() == garbage


def test_read_commands_refuse_a_missing_database_without_creating_one(
    tmp_path: Path, run_cli
) -> None:  # type: ignore[no-untyped-def]
    result = run_cli("audit", "verify", env={"AIRLOCK__DATA_DIR": str(tmp_path / "none")})
    assert result.code == 2
    assert "no database at" in result.err and "airlock db upgrade" in result.err
    assert not (tmp_path / "none" / "airlock.db").exists()


def test_unwritable_data_directory_is_named_with_a_remedy(tmp_path: Path, run_cli) -> None:  # type: ignore[no-untyped-def]
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    result = run_cli("demo", "--once", env={"AIRLOCK__DATA_DIR": str(blocker / "data")})
    assert result.code == 2
    assert str(blocker / "data") in result.err and "AIRLOCK__DATA_DIR" in result.err


def test_unwritable_data_directory_raises_data_dir_error(tmp_path: Path) -> None:
    from airlock.datadir import ensure_data_dir

    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(DataDirError, match="cannot be created"):
        ensure_data_dir(blocker / "sub")


@pytest.mark.postgres
def test_unreachable_postgres_is_a_storage_error_naming_the_masked_url() -> None:
    from airlock.config import load_settings

    settings = load_settings(
        overrides={"storage": {"url": "postgresql+psycopg://app:pw@127.0.0.1:1/airlock"}}
    )
    with pytest.raises(StorageError) as info:
        build_engine(settings)
    assert "postgresql+psycopg://app:***@127.0.0.1:1/airlock" in str(info.value)
    assert "pw@" not in str(info.value)
