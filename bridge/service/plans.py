"""The newest plan for readers (the pages, the read API, the report), wherever the processing runs.

A reader that does not process (the HTTP process beside a worker process, `bridge report`) folds the
journal itself, incrementally, and plans again when something new was recorded or the plan has aged
(control points depend on the time of day). Nothing is stored or sent.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime

from bridge.engine.context import EngineContext
from bridge.engine.reconcile import Plan, plan
from bridge.engine.state import ProgrammeState
from bridge.service.processor import Processor
from bridge.store import Store

REPLAN_AFTER_S = 30.0  # a plan older than this is made again even when nothing new was recorded


class JournalPlan:
    """A programme state kept up to date from the journal, and the newest plan made from it."""

    def __init__(self, store: Store, context: EngineContext) -> None:
        self.store = store
        self.context = context
        self.state = ProgrammeState()
        self.last_id = 0
        self._plan: Plan | None = None
        self._made_at = 0.0
        self._lock = threading.Lock()

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

    def current(self) -> ProgrammeState:
        """The state folded from everything recorded so far."""
        with self._lock:
            self.catch_up()
            return self.state

    def newest(self, now: datetime) -> Plan:
        """The plan on everything recorded so far; the previous one while nothing is new and it is fresh."""
        with self._lock:
            fresh = self.catch_up() > 0
            if fresh or self._plan is None or time.monotonic() - self._made_at > REPLAN_AFTER_S:
                self._plan = plan(self.state, self.context, now)
                self._made_at = time.monotonic()
            return self._plan


def plan_from_journal(store: Store, context: EngineContext, now: datetime) -> Plan:
    """The engine's plan folded from every journal revision; nothing is stored or sent."""
    return JournalPlan(store, context).newest(now)


def newest_plan(processor: Processor) -> Plan:
    """The processor's newest plan; before its first one, a plan folded from the journal (read only)."""
    return processor.last_plan or plan_from_journal(processor.store, processor.context, processor.clock())
