"""`bridge notes ...`: parse and check release notes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from bridge.mappings import MappingError
from bridge.release_notes import (
    FindingCode,
    FindingSeverity,
    ReleaseNote,
    Vocabulary,
    load_vocabulary,
    parse_release_note,
)

app = typer.Typer(help="Parse and check release notes.", no_args_is_help=True)

NOTE_SUFFIXES = (".md", ".markdown")
_SEVERITY_STYLES = {
    FindingSeverity.ERROR: "bold red",
    FindingSeverity.WARNING: "yellow",
    FindingSeverity.INFO: "dim",
}


class NoteReadError(Exception):
    """A release note file (or stdin) cannot be read."""


def read_note(source: str) -> str:
    """The text of a note file, or of stdin for `-`; undecodable bytes become U+FFFD, not an error."""
    try:
        data = typer.get_binary_stream("stdin").read() if source == "-" else Path(source).read_bytes()
    except OSError as exc:
        raise NoteReadError(f"cannot read {source}: {exc.strerror or exc}") from exc
    return data.decode("utf-8-sig", errors="replace")


def _vocabulary() -> Vocabulary:
    try:
        return load_vocabulary()
    except MappingError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc


@app.command("parse")
def parse(
    file: Annotated[str, typer.Argument(help="The note (Markdown); - reads stdin.", show_default=False)],
    as_json: Annotated[bool, typer.Option("--json", help="Print what was read as JSON.")] = False,
    component: Annotated[
        str | None,
        typer.Option("--component", help="The component, e.g. dip-platform, to check the tag against."),
    ] = None,
) -> None:
    """Read a release note: version, type, tag, RFCs, defects, change requests, missing items, findings.

    Exit 0 when the note was read (missing items and findings are a report, not a failure), 2 when
    the file cannot be read.
    """
    vocabulary = _vocabulary()
    try:
        text = read_note(file)
    except NoteReadError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    note = parse_release_note(text, component=component, vocabulary=vocabulary)
    if as_json:
        typer.echo(json.dumps(note.to_json(), ensure_ascii=False, indent=2))
        return
    show_note(note, "stdin" if file == "-" else file, Console(highlight=False))


@app.command("check")
def check(
    paths: Annotated[
        list[Path],
        typer.Argument(help="Note files, or folders of *.md notes.", show_default=False),
    ],
    component: Annotated[
        str | None,
        typer.Option("--component", help="The component, to check every note's tag against."),
    ] = None,
    strict: Annotated[
        bool, typer.Option("--strict", help="Exit 1 if any note has an error finding.")
    ] = False,
) -> None:
    """One line per note: version, type, defects fixed and outstanding, missing items, findings.

    Exit 0 when every note was read (1 with --strict when a note has errors), 2 when one cannot be read.
    """
    vocabulary = _vocabulary()
    unreadable = False
    with_errors = False
    for path in _note_files(paths):
        try:
            text = read_note(str(path))
        except NoteReadError as exc:
            typer.echo(f"error: {exc}", err=True)
            unreadable = True
            continue
        note = parse_release_note(text, component=component, vocabulary=vocabulary)
        with_errors = with_errors or bool(note.errors)
        typer.echo(verdict_line(note, path.name))
    if unreadable:
        raise typer.Exit(2)
    if strict and with_errors:
        raise typer.Exit(1)


def _note_files(paths: list[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(
                sorted(p for p in path.iterdir() if p.suffix.lower() in NOTE_SUFFIXES and p.is_file())
            )
        else:
            files.append(path)  # a missing file is reported when it is read
    return files


def verdict_line(note: ReleaseNote, name: str) -> str:
    """`name: ok|incomplete|errors — version type, counts, missing items, findings` on one line."""
    errors = len(note.errors)
    warnings = sum(
        1
        for f in note.findings
        if f.severity is FindingSeverity.WARNING and f.code is not FindingCode.MISSING_ITEM
    )
    verdict = "errors" if errors else ("incomplete" if note.missing else "ok")
    version = str(note.version) if note.version else "no version"
    kind = str(note.release_type) if note.release_type else "unknown type"
    missing = ", ".join(note.missing) if note.missing else "none"
    return (
        f"{name}: {verdict} — {version} {kind}, {len(note.defects_fixed)} defects fixed, "
        f"{len(note.defects_outstanding)} outstanding, {len(note.change_requests)} CRs, "
        f"missing: {missing}; findings: {errors} errors, {warnings} warnings"
    )


def show_note(note: ReleaseNote, name: str, console: Console) -> None:
    """The note as a release manager reads it: the release, its lists, then what is wrong or missing."""
    facts = Table.grid(padding=(0, 2))
    facts.add_column(style="bold")
    facts.add_column()
    kind = str(note.release_type) if note.release_type else "unknown"
    if note.declared_release_type and note.declared_release_type != note.release_type:
        kind += f" (the note says {note.declared_release_type})"
    facts.add_row("Note", name)
    facts.add_row("Title", note.title or "-")
    facts.add_row("Version", str(note.version) if note.version else "not found")
    facts.add_row("Type", kind)
    facts.add_row("Tag", note.tag or "-")
    facts.add_row("RFCs", ", ".join(note.rfcs) or "-")
    console.print(facts)

    fixed = _table(f"Defects fixed ({len(note.defects_fixed)})", ("ID", "Severity", "Summary"))
    for defect in note.defects_fixed:
        fixed.add_row(str(defect.id), defect.severity or "-", defect.summary or "-")
    outstanding = _table(
        f"Outstanding defects ({len(note.defects_outstanding)})", ("ID", "Severity", "Summary", "Workaround")
    )
    for known in note.defects_outstanding:
        outstanding.add_row(
            str(known.id), known.severity or "-", known.summary or "-", known.workaround or "-"
        )
    changes = _table(f"Change requests ({len(note.change_requests)})", ("ID", "Title", "Summary"))
    for change in note.change_requests:
        changes.add_row(change.id, change.title or "-", change.summary or "-")
    for table, empty in (
        (fixed, "Defects fixed: none"),
        (outstanding, "Outstanding defects: none"),
        (changes, "Change requests: none"),
    ):
        console.print()
        console.print(table if table.row_count else Text(empty, style="bold"))

    console.print()
    if note.missing:
        console.print(Text("Missing: ", style="bold") + Text(", ".join(note.missing), style="yellow"))
    else:
        console.print(Text("Missing: ", style="bold") + Text("nothing; every required item is there"))
    listed = [f for f in note.findings if f.code is not FindingCode.MISSING_ITEM]
    if not listed:
        console.print(Text("Findings: ", style="bold") + Text("none"))
        return
    findings = _table(f"Findings ({len(listed)})", ("Line", "Severity", "Code", "Message"))
    for finding in listed:
        findings.add_row(
            str(finding.line) if finding.line is not None else "-",
            Text(str(finding.severity), style=_SEVERITY_STYLES[finding.severity]),
            finding.code,
            finding.message,
        )
    console.print(findings)


def _table(title: str, columns: tuple[str, ...]) -> Table:
    table = Table(title=title, title_justify="left", title_style="bold", box=box.SIMPLE_HEAD)
    for column in columns:
        table.add_column(column, overflow="fold")
    return table
