"""What every command shares: the settings of this invocation and how failures leave."""

from __future__ import annotations

import getpass
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from airlock.config import load_settings
from airlock.logs import configure_logging
from airlock.settings import AirlockSettings
from audit.events import Actor


@dataclass
class CliState:
    """Loaded lazily so that `--help` works with a broken configuration."""

    config_file: Path | None
    _settings: AirlockSettings | None = field(default=None, repr=False)

    @property
    def settings(self) -> AirlockSettings:
        """The effective settings (loaded and logging configured on first use)."""
        if self._settings is None:
            self._settings = load_settings(self.config_file)
            configure_logging(self._settings.log)
        return self._settings


pass_state = click.make_pass_decorator(CliState)


def emit_json(data: Any) -> None:
    """Machine-readable output on stdout."""
    click.echo(json.dumps(data, indent=2, sort_keys=False, default=str))


def fail(message: str, code: int = 2) -> None:
    """A one-line error on stderr and the exit code."""
    click.echo(f"airlock: error: {message}", err=True)
    sys.exit(code)


def local_actor() -> Actor:
    """Who acts in the audit log when an operator runs a command: the local user, via the CLI."""
    return Actor(subject=f"local:{getpass.getuser()}", client_id="airlock-cli")
