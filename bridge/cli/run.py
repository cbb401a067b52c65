"""`bridge run`: the service."""

from __future__ import annotations

from contextlib import ExitStack
from typing import Annotated

import typer

from bridge.cli.options import (
    ConfigOption,
    DryRunOption,
    processor_or_exit,
    settings_or_exit,
    systems_or_exit,
)
from bridge.cli.stopping import stop_requested
from bridge.service.runtime.multiprocess import run_directory
from bridge.service.runtime.stopping import stop_requests


def run(
    config: ConfigOption = None,
    host: Annotated[str | None, typer.Option(help="Address to listen on (default: service.host).")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on (default: service.port).")] = None,
    dry_run: DryRunOption = False,
) -> None:
    """Run the bridge: webhooks, pollers, processing and dispatch, until SIGTERM or Ctrl-C."""
    # A stop heard since the command started (bridge.cli.main) or from now on is honoured once it can be.
    stop = stop_requests(stop_requested)
    settings = settings_or_exit(config)
    with ExitStack() as run_scope:
        # The run's metrics directory is named to prometheus_client before anything loads it: it chooses
        # on loading where this process keeps its figures (and the worker process inherits the name).
        try:
            run_scope.enter_context(run_directory(settings.service.metrics_dir))
        except OSError as exc:
            typer.echo(f"error: service.metrics_dir {settings.service.metrics_dir}: {exc.strerror}", err=True)
            raise typer.Exit(2) from exc
        from bridge.service.runtime.runner import Service

        processor = processor_or_exit(settings, dry_run=dry_run)
        systems_or_exit(processor.store, settings)
        status = Service(settings, processor=processor, stop_requested=stop).serve(host, port)
    if status:
        raise typer.Exit(status)
