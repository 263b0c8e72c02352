"""What the API is built over: the parts the wiring (`airlock.services`) opens and closes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

from sqlalchemy import Engine

from airlock.settings import AirlockSettings
from audit.log import AuditLog
from guardrails.pii.vault import PiiVault
from helpdesk.desk import TicketDesk
from rag.ingest import KnowledgeBase

# A readiness probe: (ok, detail). The wiring supplies them for each dependency.
ReadinessCheck = Callable[[], Awaitable[tuple[bool, str]]]


@dataclass(frozen=True)
class ApiParts:
    """Connected parts of one API process."""

    settings: AirlockSettings
    engine: Engine
    audit: AuditLog
    desk: TicketDesk
    knowledge: KnowledgeBase
    issuer_url: str  # the realm the tokens come from (the dev issuer's URL in dev)
    vault: PiiVault | None = None
    checks: Mapping[str, ReadinessCheck] = field(default_factory=dict)
