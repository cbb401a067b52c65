"""`bridge reconcile --once`: one poll, process and dispatch cycle, for cron users and tests."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from bridge.cli.options import (
    ConfigOption,
    DryRunOption,
    processor_or_exit,
    settings_or_exit,
    systems_or_exit,
)
from bridge.errors import BridgeError


def reconcile(
    config: ConfigOption = None,
    once: Annotated[
        bool, typer.Option("--once", help="Run one cycle and exit (the only mode here).")
    ] = False,
    dry_run: DryRunOption = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the cycle's figures as JSON.")] = False,
) -> None:
    """Poll every configured system, process what came in, and carry out the resulting writes."""
    if not once:
        typer.echo("error: give --once (`bridge run` is the long-running service)", err=True)
        raise typer.Exit(2)
    settings = settings_or_exit(config)
    processor = processor_or_exit(settings, dry_run=dry_run)
    systems_or_exit(processor.store, settings)
    try:
        result = processor.run_once()
    except BridgeError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    finally:
        processor.store.close()
    if as_json:
        typer.echo(json.dumps(result))
        return
    polled = ", ".join(f"{source} {count}" for source, count in result["polled"].items())
    typer.echo(f"polled: {polled or 'nothing configured'}")
    typer.echo(f"processed {result['processed']} inbox rows, dispatched {result['dispatched']} actions")
    if dry_run:
        typer.echo("dry run: nothing was written to the three systems")
