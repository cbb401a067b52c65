"""A heartbeat that renews a dispatcher's claims while their actions run, so a short lease is safe."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from sqlalchemy.exc import SQLAlchemyError

from bridge.store import Store

log = logging.getLogger(__name__)

# Renewed three times a lease: a renewal may be late or fail twice before another dispatcher could
# take the action over.
BEATS_PER_LEASE = 3


@contextmanager
def held(
    store: Store,
    action_ids: Collection[int],
    worker: str,
    lease: timedelta,
    clock: Callable[[], datetime],
) -> Iterator[None]:
    """Inside the block, the claims on `action_ids` are renewed every third of `lease` on a thread."""
    stop = threading.Event()
    interval = lease.total_seconds() / BEATS_PER_LEASE

    def beat() -> None:
        while not stop.wait(interval):
            try:
                with store.transaction() as tx:
                    tx.outbox.renew(action_ids, worker, now=clock())
            except SQLAlchemyError as exc:
                # The next beat tries again; should the store stay away, the lease runs out and another
                # dispatcher takes over, and this one's completion is then refused (never done twice).
                log.warning("claims of %s not renewed: %s", worker, type(exc).__name__)

    thread = threading.Thread(target=beat, name=f"lease-{worker}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
