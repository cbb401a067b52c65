"""The signals that stop the service, heard from the start of `bridge run`, before the service is loaded."""

from __future__ import annotations

import signal
import threading

# The signals that stop the service (a platform's stop, Ctrl-C).
STOP_SIGNALS = frozenset({signal.SIGTERM, signal.SIGINT})


def stop_requests(requested: threading.Event | None = None) -> threading.Event:
    """An event (`requested`, or a new one) that SIGTERM and SIGINT set from now on: a service still
    starting (reading its configuration, migrating) stops as soon as it can instead of dying by them."""
    requested = requested or threading.Event()
    for sig in STOP_SIGNALS:
        signal.signal(sig, lambda _signal, _frame: requested.set())
    return requested
