"""`airlock` entry point: noun-verb commands, one-line errors, exit 2 on bad input."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from airlock import __version__
from airlock.cli.audit_cmd import audit
from airlock.cli.bundle_cmd import bundle
from airlock.cli.context import CliState, fail
from airlock.cli.guard_cmd import guard
from airlock.cli.intents_cmd import intents
from airlock.cli.kb_cmd import kb
from airlock.cli.models_cmd import models
from airlock.cli.serving_cmd import serving
from airlock.cli.system_cmd import config, db, demo, serve, worker
from airlock.cli.tickets_cmd import subjects, tickets
from airlock.errors import AirlockError
from airlock.logs import bound_context
from airlock.offline import enforce_offline


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_file",
    type=click.Path(path_type=Path, dir_okay=False),
    envvar="AIRLOCK_CONFIG",
    help="YAML configuration file (env AIRLOCK_CONFIG). Environment AIRLOCK__SECTION__KEY wins.",
)
@click.version_option(__version__, prog_name="airlock")
@click.pass_context
def cli(ctx: click.Context, config_file: Path | None) -> None:
    """Airlock: self-hosted LLM appliance for customer-support automation.

    Exit codes: 0 success, 1 a check found a problem (e.g. a damaged audit log),
    2 bad input, configuration or storage.
    """
    ctx.obj = CliState(config_file)


cli.add_command(config)
cli.add_command(db)
cli.add_command(audit)
cli.add_command(bundle)
cli.add_command(models)
cli.add_command(kb)
cli.add_command(serving)
cli.add_command(guard)
cli.add_command(intents)
cli.add_command(tickets)
cli.add_command(subjects)
cli.add_command(demo)
cli.add_command(serve)
cli.add_command(worker)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    enforce_offline()
    try:
        # One command is one unit of work: its log lines share a request id.
        with bound_context(component="cli"):
            cli.main(args=argv, prog_name="airlock", standalone_mode=False)
    except click.exceptions.Abort:
        fail("aborted", 130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except AirlockError as exc:
        fail(str(exc), exc.exit_code)
    except KeyboardInterrupt:
        fail("interrupted", 130)
