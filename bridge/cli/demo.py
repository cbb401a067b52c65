"""`bridge demo`: the sandbox and the service, a scripted release played through them, and what moved."""

from __future__ import annotations

import os
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from bridge.release_notes import parse_release_note
from bridge.sandbox.demo import (
    COMPONENT,
    DEFAULT_BRIDGE_PORT,
    ENVIRONMENT,
    TAG,
    VERSION,
    Account,
    DemoStack,
    play,
)

SAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "samples" / "release-notes"


def demo(
    work_dir: Annotated[
        Path, typer.Option(help="Where the demo keeps its database and configuration.")
    ] = Path("var/demo"),
    samples: Annotated[
        Path, typer.Option(help="Release notes to check first (skipped when absent).")
    ] = SAMPLES,
    port: Annotated[
        int, typer.Option(help="Port for the bridge (a free one when taken; 0 for any free port).")
    ] = DEFAULT_BRIDGE_PORT,
    free_ports: Annotated[
        bool, typer.Option("--free-ports", help="Put the bridge and the sandbox on free ports.")
    ] = False,
    serve: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Keep serving after the script until Ctrl-C.")
    ] = True,
) -> None:
    """Play a release through the sandbox and the running bridge, show what moved, then keep serving."""
    console = Console(highlight=False, width=None if sys.stdout.isatty() else 120)
    if samples.is_dir():
        _check_samples(console, samples)
    # The ADO client keeps a location cache per organisation URL; a sandbox's is new each run.
    os.environ.setdefault("AZURE_DEVOPS_CACHE_DIR", tempfile.mkdtemp(prefix="bridge-demo-ado-"))
    console.rule("[bold]The sandbox and the bridge")
    began = time.monotonic()
    stack = DemoStack(work_dir, bridge_port=port, free_ports=free_ports)
    try:
        stack.start()
        console.print(f"bridge {stack.bridge_url} on {work_dir / 'bridge.db'}, webhooks from the sandbox")
        console.print(f"The bridge's log: {stack.log_path} (warnings and errors also here).")
        stack.wait_until_read()
        _show_programme(console, stack)
        console.rule(f"[bold]Release {COMPONENT} {VERSION}, deployed to {ENVIRONMENT}")
        result = play(stack, on_step=lambda step: console.print(f"  {step}"))
        _show_account(console, result)
        console.print(f"Scripted part: {time.monotonic() - began:.1f} s from start.")
        console.print(f"What the bridge logged meanwhile: {stack.log_path}")
        if not result.complete:
            console.print("[red]The bridge had not finished within the time allowed.[/red]")
            raise typer.Exit(1)
        if serve:
            _serve(console, stack)
    finally:
        stack.stop()


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


def _show_programme(console: Console, stack: DemoStack) -> None:
    assert stack.service is not None
    with stack.service.processor.store.transaction(readonly=True) as tx:
        releases, rfcs, defects = tx.releases.count(), tx.rfcs.count(), tx.defects.count()
    console.print(f"The bridge has read the programme: {releases} releases, {rfcs} RFCs, {defects} defects.")
    number, field, stored, table, read = stack.environment_reference()
    if table:
        console.print(
            f"RFC environments are references to {table} records: {number}'s {field} holds {stored}; "
            f"the bridge read its display value, {read or 'nothing'}.",
            markup=False,
        )


def _show_account(console: Console, result: Account) -> None:
    console.print(f"The bridge had done its part {result.seconds:.1f} s after the RFC reached Review.")
    links = ", ".join(result.rfc_links) or "none"
    console.print(f"[bold]RFC linked[/bold] to {TAG}: {links}")
    moved = [d for d in result.defects if d.moved]
    console.print(f"[bold]Defects moved to Ready for Retest[/bold] ({len(moved)}):")
    for defect in moved:
        console.print(f"  {defect.id} {defect.title}: now {defect.state}", markup=False)
    if moved:
        console.print(f"  comment on {moved[0].id}: {moved[0].comment}", markup=False)
    left = [d for d in result.defects if not d.moved]
    console.print(f"[bold]Defects left alone[/bold] ({len(left)}):")
    for message in result.left_alone or [f"{d.id} is {d.state}" for d in left]:
        console.print(f"  {message}", markup=False)
    console.print(f"[bold]Work note on {result.rfc_number}[/bold]:")
    console.print(result.work_note or "(none yet)", markup=False)
    version = result.environment_version or "unknown"
    console.print(
        f"[bold]{ENVIRONMENT}[/bold] runs {COMPONENT} {version}"
        + (f" (under {result.environment_rfc})" if result.environment_rfc else "")
    )
    if result.findings:
        console.print(f"[bold]Findings on this release[/bold] ({len(result.findings)}):")
        for finding in result.findings:
            console.print(f"  {finding}", markup=False)


def _serve(console: Console, stack: DemoStack) -> None:
    console.rule("[bold]Serving")
    for name, url in stack.urls().items():
        console.print(f"{name:14} {url}")
    console.print(f"{'bridge log':14} {stack.log_path}")
    console.print("Ctrl-C stops the bridge and the sandbox.")
    stopped = threading.Event()
    # SIGTERM too, and SIGINT even where a shell started the demo with it ignored.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopped.set())
    stopped.wait()
    console.print("Stopping.")
