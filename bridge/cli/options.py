"""Options several commands share, and loading the settings they name."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from bridge.config import ConfigError, Settings, load_settings
from bridge.mappings import MappingError

if TYPE_CHECKING:  # the service is loaded only by the commands that run it
    from bridge.service.worker.processor import Processor
    from bridge.store import Store

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


def processor_or_exit(settings: Settings, *, dry_run: bool = False) -> Processor:
    """The service's processor, or exit 2 naming the mapping file and line that stop it."""
    from bridge.service.runtime.wiring import build_processor

    try:
        return build_processor(settings, dry_run=dry_run)
    except MappingError as exc:
        typer.echo(f"error: a mapping is not valid: {exc}", err=True)
        raise typer.Exit(2) from exc


def systems_or_exit(store: Store, settings: Settings) -> None:
    """Go on only against the systems the store was filled from; else exit 2 naming both."""
    from bridge.service.runtime.systems import OtherSystemsError, check_systems

    if not store.is_up_to_date():
        return  # an old schema is reported by /readyz and `bridge doctor`; there is nothing to compare
    try:
        check_systems(store, settings)
    except OtherSystemsError as exc:
        store.close()
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
