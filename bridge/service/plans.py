"""The newest plan for readers (the pages, the read API, the report), wherever the processing runs.

When the processing runs in this process, its processor's own plan is the newest. When it runs in
another (or in another replica), the reader folds the journal itself, incrementally, and plans again
when something new was recorded or the plan has aged (control points depend on the time of day).
Nothing is stored or sent.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime
from weakref import WeakKeyDictionary

from bridge.engine.context import EngineContext
from bridge.engine.reconcile import Plan, plan
from bridge.engine.state import ProgrammeState
from bridge.service.processor import Processor
from bridge.store import Store

REPLAN_AFTER_S = 30.0  # a plan older than this is made again even when nothing new was recorded


def plan_from_journal(store: Store, context: EngineContext, now: datetime) -> Plan:
    """The engine's plan folded from every journal revision; nothing is stored or sent."""
    return JournalPlan(store, context).plan(now)


class JournalPlan:
    """A programme state kept up to date from the journal, and the plan made from it."""

    def __init__(self, store: Store, context: EngineContext) -> None:
        self.store = store
        self.context = context
        self.state = ProgrammeState()
        self.last_id = 0

    def catch_up(self) -> int:
        """Fold the journal rows recorded since the last call; returns how many there were."""
        applied = 0
        while True:
            with self.store.transaction(readonly=True) as tx:
                rows = tx.journal_after(self.last_id)
            if not rows:
                return applied
            for row_id, event in rows:
                self.state.apply(event)
                self.last_id = row_id
            applied += len(rows)

    def plan(self, now: datetime) -> Plan:
        self.catch_up()
        return plan(self.state, self.context, now)


class _Reader:
    def __init__(self, processor: Processor) -> None:
        self.processor = processor
        self.journal = JournalPlan(processor.store, processor.context)
        self.lock = threading.Lock()
        self.cached: Plan | None = None
        self.made_at = 0.0

    def newest(self) -> Plan:
        own = self.processor.last_plan
        if own is not None:
            return own
        with self.lock:
            fresh = self.journal.catch_up() > 0
            if fresh or self.cached is None or time.monotonic() - self.made_at > REPLAN_AFTER_S:
                self.cached = plan(self.journal.state, self.journal.context, self.processor.clock())
                self.made_at = time.monotonic()
            return self.cached


_readers: WeakKeyDictionary[Processor, _Reader] = WeakKeyDictionary()
_readers_lock = threading.Lock()


def newest_plan(processor: Processor) -> Plan:
    """The newest plan on what the journal holds: the processor's own, or one folded for readers."""
    with _readers_lock:
        reader = _readers.get(processor)
        if reader is None:
            reader = _readers[processor] = _Reader(processor)
    return reader.newest()
