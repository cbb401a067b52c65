"""The processor: what the systems say goes into the inbox, through re-reads into the journal, and the
journal's fold through the engine into stored links, ledger, findings and outbox actions; dispatching
carries the actions out and feeds their results back.

Every step is idempotent, so any of them may be repeated after a crash: the inbox and the journal
hold each delivery and each revision once, the outbox each action once, and the writers check what is
already true before they write.
"""

from __future__ import annotations

import gc
import logging
import os
import socket
import threading
import time
import zlib
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from bridge.connector import ActionOutcome, Connector, OutcomeStatus
from bridge.domain.actions import AddWorkNote, MoveDefect, SetCorrelation
from bridge.domain.codec import CodecError, decode_event, encode_event
from bridge.domain.events import (
    ChangeUpdated,
    DefectUpdated,
    DomainEvent,
    RecordRef,
    Source,
)
from bridge.domain.findings import Finding
from bridge.domain.fixes import Fix
from bridge.domain.links import LinkKind
from bridge.engine.carry_forward import CarryForward
from bridge.engine.context import EngineContext
from bridge.engine.control_points import ControlPoint
from bridge.engine.deployments import LedgerEntry
from bridge.engine.incremental import PlanChanges, Planner
from bridge.engine.reconcile import Plan
from bridge.engine.state import ProgrammeState
from bridge.errors import BridgeError, TransientError
from bridge.service.worker.leases import held
from bridge.service.worker.snapshots import FORMAT as SNAPSHOT_FORMAT
from bridge.service.worker.snapshots import decode_state, encode_state
from bridge.store import Store
from bridge.store.audit import AuditLine
from bridge.store.decisions import PointRow, VerdictRow
from bridge.store.inbox import Delivery, InboxKind, InboxRow
from bridge.store.journal import journal_identity
from bridge.store.ledger import DeploymentEntry
from bridge.store.outbox import DEFAULT_LEASE, DRY_RUN, Completion, completion_for
from bridge.store.records import ReleaseRecord, defect_record, rfc_record
from bridge.store.store import Tx

log = logging.getLogger(__name__)

CURSOR_SCOPE = "default"
# Kinds of action the newest plan decides afresh each time; one it no longer wants is skipped.
SUPERSEDED_KINDS = (MoveDefect.kind, AddWorkNote.kind, SetCorrelation.kind)


def utc_now() -> datetime:
    return datetime.now(UTC)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True)
class PollOutcome:
    source: Source
    pages: int
    events: int
    new: int
    ran: bool  # False when another replica holds this source's poll


class ProcessorObserver:
    """Told what the processor does, for metrics and logs; override the hooks you need (each does nothing)."""

    def polled(self, source: Source, seconds: float, outcome: PollOutcome | None) -> None:
        """A poll ended: its outcome, or None when it failed."""

    def dispatched(self, target: Source, key: str, kind: str, status: OutcomeStatus, attempts: int) -> None:
        """An action was carried out (or not) with this outcome; `attempts` counts this attempt too."""

    @contextmanager
    def reading(self, row: InboxRow) -> Iterator[None]:
        """Around the reading of one inbox row (e.g. to log under its correlation id)."""
        yield


JOURNAL_PAGE = 10_000
# A snapshot of the engine's state every so many journal rows: a start replays at most that many.
SNAPSHOT_EVERY = 10_000

# Small enough that a webhook waiting for SQLite's write lock waits milliseconds, not a second.
WRITES_PER_TRANSACTION = 50
SQLITE_INBOX_BATCH = 100
# Due actions claimed per dispatch when the connector does not say how many it takes at once.
DISPATCH_BATCH = 200


@dataclass(frozen=True)
class _Write:
    """One change to the stored plan: what kind, which record, and the value to store."""

    kind: str  # finding, resolve, link, unlink, release, place, points, verdicts, fixes, planned
    key: Any
    value: Any


def _mark(done: _Persisted, write: _Write, findings: Mapping[tuple[str, str, str], object]) -> None:
    """Remember a committed write, so the next plan stores only what differs again."""
    if write.kind == "finding":
        done.findings[write.key[1]].add(write.key)
    elif write.kind == "resolve":
        held = done.findings.get(write.key, set())
        held -= {key for key in held if key not in findings}
    elif write.kind == "link":
        done.links.add(write.key)
    elif write.kind == "unlink":
        done.links.discard(write.key)
    elif write.kind == "release":
        done.releases.add(write.key)


@dataclass
class _Persisted:
    """What the last stored plan held, so the next store writes only what changed."""

    findings: defaultdict[str, set[tuple[str, str, str]]] = field(
        default_factory=lambda: defaultdict(set)
    )  # by subject
    links: set[tuple[str, str, str]] = field(default_factory=set)
    ledger: tuple[DeploymentEntry, ...] | None = None
    actions: set[str] = field(default_factory=set)
    releases: set[tuple[str, str, str]] = field(default_factory=set)


class Processor:
    """Intake, processing and dispatch for one process; any number of them share a PostgreSQL store."""

    def __init__(
        self,
        store: Store,
        connectors: Mapping[Source, Connector],
        context: EngineContext,
        *,
        clock: Callable[[], datetime] = utc_now,
        worker: str | None = None,
        dry_run: bool = False,
        lease: timedelta = DEFAULT_LEASE,
        snapshot_every: int = SNAPSHOT_EVERY,
        journal_retention: timedelta | None = None,
        freeze_heap: bool = False,
    ) -> None:
        self.store = store
        self.connectors = dict(connectors)
        self.context = context
        self.clock = clock
        self.worker = worker or worker_name()
        self.dry_run = dry_run
        self.lease = lease
        # Asked between poll pages; the service sets it to its draining flag.
        self.stopping: Callable[[], bool] = lambda: False
        self.planner = Planner(context)
        self.last_journal_id = 0
        self.snapshot_every = snapshot_every
        self.journal_retention = journal_retention
        self._snapshot_at = 0  # the journal row the newest snapshot holds
        self._planned = False  # whether the planner's plan has been stored once, whole
        # A process of its own (the service's worker) freezes its heap once the first plan is stored:
        # what start-up built (the state, the libraries) lives as long as the process, and a full
        # collection that walks it all again costs a pause of 0.1-0.3 s. Never in a shared process
        # (tests, embedding): frozen objects are not collected.
        self._freeze_heap = freeze_heap
        self._persisted: _Persisted | None = None
        self._lock = threading.RLock()
        self.observer = ProcessorObserver()

    @property
    def state(self) -> ProgrammeState:
        """Everything the journal told so far, folded (the planner's)."""
        return self.planner.state

    @property
    def last_plan(self) -> Plan | None:
        """The whole plan, once there is one (built on demand: the worker itself stores changes)."""
        return self.planner.plan() if self._planned else None

    # --- intake ----------------------------------------------------------------------------------

    def verify_webhook(self, source: Source, headers: Mapping[str, str], body: bytes) -> Delivery:
        """A webhook verified, as the inbox stores it; raises WebhookRejectedError."""
        delivery = self.connectors[source].parse_webhook(headers, body)
        payload = {
            "refs": [_encode_ref(ref) for ref in delivery.refs],
            "events": [encode_event(event) for event in delivery.events],
        }
        return Delivery(source, delivery.delivery_key, InboxKind.WEBHOOK, payload)

    def poll(self, source: Source, *, max_pages: int = 1000, cursor: str | None = None) -> PollOutcome:
        """Read what changed since the stored cursor, page by page, storing each page with its cursor.

        One replica at a time polls a source (an advisory lock on PostgreSQL). A `cursor` given starts
        from there instead (backfill).
        """
        started = time.perf_counter()
        try:
            outcome = self._poll(source, max_pages=max_pages, cursor=cursor)
        except BridgeError:
            self.observer.polled(source, time.perf_counter() - started, None)
            raise
        self.observer.polled(source, time.perf_counter() - started, outcome)
        return outcome

    def _poll(self, source: Source, *, max_pages: int, cursor: str | None) -> PollOutcome:
        connector = self.connectors[source]
        with self.store.advisory_lock(f"poll:{source.value}") as acquired:
            if not acquired:
                return PollOutcome(source, 0, 0, 0, ran=False)
            if cursor is None:
                with self.store.transaction(readonly=True) as tx:
                    cursor = tx.cursors.get(source, CURSOR_SCOPE)
            pages = events = new = 0
            try:
                for _ in range(max_pages):
                    page = connector.poll(cursor, now=self.clock())
                    pages += 1
                    with self.store.transaction() as tx:
                        puts = tx.inbox.put_many(
                            [
                                Delivery(source, _event_key(e), InboxKind.POLL, {"event": encode_event(e)})
                                for e in page.events
                            ]
                        )
                        new += sum(not put.duplicate for put in puts)
                        # The cursor advances only with the page it comes from.
                        tx.cursors.save(source, CURSOR_SCOPE, page.cursor)
                        tx.cursors.mark_polled(source, CURSOR_SCOPE)
                    events += len(page.events)
                    cursor = page.cursor
                    # Stopping between pages loses nothing: the stored cursor resumes after this one.
                    if not page.more or self.stopping():
                        break
            except BridgeError as exc:
                with self.store.transaction() as tx:
                    tx.cursors.mark_polled(source, CURSOR_SCOPE, error=str(exc))
                raise
        return PollOutcome(source, pages, events, new, ran=True)

    # --- processing ------------------------------------------------------------------------------

    def process_inbox(self, limit: int = 500) -> int:
        """Turn due inbox rows into journal revisions (re-reading what webhooks name); then replan."""
        handled = 0
        if self.store.is_postgres:
            # Rows stay locked while their records are re-read, so replicas never take the same row.
            with self.store.transaction() as tx:
                rows = tx.inbox.claim_due(limit, now=self.clock())
                events, done, failed = self._read_rows(rows)
                self._record(tx, events, done, failed)
                handled = len(rows)
        else:
            # SQLite has one writer: keep write transactions short (a smaller batch), and re-read
            # outside them.
            with self.store.transaction(readonly=True) as tx:
                rows = tx.inbox.claim_due(min(limit, SQLITE_INBOX_BATCH), now=self.clock())
            events, done, failed = self._read_rows(rows)
            with self.store.transaction() as tx:
                self._record(tx, events, done, failed)
            handled = len(rows)
        self.refresh()
        return handled

    def _read_rows(
        self, rows: Sequence[InboxRow]
    ) -> tuple[list[DomainEvent], list[int], list[tuple[int, str, bool]]]:
        events: list[DomainEvent] = []
        done: list[int] = []
        failed: list[tuple[int, str, bool]] = []  # (row, error, transient)
        for row in rows:
            with self.observer.reading(row):
                try:
                    events.extend(self._events_of(row))
                    done.append(row.id)
                except TransientError as exc:
                    failed.append((row.id, str(exc), True))
                except (BridgeError, CodecError, KeyError, TypeError, ValueError) as exc:
                    failed.append((row.id, f"{type(exc).__name__}: {exc}", False))
        return events, done, failed

    def _events_of(self, row: InboxRow) -> list[DomainEvent]:
        if row.kind is not InboxKind.WEBHOOK:
            return [decode_event(row.payload["event"])]
        carried = {
            (e.source, e.record_key): e for e in (decode_event(d) for d in row.payload.get("events", []))
        }
        events: list[DomainEvent] = []
        for ref in (_decode_ref(d) for d in row.payload.get("refs", [])):
            event = carried.get((ref.source, ref.key))
            # Webhooks are hints: a payload is used only when its revision is ordered (a ServiceNow
            # mod count, an ADO rev) and newer than what is held; otherwise the record is re-read.
            newer = self._newer_than_held(event) if event is not None else None
            if newer is True and event is not None:
                events.append(event)
                continue
            if newer is False:
                continue
            fetched = self.connectors[ref.source].fetch(ref)
            if fetched is not None:
                events.append(fetched)
        return events

    def _newer_than_held(self, event: DomainEvent) -> bool | None:
        """Whether a payload's revision is newer than the one held; None when revisions are not
        ordered (a GitLab release), so only a re-read can tell."""
        with self._lock:
            held: int | None
            if isinstance(event, ChangeUpdated):
                held_rfc = self.state.rfcs.get(event.sys_id)
                held = held_rfc.change.mod_count if held_rfc is not None else None
            elif isinstance(event, DefectUpdated):
                held_defect = self.state.defects.get(event.id)
                held = held_defect.rev if held_defect is not None else None
            else:
                return None
        return held is None or event.revision > held

    def _record(
        self, tx: Tx, events: list[DomainEvent], done: list[int], failed: list[tuple[int, str, bool]]
    ) -> None:
        now = self.clock()
        tx.journal.append(events, now=now)
        for event in events:
            if isinstance(event, ChangeUpdated):
                tx.rfcs.upsert(rfc_record(event), now=now)
            elif isinstance(event, DefectUpdated):
                tx.defects.upsert(defect_record(event), now=now)
        tx.inbox.mark_processed(done, now=now)
        for row_id, error, transient in failed:
            if transient:
                tx.inbox.mark_failed(row_id, error, now=now)
            else:
                # A row that can never be read is kept with its error, out of the way for a week:
                # nothing is lost, and an operator can see it.
                tx.inbox.mark_failed(row_id, error, retry_at=now + timedelta(days=7), now=now)
            log.warning("inbox row %s not processed: %s", row_id, error)

    def refresh(self) -> PlanChanges | None:
        """Fold journal revisions not yet seen (from any replica) into the plan; store what changed.

        The first time, the whole plan is stored (what differs from the store); after that, each
        batch plans again only what its events reach, and stores only that.
        """
        with self._lock:
            if not self._planned:
                # The first plan builds the whole programme's state at once (about a million objects
                # at 2,000 releases); the collector would walk all of it again and again while it
                # grows, for nothing: none of it is garbage yet. It resumes once the plan is stored.
                with _collector_paused():
                    self._restore()
                    self._plan_whole(self._journal_after())
                if self._freeze_heap:
                    self._freeze_heap = False
                    gc.collect()
                    gc.freeze()
                return None
            events = self._journal_after()
            if not events and not self.context.create_rfc_drafts:
                return None
            changes = self.planner.apply(events, self.clock())
            if not changes.empty:
                try:
                    self._store_changes(changes)
                except Exception:
                    # What this batch changed is planned but not all stored: the next refresh stores the
                    # whole plan again (what differs from the store), so nothing decided is lost.
                    self._planned = False
                    raise
            elif events:
                self._mark_planned()
            if events:
                self._snapshot_when_due()
            return changes

    def _journal_after(self) -> list[DomainEvent]:
        """The journal's revisions after the last one folded (from any replica), oldest first."""
        events: list[DomainEvent] = []
        while True:
            with self.store.transaction(readonly=True) as tx:
                rows = tx.journal.after(self.last_journal_id, limit=JOURNAL_PAGE)
            for row_id, event in rows:
                events.append(event)
                self.last_journal_id = row_id
            if len(rows) < JOURNAL_PAGE:
                return events

    def _plan_whole(self, events: Sequence[DomainEvent]) -> None:
        """Fold `events` into the held state, plan the whole programme and store what differs."""
        for event in events:
            self.planner.state.apply(event)
        self.planner = Planner.of(self.planner.state, self.context, self.clock())
        whole = self.planner.plan()
        self._store_plan(whole)
        self._store_decisions(
            {r.key for r in whole.releases} | self._stored_point_keys(),
            {r.component for r in whole.releases} | self._stored_components(),
            self._fixes_to_store(),
        )
        self._planned = True
        self._mark_planned()
        self._snapshot_when_due()

    def _restore(self) -> None:
        """Start from the newest snapshot, if there is one this version can read."""
        with self.store.transaction(readonly=True) as tx:
            snapshot = tx.snapshots.newest()
        if snapshot is None or snapshot.format != SNAPSHOT_FORMAT:
            return
        try:
            state = decode_state(snapshot.payload)
        except (ValueError, zlib.error, KeyError, TypeError) as exc:
            log.warning(
                "snapshot of journal row %s unreadable (%s): replaying the journal", snapshot.journal_id, exc
            )
            return
        self.planner.state = state
        self.last_journal_id = self._snapshot_at = snapshot.journal_id
        log.info("started from the snapshot of journal row %s", snapshot.journal_id)

    def _snapshot_when_due(self) -> None:
        if self.last_journal_id - self._snapshot_at >= self.snapshot_every:
            self.snapshot()

    def snapshot(self) -> int:
        """Keep the state folded so far, so a start need not replay the journal; returns its journal row."""
        with self._lock:
            payload = encode_state(self.planner.state)
            with self.store.transaction() as tx:
                tx.snapshots.save(self.last_journal_id, payload, format=SNAPSHOT_FORMAT, now=self.clock())
            self._snapshot_at = self.last_journal_id
            if self.journal_retention is not None:
                self.compact(self.journal_retention)
            return self.last_journal_id

    def compact(self, retention: timedelta) -> int:
        """Delete the journal's revisions older than `retention` that the newest snapshot holds, but the
        RFCs' (release timelines show their states); returns how many went."""
        with self.store.transaction() as tx:
            gone = tx.journal.compact(before=self.clock() - retention, keep_kinds=(ChangeUpdated.__name__,))
        if gone:
            log.info("journal compacted: %s revisions older than %s went", gone, retention)
        return gone

    def _mark_planned(self) -> None:
        with self.store.transaction() as tx:
            tx.planned.save(self.worker, self.last_journal_id, now=self.clock())

    def _store_changes(self, changes: PlanChanges) -> None:
        """Store what one batch changed in the plan: the actions, findings, links, releases, the ledger
        of each place, control points and verdicts, and how far the journal is planned. A small batch
        (one event's) is one transaction; a large one is cut into small ones (SQLite has one writer,
        and a webhook must never wait long behind the worker). What is stored is marked in memory only
        once its transaction has committed."""
        now = self.clock()
        done = self._persisted
        assert done is not None  # the whole plan was stored first
        planner = self.planner
        findings: dict[tuple[str, str, str], Finding] = {}
        writes: list[_Write] = []
        for subject in sorted(changes.subjects):
            about = planner.findings_about(subject)
            findings.update(((f.code, f.subject, f.message), f) for f in about)
            writes += [_Write("finding", (f.code, f.subject, f.message), f) for f in about]
            writes.append(_Write("resolve", subject, about))
        for kind, left, right in sorted(changes.links):
            link = planner.link(kind, left, right)
            if link is None:
                writes.append(_Write("unlink", (kind, left, right), None))
            else:
                writes.append(_Write("link", (kind, left, right), link))
        for key in sorted(changes.releases):
            release = planner.release(key)
            if release is not None:
                writes.append(_Write("release", (release.project, release.tag, release.note_text), release))
        writes += [_Write("place", place, None) for place in sorted(changes.places)]
        writes += [_Write("points", key, None) for key in sorted(changes.points)]
        writes += [_Write("verdicts", component, None) for component in sorted(changes.components)]
        writes += _fix_writes(changes.fixes)
        writes.append(_Write("planned", self.last_journal_id, None))
        added = [a for a in changes.added if a.key not in done.actions]

        def actions_first(tx: Tx) -> None:
            # The actions go with the first writes: a move decided is never lost behind the rest.
            tx.outbox.enqueue(added, cause="plan", now=now)
            tx.outbox.supersede(changes.gone, kinds=SUPERSEDED_KINDS, now=now)

        self._write(writes, findings, now, first=actions_first)
        # An action no longer wanted is superseded; wanted again later, it must be queued again.
        done.actions -= changes.gone
        done.actions |= {a.key for a in changes.added}

    def _write(
        self,
        writes: Sequence[_Write],
        findings: Mapping[tuple[str, str, str], object],
        now: datetime,
        *,
        first: Callable[[Tx], None] | None = None,
    ) -> None:
        """Carry out writes in transactions of WRITES_PER_TRANSACTION (SQLite has one writer, and a
        webhook must never wait long behind the worker), `first` in the first of them; each write is
        marked in memory only once its transaction has committed."""
        done = self._persisted
        assert done is not None
        for start in range(0, max(len(writes), 1), WRITES_PER_TRANSACTION):
            chunk = writes[start : start + WRITES_PER_TRANSACTION]
            with self.store.transaction() as tx:
                if start == 0 and first is not None:
                    first(tx)
                for write in chunk:
                    self._apply(tx, write, now)
            for write in chunk:
                _mark(done, write, findings)

    def _store_decisions(
        self, releases: Collection[str], components: Collection[str], defects: Collection[int]
    ) -> None:
        """Store the control points of these releases, the carry-forward verdicts of these components
        and where these defects stand for the releases that list them, as the planner holds them."""
        writes = [_Write("points", key, None) for key in sorted(releases)]
        writes += [_Write("verdicts", component, None) for component in sorted(components)]
        writes += _fix_writes(defects)
        if writes:
            self._write(writes, {}, self.clock())

    def _fixes_to_store(self) -> set[int]:
        """The defects whose stored fixes differ from the planner's."""
        with self.store.transaction(readonly=True) as tx:
            stored = tx.fixes.list()
        held: dict[int, set[Fix]] = defaultdict(set)
        for fix in stored:
            held[fix.defect_id].add(fix)
        defects = self.planner.fixed_defects() | set(held)
        return {d for d in defects if set(self.planner.fixes_of(d)) != held.get(d, set())}

    def _stored_point_keys(self) -> set[str]:
        with self.store.transaction(readonly=True) as tx:
            return tx.control_points.keys()

    def _stored_components(self) -> set[str]:
        with self.store.transaction(readonly=True) as tx:
            return tx.carry_forward.keys()

    def _store_plan(self, result: Plan) -> None:
        """Store what changed since the last stored plan: the actions first, in one transaction, then
        the rest in small ones, so that webhooks never wait long behind the worker (SQLite has one
        writer). What is stored is marked in memory only once its transaction has committed."""
        now = self.clock()
        if self._persisted is None:
            with self.store.transaction(readonly=True) as tx:
                self._persisted = self._load_persisted(tx)
        done = self._persisted
        actions = {action.key for action in result.actions}
        with self.store.transaction() as tx:
            tx.outbox.enqueue([a for a in result.actions if a.key not in done.actions], cause="plan", now=now)
            tx.outbox.supersede_waiting(actions, kinds=SUPERSEDED_KINDS, now=now)
        done.actions |= actions

        findings = {(f.code, f.subject, f.message): f for f in result.findings}
        links = {(link.kind.value, link.release, link.other): link for link in result.links}
        releases = {(r.project, r.tag, r.note_text): r for r in result.releases}
        stored = {key for keys in done.findings.values() for key in keys}
        writes: list[_Write] = [_Write("finding", key, findings[key]) for key in set(findings) - stored]
        for subject in sorted({key[1] for key in stored - set(findings)}):
            still = [f for key, f in findings.items() if key[1] == subject]
            writes.append(_Write("resolve", subject, still))
        writes += [_Write("link", key, links[key]) for key in set(links) - done.links]
        writes += [_Write("unlink", key, None) for key in done.links - set(links)]
        writes += [_Write("release", key, releases[key]) for key in set(releases) - done.releases]
        if writes:
            self._write(writes, findings, now)

        ledger = _ledger_entries(result.ledger)
        if ledger != done.ledger:
            with self.store.transaction() as tx:
                tx.ledger.replace_all(ledger)
            done.ledger = ledger

    def _apply(self, tx: Tx, write: _Write, now: datetime) -> None:
        if write.kind == "finding":
            tx.findings.record(write.value, now=now)
        elif write.kind == "resolve":
            tx.findings.resolve(write.key, write.value, now=now)
        elif write.kind == "link":
            kind, left, right = write.key
            tx.links.add(
                LinkKind(kind),
                left,
                right,
                write.value.evidence,
                evidence_revision=write.value.revision,
                now=now,
            )
        elif write.kind == "unlink":
            kind, left, right = write.key
            tx.links.remove(LinkKind(kind), left, right)
        elif write.kind == "release":
            tx.releases.upsert(_release_record(write.value, self.state), now=now)
        elif write.kind == "place":
            tx.ledger.replace(write.key, _ledger_entries(self.planner.ledger_of(write.key)))
        elif write.kind == "points":
            tx.control_points.replace(write.key, [_point_row(p) for p in self.planner.points_of(write.key)])
        elif write.kind == "verdicts":
            tx.carry_forward.replace(
                write.key, [_verdict_row(v) for v in self.planner.verdicts_of(write.key)]
            )
        elif write.kind == "fixes":
            tx.fixes.replace(write.key, [f for d in write.key for f in self.planner.fixes_of(d)])
        elif write.kind == "planned":
            tx.planned.save(self.worker, write.key, now=now)
        else:
            raise ValueError(f"no such write: {write.kind}")

    def _load_persisted(self, tx: Tx) -> _Persisted:
        persisted = _Persisted(links={(link.kind.value, link.left, link.right) for link in tx.links.list()})
        for f in tx.findings.list():
            persisted.findings[f.subject].add((f.code, f.subject, f.message))
        # A start's whole plan then offers the outbox only what is new to it or put aside, not every
        # action ever planned.
        persisted.actions = tx.outbox.settled_keys()
        return persisted

    # --- dispatch --------------------------------------------------------------------------------

    def dispatch(self, target: Source, limit: int | None = None) -> int:
        """Carry out due actions for one system; record each outcome and feed results back.

        Without a limit, as many as the connector takes in one apply (`actions_per_apply`, else 200).
        """
        connector = self.connectors.get(target)
        if connector is None:
            return 0
        if limit is None:
            limit = int(getattr(connector, "actions_per_apply", DISPATCH_BATCH))
        now = self.clock()
        with self.store.transaction() as tx:
            rows = tx.outbox.claim_due(target, limit, self.worker, now=now, lease=self.lease)
        if not rows:
            return 0
        actions = [row.action() for row in rows]
        if self.dry_run:
            outcomes = [ActionOutcome(a.key, OutcomeStatus.SKIPPED, DRY_RUN) for a in actions]
        else:
            try:
                with held(self.store, [row.id for row in rows], self.worker, self.lease, self.clock):
                    outcomes = connector.apply(actions)
            except BridgeError as exc:  # a writer reports per action; this guards a failure of the whole call
                outcomes = [ActionOutcome(a.key, OutcomeStatus.RETRY, str(exc)) for a in actions]
        by_key = {outcome.key: outcome for outcome in outcomes}
        now = self.clock()
        ends: list[tuple[int, Completion]] = []
        trail: list[AuditLine] = []
        feedback: list[Delivery] = []
        for row, action in zip(rows, actions, strict=True):
            outcome = by_key.get(row.key) or ActionOutcome(
                row.key, OutcomeStatus.RETRY, "no outcome reported"
            )
            self.observer.dispatched(target, row.key, row.kind, outcome.status, row.attempts)
            ends.append((row.id, completion_for(outcome, attempts=row.attempts, now=now)))
            if outcome.status is OutcomeStatus.DONE and (effect := action.describe()) is not None:
                trail.append(
                    AuditLine(target, str(effect.record), effect.change, effect.reason, action_key=row.key)
                )
            if (fresh := outcome.fresh) is not None:
                feedback.append(
                    Delivery(
                        fresh.source, _event_key(fresh), InboxKind.FEEDBACK, {"event": encode_event(fresh)}
                    )
                )
        with self.store.transaction() as tx:
            tx.outbox.complete_many(ends, worker=self.worker, now=now)
            tx.audit.append_many(trail, at=now)
            tx.inbox.put_many(feedback, now=now)
        return len(rows)

    def dispatch_all(self, *, drain: bool = False) -> int:
        """Dispatch every system's due actions, the systems at once: they answer independently, so a
        slow one (a work note on ServiceNow) does not hold up another's (a thousand moves on ADO).

        With `drain`, each system's dispatch repeats until nothing is due for it or the processor is
        stopping; otherwise one dispatch each. Returns how many actions were dispatched.
        """

        def dispatched(source: Source) -> int:
            done = 0
            while (count := self.dispatch(source)) > 0:
                done += count
                if not drain or self.stopping():
                    break
            return done

        sources = list(self.connectors)
        if len(sources) <= 1:
            return sum(dispatched(source) for source in sources)
        with ThreadPoolExecutor(max_workers=len(sources), thread_name_prefix="dispatch") as pool:
            return sum(pool.map(dispatched, sources))

    # --- one cycle -------------------------------------------------------------------------------

    def run_once(self, *, poll: bool = True, max_rounds: int = 20) -> dict[str, Any]:
        """Poll every source, then process and dispatch until nothing is left (for cron and tests)."""
        polled: list[PollOutcome] = []
        if poll and self.connectors:
            # The three systems answer independently: ask them at once, not one after another.
            with ThreadPoolExecutor(max_workers=len(self.connectors), thread_name_prefix="poll") as pool:
                polled = list(pool.map(self.poll, self.connectors))
        processed = dispatched = 0
        for _ in range(max_rounds):
            while (count := self.process_inbox()) > 0:
                processed += count
            self.refresh()
            round_dispatched = self.dispatch_all()
            dispatched += round_dispatched
            if round_dispatched == 0:
                break
        return {
            "polled": {p.source.value: p.events for p in polled},
            "processed": processed,
            "dispatched": dispatched,
        }


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector (process-wide) for a bulk build; it resumes as it was."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _fix_writes(defects: Collection[int]) -> list[_Write]:
    """Where these defects stand, stored a hundred defects to a write."""
    ordered = sorted(defects)
    return [_Write("fixes", tuple(ordered[n : n + 100]), None) for n in range(0, len(ordered), 100)]


def _point_row(point: ControlPoint) -> PointRow:
    return PointRow(point.number, point.name, point.status.value, point.evidence, point.source)


def _verdict_row(verdict: CarryForward) -> VerdictRow:
    return VerdictRow(verdict.emergency, verdict.regular, verdict.dropped, verdict.ancestry)


def _ledger_entries(entries: Iterable[LedgerEntry]) -> tuple[DeploymentEntry, ...]:
    return tuple(
        DeploymentEntry(
            e.environment,
            e.component,
            str(e.version),
            e.rfc_number,
            e.deployed_from,
            e.deployed_to,
            e.undone,
            e.approved,
            e.rfc_sys_id,
        )
        for e in entries
    )


def _event_key(event: DomainEvent) -> str:
    """The inbox's delivery key for a polled or fed-back event: its journal identity."""
    return ":".join(journal_identity(event))


def _encode_ref(ref: RecordRef) -> dict[str, Any]:
    return {"source": ref.source.value, "kind": ref.kind, "key": ref.key, "revision": ref.revision}


def _decode_ref(document: Mapping[str, Any]) -> RecordRef:
    return RecordRef(
        Source(document["source"]), str(document["kind"]), str(document["key"]), document.get("revision")
    )


def _release_record(release: Any, state: ProgrammeState) -> ReleaseRecord:
    event = state.releases[(release.project, release.tag)]
    return ReleaseRecord(
        project=release.project,
        tag=release.tag,
        component=release.component,
        version=str(release.version),
        release_type=release.release_type.value if release.release_type else None,
        commit_sha=release.commit_sha,
        note_text=release.note_text,
        note_source=release.note_source,
        parsed_note=release.note.to_json(),
        published_at=release.published_at,
        revision=event.revision,
        read_at=event.read_at,
        web_url=release.web_url,
        removed=event.removed,
    )
