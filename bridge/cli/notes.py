"""`bridge notes ...`: parse and check release notes."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from bridge.cli import note_reports
from bridge.mappings import MappingError
from bridge.release_notes import (
    FindingCode,
    NoteFindingSeverity,
    ReleaseNote,
    Vocabulary,
    explain_release_note,
    load_vocabulary,
    parse_release_note,
)

app = typer.Typer(help="Parse and check release notes.", no_args_is_help=True)

NOTE_SUFFIXES = (".md", ".markdown")
_SEVERITY_STYLES = {
    NoteFindingSeverity.ERROR: "bold red",
    NoteFindingSeverity.WARNING: "yellow",
    NoteFindingSeverity.INFO: "dim",
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


class ReportFormat(StrEnum):
    """How `bridge notes check` reports."""

    TEXT = "text"  # one verdict line per note
    CODEQUALITY = "codequality"  # GitLab Code Quality JSON, for the merge request widget
    JUNIT = "junit"  # JUnit XML, for any CI


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
    report: Annotated[
        ReportFormat, typer.Option("--format", help="text, codequality (GitLab) or junit.")
    ] = ReportFormat.TEXT,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the report here instead of stdout.")
    ] = None,
) -> None:
    """Check notes before publishing: every required item there, and no finding about their content.

    Exit 0 when every note is clean, 1 when a note has a missing item or a finding, 2 when a note
    cannot be read (the others are still reported).
    """
    vocabulary = _vocabulary()
    unreadable = False
    checked: list[tuple[str, ReleaseNote]] = []
    for path in _note_files(paths):
        try:
            text = read_note(str(path))
        except NoteReadError as exc:
            typer.echo(f"error: {exc}", err=True)
            unreadable = True
            continue
        checked.append(
            (path.as_posix(), parse_release_note(text, component=component, vocabulary=vocabulary))
        )
    if report is ReportFormat.CODEQUALITY:
        written = json.dumps(note_reports.code_quality(checked), ensure_ascii=False, indent=2) + "\n"
    elif report is ReportFormat.JUNIT:
        written = note_reports.junit(checked, vocabulary)
    else:
        written = "".join(verdict_line(note, Path(path).name) + "\n" for path, note in checked)
    if output is not None:
        output.write_text(written, encoding="utf-8")
    else:
        typer.echo(written, nl=False)
    if unreadable:
        raise typer.Exit(2)
    if any(note.findings for _, note in checked):
        raise typer.Exit(1)


@app.command("explain")
def explain(
    file: Annotated[str, typer.Argument(help="The note (Markdown); - reads stdin.", show_default=False)],
    component: Annotated[
        str | None,
        typer.Option("--component", help="The component, e.g. dip-platform, to check the tag against."),
    ] = None,
) -> None:
    """Each line of a note with how it was read: section, item, defect and as what, and its findings.

    Exit 0 when the note was read, 2 when it cannot be.
    """
    vocabulary = _vocabulary()
    try:
        text = read_note(file)
    except NoteReadError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    note, readings = explain_release_note(text, component=component, vocabulary=vocabulary)
    by_line: dict[int, list[str]] = {}
    for line, reading in readings:
        by_line.setdefault(line, []).append(reading)
    for finding in note.findings:
        if finding.line is not None:
            by_line.setdefault(finding.line, []).append(f"finding [{finding.severity}] {finding.message}")
    console = Console(highlight=False, soft_wrap=True)
    source = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    width = len(str(len(source)))
    for number, content in enumerate(source, start=1):
        if not content.strip() and number not in by_line:
            continue
        console.print(Text(f"{number:>{width}} | ", style="dim") + Text(content))
        for reading in by_line.get(number, []):
            style = "yellow" if reading.startswith("finding") or "unclassified" in reading else "cyan"
            console.print(Text(" " * width + "   -> ", style="dim") + Text(reading, style=style))
    console.print()
    console.print(
        Text("Summary: ", style="bold") + Text(verdict_line(note, "stdin" if file == "-" else file))
    )


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
    """`name: ok|warnings|incomplete|errors — version type, counts, missing items, findings` on one line."""
    errors = len(note.errors)
    warnings = sum(
        1
        for f in note.findings
        if f.severity is NoteFindingSeverity.WARNING and f.code is not FindingCode.MISSING_ITEM
    )
    verdict = "errors" if errors else ("incomplete" if note.missing else ("warnings" if warnings else "ok"))
    version = str(note.version) if note.version else "no version"
    kind = str(note.release_type) if note.release_type else "unknown type"
    missing = ", ".join(note.missing) if note.missing else "none"
    return (
        f"{name}: {verdict} — {version} {kind}, {len(note.defects_fixed)} defects fixed, "
        f"{len(note.defects_outstanding)} outstanding, {len(note.defects_unclassified)} unclassified, "
        f"{len(note.change_requests)} CRs, "
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
    unclassified = _table(
        "Defects unclassified: the note says neither fixed nor outstanding; never moved"
        f" ({len(note.defects_unclassified)})",
        ("Line", "ID", "Severity", "Summary", "Under"),
    )
    for unknown in note.defects_unclassified:
        unclassified.add_row(
            str(unknown.line or "-"),
            str(unknown.id),
            unknown.severity or "-",
            unknown.summary or "-",
            unknown.place or "-",
        )
    changes = _table(f"Change requests ({len(note.change_requests)})", ("ID", "Title", "Summary"))
    for change in note.change_requests:
        changes.add_row(change.id, change.title or "-", change.summary or "-")
    for table, empty in (
        (fixed, "Defects fixed: none"),
        (outstanding, "Outstanding defects: none"),
        (unclassified, ""),
        (changes, "Change requests: none"),
    ):
        if not empty and not table.row_count:
            continue
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
