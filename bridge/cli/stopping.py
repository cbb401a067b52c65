"""The stop SIGTERM or SIGINT asks for from the start of `bridge run`, kept apart so `main` stays light."""

from __future__ import annotations

import threading

# Set by SIGTERM or SIGINT from the start of `bridge run` (see bridge.service.runtime.stopping.stop_requests).
stop_requested = threading.Event()
