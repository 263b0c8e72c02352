"""The PII vault: reveal per data subject, crypto-shredding, the master key file."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine

from airlock.config import load_settings
from airlock.errors import ConfigError
from airlock.services import open_storage
from airlock.settings import AirlockSettings
from guardrails.errors import GuardInputError, GuardModelError, VaultKeyMissingError
from guardrails.pii import PiiGuard, build_pii_guard, schema
from guardrails.pii.keys import get_key_path
from guardrails.types import GuardContext

TICKET = "Hi, I am Olga Krylova; write to olga.k@example.com or call +44 20 7946 0958."


@pytest.fixture
def vault_settings(make_settings: Callable[..., AirlockSettings]) -> AirlockSettings:
    return make_settings(guardrails={"pii": {"anonymize": "vault"}})


@pytest.fixture
def vault_engine(vault_settings: AirlockSettings) -> Iterator[Engine]:
    engine = open_storage(vault_settings, writable=True)
    yield engine
    engine.dispose()


@pytest.fixture
def vault_guard(vault_settings: AirlockSettings, vault_engine: Engine) -> PiiGuard:
    return build_pii_guard(vault_settings, vault_engine)


def test_vault_reveals_the_originals_of_the_subject(vault_guard: PiiGuard) -> None:
    session = vault_guard.new_session(tenant="acme", subject_id="c-42", scope="T-1")
    redacted = vault_guard.redact(TICKET, session=session)
    assert redacted == "Hi, I am <PERSON_1>; write to <EMAIL_ADDRESS_1> or call <PHONE_NUMBER_1>."
    revealed = vault_guard.reveal(redacted, tenant="acme", subject_id="c-42", scope="T-1")
    assert revealed == TICKET


def test_reveal_fails_once_the_subject_key_is_deleted(vault_guard: PiiGuard) -> None:
    session = vault_guard.new_session(tenant="acme", subject_id="c-42", scope="T-1")
    redacted = vault_guard.redact(TICKET, session=session)
    assert vault_guard.erase_subject("acme", "c-42") is True
    with pytest.raises(VaultKeyMissingError, match="c-42"):
        vault_guard.reveal(redacted, tenant="acme", subject_id="c-42", scope="T-1")
    assert vault_guard.erase_subject("acme", "c-42") is False


def test_other_subjects_stay_revealable_after_an_erasure(vault_guard: PiiGuard) -> None:
    kept = vault_guard.redact(
        TICKET, session=vault_guard.new_session(tenant="acme", subject_id="c-7")
    )
    vault_guard.redact(TICKET, session=vault_guard.new_session(tenant="acme", subject_id="c-42"))
    vault_guard.erase_subject("acme", "c-42")
    assert vault_guard.reveal(kept, tenant="acme", subject_id="c-7") == TICKET


def test_a_subject_cannot_reveal_another_subjects_placeholders(vault_guard: PiiGuard) -> None:
    redacted = vault_guard.redact(
        TICKET, session=vault_guard.new_session(tenant="acme", subject_id="c-42")
    )
    vault_guard.redact(
        "Ask Dr. Kowalski.", session=vault_guard.new_session(tenant="acme", subject_id="c-7")
    )
    revealed = vault_guard.reveal(redacted, tenant="acme", subject_id="c-7")
    assert "Olga" not in revealed


def test_placeholders_continue_in_a_new_process_for_the_same_ticket(
    vault_settings: AirlockSettings, vault_engine: Engine, vault_guard: PiiGuard
) -> None:
    vault_guard.redact(
        TICKET, session=vault_guard.new_session(tenant="acme", subject_id="c-42", scope="T-1")
    )
    restarted = build_pii_guard(vault_settings, vault_engine)
    session = restarted.new_session(tenant="acme", subject_id="c-42", scope="T-1")
    text = "Piotr Nowak, not Olga Krylova, owns olga.k@example.com."
    assert (
        restarted.redact(text, session=session)
        == "<PERSON_2>, not <PERSON_1>, owns <EMAIL_ADDRESS_1>."
    )


def test_vault_check_needs_the_data_subject(vault_guard: PiiGuard) -> None:
    with pytest.raises(GuardInputError, match="subject"):
        asyncio.run(vault_guard.check(TICKET, context=GuardContext(tenant="acme")))
    verdict = asyncio.run(
        vault_guard.check(TICKET, context=GuardContext(tenant="acme", subject_id="c-1"))
    )
    assert verdict.redacted is not None and "Olga" not in verdict.redacted


def test_vault_mode_without_the_database_is_a_config_error(vault_settings: AirlockSettings) -> None:
    with pytest.raises(ConfigError, match="database engine"):
        build_pii_guard(vault_settings)


def test_master_key_readable_by_others_is_refused(
    vault_settings: AirlockSettings, vault_engine: Engine
) -> None:
    build_pii_guard(vault_settings, vault_engine)
    key = get_key_path(vault_settings)
    key.chmod(0o644)
    with pytest.raises(GuardModelError, match="accessible by group or others"):
        build_pii_guard(vault_settings, vault_engine)


def test_reveal_without_the_vault_is_refused(pii_guard: PiiGuard) -> None:
    with pytest.raises(GuardInputError, match="vault is off"):
        pii_guard.reveal("<PERSON_1>", tenant="acme", subject_id="c-42")


def test_production_refuses_a_generated_master_key(tmp_path: Path) -> None:
    overrides = {
        "profile": "production",
        "data_dir": str(tmp_path),
        "storage": {"url": "postgresql+psycopg://airlock@db:5432/airlock"},
        "audit": {"signing_key_file": str(tmp_path / "audit.pem")},
        "rag": {"uri": "http://milvus:19530"},
        "guardrails": {"pii": {"anonymize": "hash"}},
    }
    with pytest.raises(ConfigError, match=r"guardrails\.pii\.key_file"):
        load_settings(overrides=overrides, environ={})


def test_vault_tables_match_the_migration(vault_engine: Engine) -> None:
    def ours(name: str | None, type_: str, parents: dict[str, str | None]) -> bool:
        if type_ == "schema":
            return True
        table = name if type_ == "table" else parents.get("table_name")
        return table in schema.metadata.tables

    with vault_engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_name": ours})
        assert compare_metadata(context, schema.metadata) == []
