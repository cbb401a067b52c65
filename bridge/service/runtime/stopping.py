"""The signals that stop the service, heard from the start of `bridge run`, before the service is loaded."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

# The signals that stop the service (a platform's stop, Ctrl-C).
STOP_SIGNALS = frozenset({signal.SIGTERM, signal.SIGINT})


def stop_requests(requested: threading.Event | None = None) -> threading.Event:
    """An event (`requested`, or a new one) that SIGTERM and SIGINT set from now on: a service still
    starting (reading its configuration, migrating) stops as soon as it can instead of dying by them."""
    requested = requested or threading.Event()
    for sig in STOP_SIGNALS:
        signal.signal(sig, lambda _signal, _frame: requested.set())
    return requested


@contextmanager
def signals_handled(requested: threading.Event) -> Iterator[None]:
    """Around uvicorn's run: a stop signal sets `requested`, and the one that stopped uvicorn is spent
    here instead of ending the process."""
    # Uvicorn raises the signal that stopped it again once it has shut down, which would end the
    # process by that signal (-15) after a clean drain; with a handler of ours in place instead of
    # the default, that signal is spent here and the service exits with its own status.
    previous = {sig: signal.signal(sig, lambda _signal, _frame: requested.set()) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
