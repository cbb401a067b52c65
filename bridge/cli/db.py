"""`bridge db ...`: the database schema."""

from __future__ import annotations

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
