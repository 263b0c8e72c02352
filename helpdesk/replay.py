"""Batch and replay: ticket files through the queue and the pipeline, results in input order."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError

from audit.events import Actor
from helpdesk.desk import TicketDesk
from helpdesk.errors import TicketError
from helpdesk.queue import JobRef
from helpdesk.tickets import Ticket

CHUNK = 32  # tickets queued, then worked off, at a time (bounded memory, steady output)
WAIT_S = 0.2  # pause while another worker holds, or backoff delays, one of ours


@dataclass(frozen=True)
class BadRow:
    """An input line that is not a ticket, and why."""

    line: int
    id: str | None
    error: str

    def to_json(self) -> dict[str, Any]:
        """The output line for it."""
        return {"id": self.id, "line": self.line, "error": self.error}


def read_tickets(path: Path) -> Iterator[Ticket | BadRow]:
    """Tickets of a JSON Lines file; a line that is not a valid ticket becomes a `BadRow`."""
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise TicketError(f"cannot read {path}: {exc.strerror}", remedy="check the path") from None
    with handle:
        for number, raw in enumerate(handle, 1):
            if raw.strip():
                yield parse_ticket_line(number, raw)


def parse_ticket_line(number: int, raw: bytes) -> Ticket | BadRow:
    """One line as a ticket, or the reason it is not one."""
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        return BadRow(number, None, f"not valid UTF-8 (byte {exc.start} of the line)")
    except json.JSONDecodeError as exc:
        return BadRow(number, None, f"not JSON ({exc.msg}, column {exc.colno})")
    if not isinstance(data, dict):
        return BadRow(number, None, f"a JSON {type(data).__name__}, not an object")
    row_id = str(data["id"]) if isinstance(data.get("id"), str | int) else None
    try:
        return Ticket.model_validate(data)
    except ValidationError as exc:
        return BadRow(number, row_id, describe_ticket_problems(exc))


def describe_ticket_problems(exc: ValidationError) -> str:
    """Pydantic's problems as one line: field: message; ... (values are not echoed)."""
    problems = [
        f"{'.'.join(str(p) for p in err['loc']) or 'ticket'}: {err['msg']}"
        for err in exc.errors(include_url=False, include_input=False)
    ]
    return "; ".join(problems[:5]) + (f" (+{len(problems) - 5} more)" if len(problems) > 5 else "")


RowKind = Literal["decided", "already_decided", "dead", "refused"]


@dataclass(frozen=True)
class ReplayRow:
    """One output line: a decision record (`decided` now or `already_decided`) or an error."""

    kind: RowKind
    data: dict[str, Any]


def replay(
    desk: TicketDesk,
    items: Iterable[Ticket | BadRow],
    *,
    owner: str,
    actor: Actor,
) -> Iterator[ReplayRow]:
    """Queue each ticket, work off our jobs, yield one output row per input line, in order."""
    chunk: list[Ticket | BadRow] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == CHUNK:
            yield from _replay_chunk(desk, chunk, owner, actor)
            chunk = []
    yield from _replay_chunk(desk, chunk, owner, actor)


def _replay_chunk(
    desk: TicketDesk,
    chunk: Sequence[Ticket | BadRow],
    owner: str,
    actor: Actor,
) -> Iterator[ReplayRow]:
    refs: list[JobRef | BadRow] = []
    for item in chunk:
        if isinstance(item, BadRow):
            refs.append(item)
            continue
        try:
            refs.append(desk.submit(item, actor))
        except TicketError as exc:
            refs.append(BadRow(0, item.id, exc.message))
    jobs = [ref for ref in refs if isinstance(ref, JobRef)]
    waiting = {(ref.tenant, ref.ticket_id) for ref in jobs if ref.state not in ("done", "dead")}
    desk.warm([t for t in chunk if isinstance(t, Ticket) and (t.tenant, t.id) in waiting])
    _work_off(desk, jobs, owner)
    for ref in refs:
        if isinstance(ref, BadRow):
            yield ReplayRow("refused", ref.to_json())
        else:
            yield _result_row(desk, ref)


def _work_off(desk: TicketDesk, jobs: Sequence[JobRef], owner: str) -> None:
    """Work our jobs until each is done or dead (waiting out backoff and other workers)."""
    pending = {ref.job_id for ref in jobs if ref.state not in ("done", "dead")}
    while pending:
        desk.work(owner, only=pending, drain=True)
        for job_id in list(pending):
            status = desk.queue.get_status(job_id)
            if status is None or status.state in ("done", "dead"):
                pending.discard(job_id)
        if pending:
            time.sleep(WAIT_S)


def _result_row(desk: TicketDesk, ref: JobRef) -> ReplayRow:
    """The stored decision record, or why there is none."""
    record = desk.queue.get_decision(ref.tenant, ref.ticket_id, ref.version)
    if record is not None:
        return ReplayRow("decided" if ref.created else "already_decided", record)
    status = desk.queue.get_status(ref.job_id)
    detail = status.last_error if status is not None else "job missing"
    attempts = status.attempts if status is not None else 0
    error = f"dead-letter after {attempts} attempts: {detail}"
    data = {"id": ref.ticket_id, "tenant": ref.tenant, "version": ref.version, "error": error}
    return ReplayRow("dead", {**data, "job_id": ref.job_id})
