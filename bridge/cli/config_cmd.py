"""`bridge config ...`: the effective configuration."""

from __future__ import annotations

import typer

app = typer.Typer(help="Show the effective configuration.", no_args_is_help=True)
