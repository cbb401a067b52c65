"""`bridge db ...`: the database schema."""

from __future__ import annotations

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


@app.command("repoint")
def repoint(
    config: ConfigOption = None,
    yes: Annotated[bool, typer.Option("--yes", help="Change the store's systems (else only show).")] = False,
) -> None:
    """Make the store follow the systems the configuration names, on purpose, saying what it means."""
    from bridge.service.systems import differences, meaning
    from bridge.service.systems import repoint as repoint_store

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
