"""`airlock tickets process|work` and `airlock subjects erase`: the ticket pipeline off the API."""

from __future__ import annotations

import json
import os
import signal
import socket
import sys
import threading
import time
from pathlib import Path
from types import FrameType

import click

from airlock.cli.batch import INPUT, OUTPUT, echo_metrics
from airlock.cli.context import CliState, emit_json, local_actor, pass_state
from airlock.services import open_services, open_ticket_desk
from guardrails.batch import jsonl_output, write_line


def _owner(role: str) -> str:
    """A worker name unique on this host: it shows in the queue's lease columns."""
    return f"{role}:{socket.gethostname()}:{os.getpid()}"


@click.group()
def tickets() -> None:
    """Run support tickets through the pipeline without the API (batch, replay, workers)."""


@tickets.command("process")
@INPUT
@OUTPUT
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@pass_state
def tickets_process(state: CliState, *, input_path: Path, output_path: Path, as_json: bool) -> None:
    """Decide every ticket of a JSON Lines file; one decision record per line, in input order.

    Tickets are stored and decided through the durable queue, once per ticket version: a
    second run returns the stored decisions. Bad lines become {"id","line","error"} rows.
    """
    from helpdesk.replay import read_tickets, replay
    from helpdesk.summary import ReplaySummary

    if not input_path.is_file():
        raise click.BadParameter(f"{input_path} is not a file", param_hint="--input")
    total = sum(1 for line in input_path.open("rb") if line.strip())
    summary = ReplaySummary()
    click.echo(
        f"loading the pipeline (models, guards, knowledge base) for {total} tickets ...", err=True
    )
    with open_services(state.settings) as services, open_ticket_desk(services) as desk:
        started = time.perf_counter()
        with (
            jsonl_output(output_path) as out,
            click.progressbar(length=total, label="tickets", file=sys.stderr) as bar,
        ):
            rows = replay(desk, read_tickets(input_path), owner=_owner("cli"), actor=local_actor())
            for row in rows:
                write_line(out, row.data)
                summary.add(row)
                bar.update(1)
        report = summary.to_dict(time.perf_counter() - started)
    click.echo(f"{report['rows']} tickets -> {output_path}", err=True)
    if as_json:
        emit_json(report)
    else:
        echo_metrics(report)


@tickets.command("work")
@click.option("--max-jobs", type=int, default=None, help="Stop after this many tickets.")
@click.option(
    "--poll",
    "poll_s",
    type=float,
    default=1.0,
    show_default=True,
    help="Seconds between looks at an empty queue.",
)
@pass_state
def tickets_work(state: CliState, *, max_jobs: int | None, poll_s: float) -> None:
    """Work the ticket queue until SIGTERM or Ctrl-C (the helpdesk worker process)."""
    stop = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        click.echo("stopping after the current ticket ...", err=True)
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    owner = _owner("worker")
    with open_services(state.settings) as services, open_ticket_desk(services) as desk:
        recovered = desk.queue.recover()
        click.echo(f"worker {owner} ready ({recovered} expired leases recovered)", err=True)
        report = desk.work(owner, stop_event=stop, max_jobs=max_jobs, poll_s=poll_s)
    click.echo(
        f"worker {owner}: {report.completed} decided, {report.failed} failed, "
        f"{report.rejected} lost their lease",
        err=True,
    )


@click.group()
def subjects() -> None:
    """Data subjects (customers): erasure on request (GDPR art. 17)."""


@subjects.command("erase")
@click.argument("subject_id")
@click.option("--tenant", default=None, help="Only this tenant's data (default: every tenant).")
@click.option(
    "--receipt",
    "receipt_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Also write the receipt (JSON) to this file.",
)
@pass_state
def subjects_erase(
    state: CliState, *, subject_id: str, tenant: str | None, receipt_path: Path | None
) -> None:
    """Erase a customer's ticket texts, decision texts, KB documents and PII vault key."""
    from helpdesk.erasure import erase_subject
    from rag.registry import open_knowledge_base

    with (
        open_services(state.settings) as services,
        open_knowledge_base(state.settings, services.engine, services.audit) as kb,
    ):
        receipt = erase_subject(
            subject_id,
            engine=services.engine,
            audit=services.audit,
            actor=local_actor(),
            kb=kb.kb,
            tenant=tenant,
        )
    data = receipt.to_dict()
    if receipt_path is not None:
        receipt_path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    emit_json(data)
