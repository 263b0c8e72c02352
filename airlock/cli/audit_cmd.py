"""`airlock audit verify|export|tail|prune|checkpoint|public-key`."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path

import click

from airlock.cli.context import CliState, emit_json, fail, local_actor, pass_state
from airlock.services import open_services, open_storage
from audit.events import AuditRecord
from audit.export import export_events, get_manifest_path, verify_export
from audit.log import format_ts
from audit.reader import fetch_tail, follow
from audit.retention import prune_before
from audit.signing import get_public_pem, load_public_key, load_signer
from audit.verify import VerifyReport, verify_log

FILE = click.Path(path_type=Path, dir_okay=False)


@click.group()
def audit() -> None:
    """The tamper-evident audit log."""


def _parse_when(value: str | None, name: str) -> str | None:
    """ISO date or datetime (UTC when no zone) -> the log's timestamp format."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not an ISO date or datetime (e.g. 2026-01-31 or 2026-01-31T12:00:00Z)",
            param_hint=name,
        ) from None
    return format_ts(moment if moment.tzinfo else moment.replace(tzinfo=UTC))


@audit.command("verify")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable JSON.")
@click.option(
    "--public-key", type=FILE, help="Auditor's public key PEM (default: the signing key's)."
)
@click.option("--export", "export_file", type=FILE, help="Verify an export file offline instead.")
@pass_state
def audit_verify(
    state: CliState, as_json: bool, public_key: Path | None, export_file: Path | None
) -> None:
    """Exit 0 when intact; else exit 1 naming the first bad seq and the kind of damage."""
    if export_file is not None:
        if public_key is None:
            fail("--export needs --public-key (the PEM written by `airlock audit public-key`)")
        check = verify_export(export_file, load_public_key(public_key))  # type: ignore[arg-type]
        if as_json:
            emit_json(check.to_dict())
        else:
            click.echo(
                f"export {export_file}: {check.count} events, "
                + ("intact" if check.ok else f"DAMAGED: {check.problem}")
            )
        sys.exit(0 if check.ok else 1)
    settings = state.settings
    engine = open_storage(settings, writable=False)
    key = load_public_key(public_key or settings.get_signing_key_path())
    report = verify_log(engine, key)
    if as_json:
        emit_json(report.to_dict())
    else:
        click.echo(_describe(report))
    sys.exit(0 if report.ok else 1)


def _describe(report: VerifyReport) -> str:
    span = f"seq {report.first_seq}..{report.last_seq}" if report.first_seq else "no events"
    pruned = (
        f", pruned through seq {report.pruned_through_seq}" if report.pruned_through_seq else ""
    )
    summary = (
        f"{report.events_checked} events ({span}{pruned}), "
        f"{report.checkpoints_checked} signed checkpoints"
    )
    if report.damage is None:
        return f"audit log intact: {summary}"
    damage = report.damage
    return (
        f"AUDIT LOG DAMAGED at seq {damage.seq}: {damage.kind.value} ({damage.detail}); {summary}"
    )


@audit.command("export")
@click.option("--since", help="Events at or after this ISO date/datetime (UTC).")
@click.option("--until", help="Events before this ISO date/datetime (UTC).")
@click.option(
    "--format", "fmt", type=click.Choice(["jsonl", "csv"]), default="jsonl", show_default=True
)
@click.option("--out", type=FILE, required=True, help="Export file; the manifest goes beside it.")
@pass_state
def audit_export(
    state: CliState, since: str | None, until: str | None, fmt: str, out: Path
) -> None:
    """Write events and a signed manifest that `audit verify --export` checks offline."""
    settings = state.settings
    engine = open_storage(settings, writable=False)
    signer = load_signer(settings.get_signing_key_path(), create=False)
    manifest = export_events(
        engine,
        signer,
        out,
        fmt=fmt,  # type: ignore[arg-type]
        since=_parse_when(since, "--since"),
        until=_parse_when(until, "--until"),
    )
    click.echo(
        f"exported {manifest.count} events to {out} (manifest {get_manifest_path(out).name})"
    )


@audit.command("tail")
@click.option("-n", "count", default=20, show_default=True, type=click.IntRange(1, 100000))
@click.option("--follow", "follow_", is_flag=True, help="Keep printing new events until Ctrl-C.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@pass_state
def audit_tail(state: CliState, count: int, follow_: bool, as_json: bool) -> None:
    """Print the newest events (operators; details are already redacted)."""
    engine = open_storage(state.settings, writable=False)
    records = fetch_tail(engine, count)
    for record in records:
        _print_record(record, as_json)
    if follow_:
        after = records[-1].seq if records else 0
        try:
            for record in follow(engine, after):
                _print_record(record, as_json)
        except KeyboardInterrupt:
            return


def _print_record(record: AuditRecord, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(record.to_dict(), ensure_ascii=False))
        return
    actor = record.actor_subject or record.actor_client_id or "-"
    resource = "/".join(p for p in (record.resource_type, record.resource_id) if p) or "-"
    click.echo(
        f"{record.seq:>8} {record.ts} {record.action:<24} {record.outcome:<8} "
        f"actor={actor} tenant={record.tenant or '-'} resource={resource}"
    )


@audit.command("prune")
@click.option("--before", required=True, help="Archive and delete events before this date (UTC).")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@pass_state
def audit_prune(state: CliState, before: str, yes: bool) -> None:
    """Archive old events to a signed export, then delete them; the chain stays verifiable."""
    cutoff = _parse_when(before, "--before")
    assert cutoff is not None
    if not yes:
        click.confirm(f"Archive and delete audit events before {cutoff}?", abort=True)
    with open_services(state.settings) as services:
        result = prune_before(
            services.audit,
            cutoff,
            state.settings.get_archive_dir(),
            local_actor(),
        )
    if result.archived == 0:
        click.echo(f"no events before {cutoff}; nothing pruned")
    else:
        click.echo(
            f"archived {result.archived} events through seq {result.through_seq} to "
            f"{result.archive}; anchor event seq {result.anchor_seq}"
        )


@audit.command("checkpoint")
@pass_state
def audit_checkpoint(state: CliState) -> None:
    """Sign a checkpoint of the current head now."""
    with open_services(state.settings) as services:
        checkpoint = services.audit.checkpoint()
    click.echo(f"checkpoint at seq {checkpoint.seq}" if checkpoint else "head already checkpointed")


@audit.command("public-key")
@click.option("--out", type=FILE, help="Write the PEM here instead of stdout.")
@pass_state
def audit_public_key(state: CliState, out: Path | None) -> None:
    """Export the public key auditors use to verify the log and its exports."""
    signer = load_signer(state.settings.get_signing_key_path(), create=False)
    pem = get_public_pem(signer.public_key)
    if out is None:
        click.echo(pem, nl=False)
    else:
        out.write_text(pem, encoding="ascii")
        click.echo(f"public key {signer.key_id[:16]} written to {out}")
