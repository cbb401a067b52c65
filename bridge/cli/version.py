"""`bridge version ...`: check a version against the programme's naming rules."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from bridge.versions import Version, VersionError, check_successor

app = typer.Typer(help="Check the programme's 4-part release versions.", no_args_is_help=True)


@app.command("check")
def check(
    new: Annotated[str, typer.Argument(help="The new version, e.g. 1.0.2.0.", show_default=False)],
    after: Annotated[
        list[str] | None,
        typer.Option("--after", help="A version already released (repeat for several).", show_default=False),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the verdict as JSON.")] = False,
) -> None:
    """Say the release type of NEW and whether it validly follows the released versions.

    Exit 0 when valid, 1 when not, 2 when a version cannot be read.
    """
    try:
        version = Version.parse(new)
        released = [Version.parse(text) for text in after or []]
    except VersionError as exc:
        if as_json:
            typer.echo(json.dumps({"version": new, "valid": False, "error": str(exc)}))
        else:
            typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    verdict = check_successor(version, released)
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "version": str(verdict.version),
                    "release_type": verdict.release_type.value if verdict.release_type else None,
                    "previous": str(verdict.previous) if verdict.previous else None,
                    "valid": verdict.valid,
                    "problems": list(verdict.problems),
                }
            )
        )
    else:
        kind = verdict.release_type.value if verdict.release_type else "unknown"
        after_text = f" after {verdict.previous}" if verdict.previous else " (first release)"
        if verdict.valid:
            typer.echo(f"{verdict.version}: valid {kind} release{after_text}")
        else:
            typer.echo(f"{verdict.version}: not valid ({kind} release{after_text})")
            for problem in verdict.problems:
                typer.echo(f"  - {problem}")
    raise typer.Exit(0 if verdict.valid else 1)
