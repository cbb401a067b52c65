"""`bridge config ...`: the effective configuration, secrets masked."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from bridge.cli.options import ConfigOption
from bridge.config import ConfigError, load_settings, masked, to_toml

app = typer.Typer(help="Show the effective configuration.", no_args_is_help=True)


@app.command("show")
def show(
    config: ConfigOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of TOML.")] = False,
) -> None:
    """Print the configuration the bridge would run with: file, environment and defaults merged."""
    try:
        settings = load_settings(config)
    except ConfigError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    data = masked(settings)
    typer.echo(json.dumps(data, indent=2) if as_json else to_toml(data))
