"""`bridge backfill`: read each system's history since a date through the inbox, then process it."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime, time
from enum import StrEnum
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from bridge.cli.options import ConfigOption, DryRunOption, settings_or_exit, systems_or_exit
from bridge.connector import ActionOutcome, Connector, PollPage, WebhookDelivery
from bridge.domain.actions import Action
from bridge.domain.events import DomainEvent, RecordRef, Source
from bridge.errors import BridgeError
from bridge.service.runtime.wiring import build_processor
from bridge.service.worker.processor import Processor
from bridge.store.outbox import ActionStatus

# Actions a dispatch may still take: waiting for a first attempt or for a retry.
_WAITING = (ActionStatus.PENDING, ActionStatus.RETRY)


class SourceName(StrEnum):
    """A system to read history from."""

    GITLAB = "gitlab"
    SERVICENOW = "servicenow"
    ADO = "ado"


class CountedConnector:
    """A connector whose polls report each page read, so a progress bar can follow a long read."""

    def __init__(self, inner: Connector, on_page: Callable[[PollPage], None]) -> None:
        self.inner = inner
        self.on_page = on_page

    @property
    def source(self) -> Source:
        return self.inner.source

    def poll(self, cursor: str | None, *, now: datetime) -> PollPage:
        page = self.inner.poll(cursor, now=now)
        self.on_page(page)
        return page

    def cursor_since(self, since: datetime) -> str:
        return self.inner.cursor_since(since)

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> WebhookDelivery:
        return self.inner.parse_webhook(headers, body)

    def fetch(self, ref: RecordRef) -> DomainEvent | None:
        return self.inner.fetch(ref)

    def apply(self, actions: Sequence[Action]) -> list[ActionOutcome]:
        return self.inner.apply(actions)


def parse_since(text: str) -> datetime:
    """A date (midnight UTC) or an ISO date and time (UTC unless it names its zone)."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a date (YYYY-MM-DD) or an ISO date and time") from None
    if len(text) == 10:
        moment = datetime.combine(date.fromisoformat(text), time(0))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _progress(console: Console) -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description:<28}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[note]}"),
        TimeElapsedColumn(),
        console=console,
    )


def read_history(processor: Processor, sources: Sequence[Source], since: datetime, progress: Progress) -> int:
    """Poll each source from `since` into the inbox, one bar per source; returns the events read."""
    total = 0
    for source in sources:
        task = progress.add_task(f"reading {source.value}", total=None, note="")
        counts = {"pages": 0, "events": 0}

        def seen(page: PollPage, task: TaskID = task, counts: dict[str, int] = counts) -> None:
            counts["pages"] += 1
            counts["events"] += len(page.events)
            progress.update(
                task, advance=len(page.events), note=f"{counts['pages']} pages, {counts['events']} records"
            )

        inner = processor.connectors[source]
        processor.connectors[source] = CountedConnector(inner, seen)
        try:
            outcome = processor.poll(source, cursor=inner.cursor_since(since), max_pages=1_000_000)
        finally:
            processor.connectors[source] = inner
        if not outcome.ran:
            progress.update(task, note="another replica is polling it; its poll reads the same history")
        progress.update(task, total=counts["events"], completed=counts["events"])
        total += outcome.events
    return total


def process_all(processor: Processor, progress: Progress) -> tuple[int, int]:
    """Process the inbox and dispatch until nothing is left; returns (inbox rows, actions)."""
    with processor.store.transaction(readonly=True) as tx:
        waiting = tx.inbox.stats().unprocessed
    task = progress.add_task("processing the inbox", total=waiting, note="")
    processed = 0
    while (count := processor.process_inbox()) > 0:
        processed += count
        progress.update(task, completed=min(processed, waiting), note=f"{processed} rows")
    progress.update(task, total=max(processed, waiting), completed=max(processed, waiting))
    processor.refresh()
    with processor.store.transaction(readonly=True) as tx:
        due = sum(tx.outbox.counts()[status] for status in _WAITING)
    writes = progress.add_task("dispatching actions", total=due, note="")
    dispatched = 0
    for _ in range(20):
        round_count = 0
        for source in processor.connectors:
            while (count := processor.dispatch(source)) > 0:
                round_count += count
                progress.update(writes, completed=min(dispatched + round_count, due))
        dispatched += round_count
        if round_count == 0:
            break
        processed += processor.process_inbox()  # what the writers fed back
    progress.update(writes, total=max(dispatched, due), completed=max(dispatched, due))
    return processed, dispatched


def backfill(
    since: Annotated[
        str, typer.Option("--since", help="Read history changed on or after this date (YYYY-MM-DD).")
    ],
    source: Annotated[
        list[SourceName] | None,
        typer.Option(
            "--source", help="A system to read (repeat for several; default: every configured one)."
        ),
    ] = None,
    config: ConfigOption = None,
    dry_run: DryRunOption = False,
) -> None:
    """Read each system's history since a date through the inbox, then process and dispatch it."""
    moment = parse_since(since)
    settings = settings_or_exit(config)
    processor = build_processor(settings, dry_run=dry_run)
    systems_or_exit(processor.store, settings)
    console = Console(stderr=True)
    try:
        wanted = [Source(name.value) for name in source] if source else list(processor.connectors)
        absent = [s.value for s in wanted if s not in processor.connectors]
        if absent:
            typer.echo(f"error: not configured: {', '.join(absent)}", err=True)
            raise typer.Exit(2)
        with _progress(console) as progress:
            read = read_history(processor, wanted, moment, progress)
            processed, dispatched = process_all(processor, progress)
    except BridgeError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    finally:
        processor.store.close()
    typer.echo(f"read {read} records since {moment.isoformat()} from {', '.join(s.value for s in wanted)}")
    typer.echo(f"processed {processed} inbox rows, dispatched {dispatched} actions")
    if dry_run:
        typer.echo("dry run: nothing was written to the three systems")
