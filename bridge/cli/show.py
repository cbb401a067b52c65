"""`bridge show`: a release, RFCs, a defect or an environment, readable, from what the service stored."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from bridge.cli.options import ConfigOption, settings_or_exit
from bridge.domain.actions import MoveDefect
from bridge.domain.keys import ReleaseKey, Subject
from bridge.domain.links import LinkKind
from bridge.engine.context import EngineContext
from bridge.service.runtime.wiring import engine_context, load_mappings
from bridge.store import Store
from bridge.store.audit import AuditEntry
from bridge.store.findings import FindingRow
from bridge.store.store import Tx

app = typer.Typer(help="Show a release, RFCs, a defect or an environment.", no_args_is_help=True)


@dataclass
class View:
    """What every view reads: the store (what the worker stored) and the engine's context."""

    store: Store
    context: EngineContext
    console: Console


@contextmanager
def _view(config: ConfigOption) -> Iterator[View]:
    settings = settings_or_exit(config)
    context = engine_context(settings, load_mappings())
    store = Store.from_settings(settings.database)
    try:
        yield View(store, context, Console(width=120))
    finally:
        store.close()


def _when(moment: datetime | None) -> str:
    return "—" if moment is None else moment.strftime("%Y-%m-%d %H:%M")


def _findings(view: View, rows: list[FindingRow]) -> None:
    if not rows:
        view.console.print("Findings: none")
        return
    table = Table(title="Findings", title_justify="left")
    for column in ("severity", "code", "message"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(row.severity.value, row.code, escape(row.message))
    view.console.print(table)


def _audit(view: View, entries: list[AuditEntry]) -> None:
    view.console.print("Changes made by the bridge:" + ("" if entries else " none"))
    for entry in entries:
        line = f"  {_when(entry.at)} {entry.system.value}: {entry.change} — {entry.reason}"
        view.console.print(line, markup=False, highlight=False, soft_wrap=True)


def _missing(what: str) -> None:
    typer.echo(
        f"error: {what} is not known to the bridge (has it been polled? try `bridge backfill`)", err=True
    )
    raise typer.Exit(1)


@app.command("release")
def show_release(
    component: Annotated[str, typer.Argument(help="Component, e.g. dip-platform.")],
    version: Annotated[str, typer.Argument(help="Version, e.g. 1.0.2.0.")],
    config: ConfigOption = None,
) -> None:
    """A release: its tag and note, linked RFCs and defects, environments, control points, findings."""
    with _view(config) as view, view.store.transaction(readonly=True) as tx:
        records = tx.releases.of(component, version)
        if not records:
            _missing(f"release {component} {version}")
        release = ReleaseKey(component, version)
        key = str(release)
        out = view.console
        for record in records:
            out.print(f"[bold]{component} {version}[/] ({record.release_type or 'type unknown'} release)")
            out.print(f"  tag {record.tag} in {record.project}, published {_when(record.published_at)}")
            if record.web_url:
                out.print(f"  {record.web_url}")
            missing = (record.parsed_note or {}).get("missing") or []
            out.print(f"  note from the {record.note_source}; missing items: {', '.join(missing) or 'none'}")
        environments = tx.ledger.environments(component, version)
        out.print(f"Deployed now in: {', '.join(environments) or 'no environment'}")
        _release_rfcs(view, tx, key)
        _release_defects(view, tx, key)
        _control_points(view, tx, key)
        _findings(view, tx.findings.list(str(Subject.release(release))))


def _release_rfcs(view: View, tx: Tx, key: str) -> None:
    links = tx.links.list(kind=LinkKind.RELEASE_RFC, left=key)
    table = Table(title="RFCs", title_justify="left")
    for column in ("RFC", "state", "why linked"):
        table.add_column(column, overflow="fold")
    for link in links:
        record = tx.rfcs.by_number(link.right)
        table.add_row(link.right, record.state if record else "not read yet", escape(link.evidence))
    view.console.print(table if links else "RFCs: none linked")


def _release_defects(view: View, tx: Tx, key: str) -> None:
    kinds = {LinkKind.DEFECT_FIXED: "fixed", LinkKind.DEFECT_OUTSTANDING: "outstanding"}
    rows = [(label, link) for kind, label in kinds.items() for link in tx.links.list(kind=kind, left=key)]
    if not rows:
        view.console.print("Defects: none listed")
        return
    held = {
        d.id: d for d in tx.defects.get_many([int(link.right) for _, link in rows if link.right.isdigit()])
    }
    table = Table(title="Defects", title_justify="left")
    for column in ("defect", "listed as", "state in ADO", "title"):
        table.add_column(column, overflow="fold")
    for label, link in rows:
        defect = held.get(int(link.right)) if link.right.isdigit() else None
        table.add_row(
            link.right,
            label,
            defect.state if defect else "not read yet",
            escape(defect.title) if defect else "",
        )
    view.console.print(table)


def _control_points(view: View, tx: Tx, key: str) -> None:
    points = tx.control_points.of([key]).get(key)
    if not points:
        view.console.print("Control points: not evaluated yet (the service has not judged the release)")
        return
    table = Table(title="Control points", title_justify="left")
    for column in ("point", "name", "status", "evidence"):
        table.add_column(column, overflow="fold")
    for point in points:
        table.add_row(point.number, point.name, point.status, escape(point.evidence))
    view.console.print(table)


@app.command("rfc")
def show_rfc(
    numbers: Annotated[list[str], typer.Argument(help="RFC numbers, e.g. CHG0031245.", show_default=False)],
    config: ConfigOption = None,
) -> None:
    """RFCs: state, linked releases, deployments they made, findings and the bridge's changes."""
    with _view(config) as view, view.store.transaction(readonly=True) as tx:
        for number in numbers:
            record = tx.rfcs.by_number(number.upper())
            if record is None:
                _missing(f"RFC {number}")
                return
            out = view.console
            fields = record.fields
            out.print(f"[bold]{record.number}[/] — {escape(str(fields.get('short_description') or ''))}")
            out.print(
                f"  state {record.state} (revision {record.mod_count}, updated {_when(record.updated_at)}),"
                f" approval {fields.get('approval') or '—'}, environment {fields.get('environment') or '—'}"
            )
            if fields.get("close_code"):
                out.print(f"  closed {fields['close_code']}: {escape(str(fields.get('close_notes') or ''))}")
            links = tx.links.list(kind=LinkKind.RELEASE_RFC, right=record.number)
            releases = ", ".join(f"{ReleaseKey.parse(link.left).label} ({link.evidence})" for link in links)
            out.print(f"Releases: {escape(releases) or 'none linked'}")
            stays = [e for e in tx.ledger.list() if e.rfc_number == record.number]
            for stay in stays:
                until = "now" if stay.deployed_to is None else _when(stay.deployed_to)
                undone = " (rolled back)" if stay.rolled_back else ""
                out.print(
                    f"Deployed {stay.component} {stay.version} to {stay.environment}"
                    f" from {_when(stay.deployed_from)} to {until}{undone}"
                )
            if not stays:
                out.print("Deployments: none")
            _findings(view, tx.findings.list(str(Subject.rfc(record.number))))
            _audit(view, tx.audit.list(record=str(Subject.rfc(record.number))))


@app.command("defect")
def show_defect(
    defect_id: Annotated[int, typer.Argument(metavar="ID", help="ADO work item id.")],
    config: ConfigOption = None,
) -> None:
    """A defect: its state, the releases that list it, moves planned and made, findings."""
    with _view(config) as view, view.store.transaction(readonly=True) as tx:
        record = tx.defects.get(defect_id)
        if record is None:
            _missing(f"defect {defect_id}")
            return
        out = view.console
        out.print(f"[bold]Defect {record.id}[/] — {escape(record.title)}")
        out.print(
            f"  state {record.state}, severity {record.severity or '—'} (as last read: revision {record.rev},"
            f" changed {_when(record.changed_at)} by {record.changed_by or '—'})"
        )
        for kind, label in (
            (LinkKind.DEFECT_FIXED, "Fixed in"),
            (LinkKind.DEFECT_OUTSTANDING, "Outstanding in"),
        ):
            links = tx.links.list(kind=kind, right=str(record.id))
            out.print(f"{label}: {', '.join(ReleaseKey.parse(link.left).label for link in links) or 'none'}")
        for row in tx.outbox.moves_of([record.id]):
            move = row.action()
            if isinstance(move, MoveDefect):
                out.print(f"Move {move.from_state} → {move.to_state} ({move.reason}): {row.status.value}")
        _findings(view, tx.findings.list(str(Subject.defect(record.id))))
        _audit(view, tx.audit.list(record=str(Subject.defect(record.id))))


@app.command("environment")
def show_environment(
    name: Annotated[str, typer.Argument(help="Environment name or alias, e.g. SIT-A.")],
    config: ConfigOption = None,
) -> None:
    """An environment: the version of each component deployed now, and every earlier one."""
    with _view(config) as view, view.store.transaction(readonly=True) as tx:
        environment = view.context.environments.canonical(name)
        current = tx.ledger.deployed(environment)
        out = view.console
        out.print(f"[bold]{environment}[/]")
        if not current:
            out.print("Nothing deployed, as far as the bridge knows.")
            return
        table = Table(title="Deployed now", title_justify="left")
        for column in ("component", "version", "RFC", "since"):
            table.add_column(column)
        for row in current:
            table.add_row(row.component, row.version, row.rfc_number or "—", _when(row.deployed_from))
        out.print(table)
        history = Table(title="History", title_justify="left")
        for column in ("component", "version", "RFC", "from", "to", "note"):
            history.add_column(column)
        for row in current:
            for stay in tx.ledger.history(environment, row.component):
                note = "rolled back" if stay.rolled_back else ("current" if stay.current else "")
                history.add_row(
                    stay.component,
                    stay.version,
                    stay.rfc_number or "—",
                    _when(stay.deployed_from),
                    "—" if stay.deployed_to is None else _when(stay.deployed_to),
                    note,
                )
        out.print(history)
