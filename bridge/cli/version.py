"""`bridge version ...`: the programme's 4-part versions."""

from __future__ import annotations

import typer

app = typer.Typer(help="Check the programme's 4-part release versions.", no_args_is_help=True)
