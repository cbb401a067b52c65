"""`bridge outbox list|retry`: the actions waiting, done, skipped and dead; dead ones sent again."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from bridge.cli.options import ConfigOption, settings_or_exit
from bridge.store import Store
from bridge.store.outbox import ActionStatus, OutboxRow

app = typer.Typer(help="The outbox: list actions, retry dead ones.", no_args_is_help=True)


def _store(config: ConfigOption) -> Store:
    return Store.from_settings(settings_or_exit(config).database)


def _about(row: OutboxRow) -> str:
    # What the action does, in the programme's words, as the action says it.
    try:
        return row.action().summary()
    except (KeyError, TypeError, ValueError):
        return row.key  # a payload this version cannot read: its key says what it was for


@app.command("list")
def list_actions(
    status: Annotated[
        ActionStatus | None,
        typer.Option("--status", help="Only actions in this status.", case_sensitive=False),
    ] = None,
    limit: Annotated[int, typer.Option(help="At most this many, newest first.")] = 50,
    config: ConfigOption = None,
) -> None:
    """Actions, newest first, with the outbox's counts by status."""
    store = _store(config)
    try:
        with store.transaction(readonly=True) as tx:
            counts = tx.outbox.counts()
            rows = tx.outbox.list(status, limit=limit)
    finally:
        store.close()
    console = Console(width=160)
    console.print(", ".join(f"{status.value} {count}" for status, count in counts.items()))
    if not rows:
        console.print("no action" + (f" is {status.value}" if status else " in the outbox"))
        return
    table = Table()
    for column in ("id", "target", "kind", "what", "status", "attempts", "next attempt", "detail or error"):
        table.add_column(column, overflow="fold")
    for row in rows:
        waiting = row.status in (ActionStatus.PENDING, ActionStatus.RETRY)
        table.add_row(
            str(row.id),
            row.target.value,
            row.kind,
            _about(row),
            row.status.value,
            str(row.attempts),
            row.next_attempt_at.strftime("%Y-%m-%d %H:%M:%S") if waiting else "",
            row.last_error if row.status in (ActionStatus.DEAD, ActionStatus.RETRY) else (row.detail or ""),
        )
    console.print(table)


@app.command("retry")
def retry(
    action_id: Annotated[
        int | None, typer.Argument(metavar="ID", help="The dead action to send again.", show_default=False)
    ] = None,
    dead: Annotated[bool, typer.Option("--dead", help="Send every dead action again.")] = False,
    config: ConfigOption = None,
) -> None:
    """Put a dead action (or, with --dead, every one) back in the queue with a fresh budget of attempts."""
    if (action_id is None) == (not dead):
        typer.echo("error: give an action ID or --dead (not both)", err=True)
        raise typer.Exit(2)
    store = _store(config)
    try:
        with store.transaction() as tx:
            if action_id is not None:
                row = tx.outbox.get(action_id)
                if row is None:
                    typer.echo(f"error: no action {action_id} in the outbox", err=True)
                    raise typer.Exit(1)
                if row.status is not ActionStatus.DEAD:
                    typer.echo(f"error: action {action_id} is {row.status.value}, not dead", err=True)
                    raise typer.Exit(1)
            revived = tx.outbox.retry_dead(action_id, now=datetime.now(UTC))
    finally:
        store.close()
    typer.echo(f"{revived} dead action{'s' if revived != 1 else ''} queued again")
