"""Delivering decisions to the tenant's ticketing system (after they are stored and audited)."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from airlock.settings_helpdesk import WritebackSettings
from audit.events import AuditEvent
from audit.log import AuditLog
from helpdesk.connectors import TicketingConnector, WriteBack, build_connector
from helpdesk.desk import WORKER
from helpdesk.errors import ConnectorError
from helpdesk.record import DecisionRecord

log = logging.getLogger(__name__)


def build_writeback(record: DecisionRecord) -> WriteBack | None:
    """What to write for a record: the draft as a reply, or the agent's summary as a note."""
    if record.external is None:
        return None
    answered = record.decision.action == "auto_reply" and bool(record.draft)
    if answered:
        body = record.draft or ""
    else:
        suggestion = f"\n\nSuggested draft:\n{record.draft}" if record.draft else ""
        body = f"Airlock: {record.decision.action}\n{record.summary}{suggestion}"
    intent = record.intent.label if record.intent else "unclassified"
    return WriteBack(
        ticket_id=record.ticket_id,
        version=record.version,
        external_id=record.external.id,
        body=body,
        public=answered,
        tags=("airlock", f"airlock_{record.decision.action}", f"intent_{intent}"),
        priority=record.priority.level,
        queue=record.route.queue,
        escalated=record.decision.action == "escalate",
    )


class WritebackDelivery:
    """Writes each decided ticket back to its tenant's system, when one is configured."""

    def __init__(self, settings: Mapping[str, WritebackSettings], audit: AuditLog | None) -> None:
        self.settings = dict(settings)
        self.audit = audit
        self._connectors: dict[str, TicketingConnector] = {}

    def __call__(self, record: DecisionRecord) -> None:
        """Write back one record; a refusal is audited and logged, the decision stays stored."""
        config = self.settings.get(record.tenant)
        item = build_writeback(record)
        if config is None or item is None or record.external is None:
            return
        if record.external.system != config.system:
            log.warning("ticket from another system", extra={"ticket_id": record.ticket_id})
            return
        try:
            result = self._connector(record.tenant, config).write_back(item)
        except ConnectorError as exc:
            self._audit(record, "failure", {"system": config.system, "error": exc.message})
            raise
        details = {
            "system": result.system,
            "external_id": result.external_id,
            "requests": result.requests,
            "retries": result.retries,
            "skipped_duplicate": result.skipped_duplicate,
        }
        self._audit(record, "success", details)

    def close(self) -> None:
        """Close every connector's HTTP client."""
        for connector in self._connectors.values():
            connector.close()
        self._connectors.clear()

    def _connector(self, tenant: str, config: WritebackSettings) -> TicketingConnector:
        if tenant not in self._connectors:
            self._connectors[tenant] = build_connector(config)
        return self._connectors[tenant]

    def _audit(self, record: DecisionRecord, outcome: str, details: dict[str, object]) -> None:
        if self.audit is None:
            return
        self.audit.append(
            AuditEvent(
                "ticket.written_back",
                outcome="success" if outcome == "success" else "failure",
                actor=WORKER,
                tenant=record.tenant,
                resource_type="ticket",
                resource_id=record.ticket_id,
                details={"version": record.version, **details},
            )
        )
