"""`bridge demo`: the sandbox's programme read through the connectors and judged by the engine, dry run."""

from __future__ import annotations

import os
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import pysnow
import typer
from rich.console import Console
from rich.table import Table

from bridge.config import load_settings
from bridge.connector import Connector
from bridge.domain.actions import AddWorkNote, MoveDefect
from bridge.domain.events import DomainEvent, Source
from bridge.engine.reconcile import Plan, plan
from bridge.engine.state import ProgrammeState
from bridge.release_notes import parse_release_note
from bridge.sandbox.runner import Sandbox
from bridge.service.wiring import build_connectors, engine_context, load_mappings

SAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "samples" / "release-notes"


def demo(
    work_dir: Annotated[Path, typer.Option(help="Where the demo keeps its files.")] = Path("var/demo"),
    samples: Annotated[Path, typer.Option(help="Release notes to check first.")] = SAMPLES,
) -> None:
    """Show the bridge at work on the sandbox: what it reads, links, finds, and would move."""
    console = Console(highlight=False, width=None if sys.stdout.isatty() else 120)
    if samples.is_dir():
        _check_samples(console, samples)
    # The ADO client keeps a location cache per organisation URL; a sandbox's is new each run.
    os.environ.setdefault("AZURE_DEVOPS_CACHE_DIR", tempfile.mkdtemp(prefix="bridge-demo-ado-"))
    console.rule("[bold]The sandbox programme")
    with Sandbox(ports={"gitlab": 0, "servicenow": 0, "ado": 0}, work_dir=work_dir) as box:
        console.print(
            f"GitLab {box.url('gitlab')}, ServiceNow {box.url('servicenow')}, ADO {box.ado_organization_url}"
        )
        settings = load_settings(box.config_path)
        mappings = load_mappings()
        context = engine_context(settings, mappings)
        connectors = build_connectors(settings, mappings)
        state = ProgrammeState()
        cursors: dict[Source, str | None] = dict.fromkeys(connectors)
        for source, connector in connectors.items():
            events, cursors[source] = _read_all(connector, cursors[source])
            console.print(f"read {len(events):3d} records from {source.value} by polling")
            for event in events:
                state.apply(event)
        _show(console, plan(state, context, datetime.now(UTC)))

        number = box.seeded.rfcs["helix-1100"]
        console.rule(f"[bold]The release manager takes {number} (helix-settlement 1.1.0.0, SIT-B) to Review")
        _progress_rfc(box, number)
        for source, connector in connectors.items():
            events, cursors[source] = _read_all(connector, cursors[source])
            console.print(f"read {len(events):3d} changed records from {source.value}")
            for event in events:
                state.apply(event)
        result = plan(state, context, datetime.now(UTC))
        _show_moves(console, result)
        note = next(
            (a for a in result.actions if isinstance(a, AddWorkNote) and a.rfc_number == number), None
        )
        if note is not None:
            console.print(f"[bold]The work note for {number}[/bold]:")
            console.print(note.text, markup=False)
    console.rule()
    console.print("Dry run: nothing was written to the three systems. The sandbox has stopped.")


def _check_samples(console: Console, samples: Path) -> None:
    console.rule("[bold]Release notes checked against the approach")
    for path in sorted(samples.glob("*.md")):
        note = parse_release_note(path.read_text(encoding="utf-8"))
        missing = ", ".join(note.missing) or "nothing"
        console.print(
            f"{path.name}: {note.version} ({note.release_type}), "
            f"{len(note.defects_fixed)} fixed, {len(note.defects_outstanding)} outstanding, "
            f"RFCs {', '.join(note.rfcs) or 'none'}; missing {missing}"
        )


def _read_all(connector: Connector, cursor: str | None) -> tuple[list[DomainEvent], str | None]:
    events: list[DomainEvent] = []
    now = datetime.now(UTC)
    for _ in range(1000):
        page = connector.poll(cursor, now=now)
        events.extend(page.events)
        cursor = page.cursor
        if not page.more:
            break
    return events, cursor


def _progress_rfc(box: Sandbox, number: str) -> None:
    """Move an RFC on as a person would, through the Table API: Implement with a work note, then Review."""
    secrets = box.secrets
    client = pysnow.Client(
        host=box.url("servicenow").removeprefix("http://"),
        user=secrets.servicenow_user,
        password=secrets.servicenow_password,
        use_ssl=False,
    )
    changes = client.resource(api_path="/table/change_request")
    changes.update(
        query={"number": number}, payload={"state": "-1", "work_notes": "Deployment started; step 2 slow."}
    )
    changes.update(query={"number": number}, payload={"state": "0"})


def _show_moves(console: Console, result: Plan) -> None:
    moves = [a for a in result.actions if isinstance(a, MoveDefect)]
    console.print(f"[bold]Defects the bridge would move to Ready for Retest[/bold] ({len(moves)}):")
    for move in moves:
        console.print(f"  {move.defect_id}: {move.from_state} → {move.to_state}")
        console.print(f"     comment: {move.comment}", markup=False)
    left = [f for f in result.findings if f.code == "retest.left_alone"]
    for finding in left:
        console.print(f"  left alone: {finding.message}", markup=False)


def _show(console: Console, result: Plan) -> None:
    releases = Table(title="Releases", title_justify="left")
    for column in ("release", "type", "fixed", "outstanding", "note check", "RFCs"):
        releases.add_column(column)
    rfcs_of: dict[str, list[str]] = {}
    for link in result.links:
        if link.kind.value == "release-rfc":
            rfcs_of.setdefault(link.release, []).append(link.other)
    for release in result.releases:
        releases.add_row(
            f"{release.component} {release.version}",
            str(release.release_type),
            str(len(release.note.defects_fixed)),
            str(len(release.note.defects_outstanding)),
            "complete" if not release.note.missing else "missing " + ", ".join(release.note.missing),
            ", ".join(rfcs_of.get(release.key, [])) or "-",
        )
    console.print(releases)

    ledger = Table(title="Environments", title_justify="left")
    for column in ("environment", "component", "version", "RFC", "since", "until"):
        ledger.add_column(column)
    for entry in result.ledger:
        until = (
            "rolled back"
            if entry.undone
            else (f"{entry.deployed_to:%Y-%m-%d}" if entry.deployed_to else "now")
        )
        ledger.add_row(
            entry.environment,
            entry.component,
            str(entry.version),
            entry.rfc_number,
            f"{entry.deployed_from:%Y-%m-%d %H:%M}",
            until,
        )
    console.print(ledger)

    _show_moves(console, result)
    notes = [a for a in result.actions if isinstance(a, AddWorkNote)]
    console.print(f"[bold]RFC work notes the bridge would write[/bold]: {len(notes)}")
    others = [f for f in result.findings if f.code != "retest.left_alone"]
    console.print(f"[bold]Findings[/bold] ({len(others)}):")
    for finding in others:
        console.print(f"  [{finding.severity.value}] {finding.subject}: {finding.message}", markup=False)
