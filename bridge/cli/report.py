"""`bridge report`: the readiness report of a period, as Markdown or as one HTML file."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from bridge.cli.options import ConfigOption, settings_or_exit


class ReportFormat(StrEnum):
    """How the report is written."""

    MD = "md"  # Markdown, to paste into the weekly pack
    HTML = "html"  # one HTML file with its stylesheet inside, to mail or print


def report(
    since: Annotated[
        datetime | None,
        typer.Option(formats=["%Y-%m-%d"], help="First day of the period (default: seven days ago)."),
    ] = None,
    output_format: Annotated[
        ReportFormat, typer.Option("--format", "-f", help="md or html.", case_sensitive=False)
    ] = ReportFormat.MD,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file instead of standard output.")
    ] = None,
    config: ConfigOption = None,
) -> None:
    """The readiness report: releases, deployments and retest moves of the period, and what is open."""
    from bridge.service.read.report import build_report, period_start
    from bridge.service.runtime.wiring import engine_context, load_mappings
    from bridge.service.web.pages.rendering import render_report_html, render_report_markdown
    from bridge.store import Store

    settings = settings_or_exit(config)
    context = engine_context(settings, load_mappings())
    now = datetime.now(UTC)
    store = Store.from_settings(settings.database)
    try:
        with store.transaction(readonly=True) as tx:
            data = build_report(
                tx, context, since=period_start(since.date() if since else None, now), now=now
            )
    finally:
        store.close()
    if data.since > data.until:
        typer.echo("error: --since is after today", err=True)
        raise typer.Exit(2)
    text = render_report_markdown(data) if output_format is ReportFormat.MD else render_report_html(data)
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        typer.echo(f"report written to {output}", err=True)
