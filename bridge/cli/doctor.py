"""`bridge doctor`: a checklist of connections, credentials, mappings, database; exit 1 on a failure."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from bridge.cli.options import ConfigOption, settings_or_exit
from bridge.service.runtime.doctor import CheckStatus, diagnose, failed

MARKS = {
    CheckStatus.OK: "[green]✔ ok[/]",
    CheckStatus.WARNING: "[yellow]! warning[/]",
    CheckStatus.FAILED: "[red]✘ failed[/]",
    CheckStatus.SKIPPED: "[dim]- skipped[/]",
}


def doctor(config: ConfigOption = None) -> None:
    """Reach each system with the configured credentials and check the mappings and the database."""
    settings = settings_or_exit(config)
    checks = diagnose(settings)
    table = Table(title="bridge doctor", show_lines=False)
    table.add_column("system")
    table.add_column("check")
    table.add_column("status", no_wrap=True)
    table.add_column("detail", overflow="fold")
    for check in checks:
        table.add_row(check.system, check.name, MARKS[check.status], check.detail)
    console = Console(width=max(Console().width, 120))
    console.print(table)
    counts = {status: sum(c.status is status for c in checks) for status in CheckStatus}
    summary = ", ".join(f"{count} {status.value}" for status, count in counts.items() if count)
    console.print(summary)
    if failed(checks):
        raise typer.Exit(1)
