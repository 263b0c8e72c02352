"""The tickets workload: Airlock ticket JSON Lines through Airlock's API, end to end."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import httpx

from gpu_bench.records import ErrorKind, RequestRecord

WAIT_S = 60.0  # how long the API may hold a submission for its decision


async def send_ticket(
    client: httpx.AsyncClient,
    *,
    base_url: str,
    ticket: dict[str, Any],
    phase: str,
    request_id: str,
    started_at: float,
    headers: dict[str, str],
) -> RequestRecord:
    """POST /v1/tickets?wait= with a fresh ticket id; e2e is submission to decision."""
    body = {**ticket, "id": f"{ticket.get('id', 'ticket')}-{request_id}"}
    sent = time.perf_counter()
    base = _Sent(request_id, phase, str(ticket.get("id", "")), sent, started_at)
    try:
        response = await client.post(
            f"{base_url.rstrip('/')}/v1/tickets",
            params={"wait": WAIT_S},
            json=body,
            headers={**headers, "X-Request-ID": request_id},
        )
    except httpx.TimeoutException as exc:
        return base.failed("timeout", str(exc))
    except httpx.TransportError as exc:
        return base.failed("connection", str(exc))
    e2e = time.perf_counter() - sent
    if response.status_code >= 400 or response.status_code not in (200, 202):
        kind: ErrorKind = "http_5xx" if response.status_code >= 500 else "http_4xx"
        return base.failed(kind, response.text, response.status_code)
    decision = (response.json() or {}).get("decision")
    if decision is None:  # stored, but not decided within the wait: not a served ticket
        return base.failed("timeout", "not decided within the wait", 202)
    return RequestRecord(
        request_id=request_id,
        phase=phase,
        prompt_id=base.prompt_id,
        start_s=sent - started_at,
        status="ok",
        e2e_s=e2e,
        http_status=response.status_code,
        server_request_id=response.headers.get("x-request-id", ""),
        extra={"action": decision["decision"]["action"]},
    )


@dataclass(frozen=True)
class _Sent:
    request_id: str
    phase: str
    prompt_id: str
    sent: float
    started_at: float

    def failed(self, kind: ErrorKind, message: str, status: int | None = None) -> RequestRecord:
        return RequestRecord(
            request_id=self.request_id,
            phase=self.phase,
            prompt_id=self.prompt_id,
            start_s=self.sent - self.started_at,
            status="error",
            e2e_s=time.perf_counter() - self.sent,
            error_kind=kind,
            error=message[:200],
            http_status=status,
        )
