"""Conversation memory: redacted turns per tenant and data subject, erasable per subject."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Literal, cast

import sqlalchemy as sa
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from airlock.db import describe_storage_failure, write_transaction
from helpdesk.chat.schema import conversations, messages
from helpdesk.errors import HelpdeskError
from helpdesk.queue.rows import format_ts, utc_now

Role = Literal["user", "assistant"]
_C = conversations.c
_M = messages.c


class ConversationNotFoundError(HelpdeskError):
    """No such conversation for this tenant and subject (another's is not found either)."""


def new_conversation_id() -> str:
    """A fresh, unguessable conversation id (32 hex characters)."""
    return uuid.uuid4().hex


class ConversationStore:
    """Turns of chat conversations in the relational store (`helpdesk_conversations`)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def check(self, tenant: str, subject_id: str, conversation_id: str) -> None:
        """Raise `ConversationNotFoundError` unless the conversation is this subject's, live."""
        with self._storage(), self.engine.connect() as conn:
            _require(conn, tenant, subject_id, conversation_id, create=False)

    def append(
        self, conversation_id: str, tenant: str, subject_id: str, role: Role, content: str
    ) -> int:
        """Store one turn (creating the conversation on first use); its sequence number."""
        return self.append_many(conversation_id, tenant, subject_id, [(role, content)])[0]

    def append_many(
        self,
        conversation_id: str,
        tenant: str,
        subject_id: str,
        turns: list[tuple[Role, str]],
    ) -> list[int]:
        """Store turns in order, in one transaction; their sequence numbers."""
        now = format_ts(utc_now())
        with self._storage(), write_transaction(self.engine) as conn:
            _require(conn, tenant, subject_id, conversation_id, create=True)
            last = conn.execute(
                sa.select(sa.func.max(_M.seq)).where(_M.conversation_id == conversation_id)
            ).scalar()
            seqs = [int(last or 0) + 1 + i for i in range(len(turns))]
            rows = [
                {
                    "conversation_id": conversation_id,
                    "seq": seq,
                    "role": role,
                    "content": content,
                    "created_at": now,
                }
                for seq, (role, content) in zip(seqs, turns, strict=True)
            ]
            if rows:
                conn.execute(messages.insert(), rows)
            conn.execute(
                conversations.update()
                .where(_C.conversation_id == conversation_id)
                .values(updated_at=now)
            )
        return seqs

    def history(self, tenant: str, conversation_id: str, max_turns: int) -> list[tuple[Role, str]]:
        """The last `max_turns` exchanges (a user message and its reply each), oldest first."""
        if max_turns <= 0:
            return []
        query = (
            sa.select(_M.role, _M.content)
            .join(conversations, _C.conversation_id == _M.conversation_id)
            .where(
                _M.conversation_id == conversation_id,
                _C.tenant == tenant,
                _C.erased_at.is_(None),
            )
            .order_by(_M.seq.desc())
            .limit(2 * max_turns)
        )
        with self._storage(), self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [(cast(Role, row.role), str(row.content)) for row in reversed(rows)]

    def find_tenants(self, subject_id: str) -> tuple[str, ...]:
        """Tenants holding conversations of the subject (for erasure without a tenant)."""
        query = sa.select(_C.tenant).where(_C.subject_id == subject_id).distinct()
        with self._storage(), self.engine.connect() as conn:
            return tuple(sorted(str(row[0]) for row in conn.execute(query)))

    def erase_subject(self, tenant: str, subject_id: str) -> int:
        """Delete the subject's turns in the tenant and stamp their conversations; turns deleted."""
        now = format_ts(utc_now())
        mine = sa.select(_C.conversation_id).where(_C.tenant == tenant, _C.subject_id == subject_id)
        with self._storage(), write_transaction(self.engine) as conn:
            deleted = conn.execute(messages.delete().where(_M.conversation_id.in_(mine))).rowcount
            conn.execute(
                conversations.update()
                .where(_C.tenant == tenant, _C.subject_id == subject_id, _C.erased_at.is_(None))
                .values(erased_at=now, updated_at=now)
            )
        return int(deleted)

    @contextmanager
    def _storage(self) -> Iterator[None]:
        try:
            yield
        except SQLAlchemyError as exc:
            raise describe_storage_failure(self.engine, exc) from None


def _require(
    conn: Connection, tenant: str, subject_id: str, conversation_id: str, *, create: bool
) -> None:
    """Check the conversation's owner (locking its row); create it when asked and absent."""
    row = conn.execute(
        sa.select(_C.tenant, _C.subject_id, _C.erased_at)
        .where(_C.conversation_id == conversation_id)
        .with_for_update()
    ).first()
    if row is None and create:
        now = format_ts(utc_now())
        conn.execute(
            conversations.insert().values(
                conversation_id=conversation_id,
                tenant=tenant,
                subject_id=subject_id,
                created_at=now,
                updated_at=now,
            )
        )
        return
    if row is None or row.tenant != tenant or row.subject_id != subject_id:
        raise ConversationNotFoundError(
            f"no conversation {conversation_id!r} for this caller",
            remedy="send the conversation id a previous answer returned, or none to start a "
            "new conversation",
        )
    if row.erased_at is not None:
        raise ConversationNotFoundError(
            f"conversation {conversation_id!r} was erased at the data subject's request",
            remedy="start a new conversation (send no conversation id)",
        )
