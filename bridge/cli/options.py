"""Options several commands share, and loading the settings they name."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bridge.config import ConfigError, Settings, load_settings

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config", "-c", help="TOML configuration file (default: $BRIDGE_CONFIG).", show_default=False
    ),
]
DryRunOption = Annotated[
    bool, typer.Option("--dry-run", help="Compute and show everything; write nothing to the three systems.")
]


def settings_or_exit(config: Path | None) -> Settings:
    """The settings, or exit 2 with the message that names the bad key."""
    try:
        return load_settings(config)
    except ConfigError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
