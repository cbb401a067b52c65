"""`bridge db ...`: the database schema."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import typer

from bridge.cli.options import ConfigOption, settings_or_exit
from bridge.store import Store

app = typer.Typer(help="Manage the bridge's database.", no_args_is_help=True)


@app.command("upgrade")
def upgrade(config: ConfigOption = None) -> None:
    """Bring the database schema up to date (replicas may run it at once; they take turns)."""
    settings = settings_or_exit(config)
    store = Store.from_settings(settings.database)
    try:
        before = store.current_revision()
        store.upgrade()
        typer.echo(f"database at revision {store.current_revision()} (was {before or 'empty'})")
    finally:
        store.close()


@app.command("snapshot")
def snapshot(config: ConfigOption = None) -> None:
    """Fold the journal and keep a snapshot of the engine's state, so the next start replays nothing
    older (run it after a backfill, or before compacting)."""
    from bridge.service.runtime.wiring import build_processor

    settings = settings_or_exit(config)
    processor = build_processor(settings)
    try:
        processor.refresh()
        row = processor.snapshot()
        typer.echo(f"snapshot kept at journal row {row}")
    finally:
        processor.store.close()


@app.command("compact")
def compact(
    keep_days: Annotated[
        int | None,
        typer.Option(
            "--keep-days",
            min=1,
            help="Keep this many days of revisions (default: database.journal_retention_days).",
        ),
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Delete journal revisions older than the retention that the newest snapshot holds (RFC revisions,
    which release timelines show, are kept)."""
    from bridge.service.runtime.wiring import build_processor

    settings = settings_or_exit(config)
    days = keep_days or settings.database.journal_retention_days
    if days is None:
        typer.echo("error: give --keep-days or set database.journal_retention_days", err=True)
        raise typer.Exit(2)
    processor = build_processor(settings)
    try:
        with processor.store.transaction(readonly=True) as tx:
            held = tx.snapshots.newest()
        if held is None:
            typer.echo("error: no snapshot yet: run `bridge db snapshot` first", err=True)
            raise typer.Exit(2)
        gone = processor.compact(timedelta(days=days))
        typer.echo(
            f"{gone} journal revisions deleted (older than {days} days,"
            f" held by the snapshot at row {held.journal_id})"
        )
    finally:
        processor.store.close()


@app.command("repoint")
def repoint(
    config: ConfigOption = None,
    yes: Annotated[bool, typer.Option("--yes", help="Change the store's systems (else only show).")] = False,
) -> None:
    """Make the store follow the systems the configuration names, on purpose, saying what it means."""
    from bridge.service.runtime.systems import differences, meaning
    from bridge.service.runtime.systems import repoint as repoint_store

    settings = settings_or_exit(config)
    store = Store.from_settings(settings.database)
    try:
        if not store.is_up_to_date():
            typer.echo("error: the database is not at the newest schema: run `bridge db upgrade`", err=True)
            raise typer.Exit(2)
        found = differences(store, settings)
        if not found:
            typer.echo("the store already follows the configured systems: nothing to change")
            return
        for difference in found:
            typer.echo(difference.describe())
        typer.echo("What it means:")
        for line in meaning(store, found):
            typer.echo(f"  {line}")
        if not yes:
            typer.echo("Nothing changed; run again with --yes to repoint the store.")
            raise typer.Exit(1)
        repoint_store(store, settings)
        typer.echo("The store now follows the configured systems.")
    finally:
        store.close()
