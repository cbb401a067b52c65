"""`bridge notes ...`: parse and check release notes."""

from __future__ import annotations

import typer

app = typer.Typer(help="Parse and check release notes.", no_args_is_help=True)
