"""The `bridge` command: `main` is the console entry point; the application is in `bridge.cli.commands`.

This module stays light: the commands take a few seconds to import, and `bridge run` must hear a
SIGTERM sent in that time and stop cleanly once it can, not die by the signal's default.
"""

from __future__ import annotations

import signal
import sys
import threading
from typing import Any

# Set by SIGTERM or SIGINT from the start of `bridge run` (see bridge.service.stopping).
stop_requested = threading.Event()


def main() -> None:
    """Console entry point."""
    if sys.argv[1:2] == ["run"]:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda _signal, _frame: stop_requested.set())
    from bridge.cli.commands import run_app

    run_app()


def __getattr__(name: str) -> Any:
    # `from bridge.cli import app` (tests, tools) still finds the application, imported when asked for.
    if name == "app":
        from bridge.cli.commands import app

        return app
    raise AttributeError(name)
