"""The `bridge` command's typer application; each command group lives in its own module."""

from __future__ import annotations

import typer
from sqlalchemy.exc import SQLAlchemyError

from bridge.cli import (
    backfill,
    config_cmd,
    db,
    demo,
    doctor,
    notes,
    outbox,
    reconcile,
    report,
    run,
    sandbox,
    show,
    version,
)
from bridge.config import mask_secrets

app = typer.Typer(
    name="bridge",
    help="Keep GitLab releases, ServiceNow RFCs and Azure DevOps defects in step.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(notes.app, name="notes")
app.add_typer(version.app, name="version")
app.add_typer(config_cmd.app, name="config")
app.command("run")(run.run)
app.command("sandbox")(sandbox.sandbox)
app.command("demo")(demo.demo)
app.command("reconcile")(reconcile.reconcile)
app.add_typer(db.app, name="db")
app.command("doctor")(doctor.doctor)
app.command("backfill")(backfill.backfill)
app.add_typer(show.app, name="show")
app.add_typer(outbox.app, name="outbox")
app.command("report")(report.report)


def run_app() -> None:
    """Run the application on the command line's arguments."""
    try:
        app()
    except SQLAlchemyError as exc:
        # One line that says what failed, with any address's password masked, rather than a traceback.
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        typer.echo(f"error: the database cannot be used: {mask_secrets(reason, ())}", err=True)
        raise SystemExit(1) from None
