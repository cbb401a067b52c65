"""The readiness report: a period's releases, deployments and retest moves, and what still needs attention."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select

from bridge.domain.actions import MoveDefect
from bridge.domain.events import RfcState, Source
from bridge.domain.keys import (
    DeploymentKey,
    MoveTarget,
    NoteTarget,
    ReleaseKey,
    Subject,
    SubjectKind,
    parse_target,
)
from bridge.domain.links import LinkKind
from bridge.engine.context import EngineContext
from bridge.engine.control_points import PointStatus
from bridge.store.ledger import DeploymentRow
from bridge.store.outbox import ActionStatus
from bridge.store.schema import releases
from bridge.store.schema import rfcs as rfc_table
from bridge.store.store import Tx
from bridge.versions import version_order

DEFAULT_PERIOD = timedelta(days=7)
# The audit trail and the outbox are read in bounded pages; a week of a programme stays far below.
MAX_ROWS = 10_000
CLOSED_STATES = frozenset({RfcState.CLOSED.value, RfcState.CANCELED.value})


@dataclass(frozen=True)
class ReleaseLine:
    """A release published in the period."""

    component: str
    version: str
    release_type: str
    tag: str
    published_at: datetime | None
    rfcs: tuple[str, ...]
    web_url: str | None


@dataclass(frozen=True)
class DeploymentLine:
    """A version that reached an environment in the period (or was rolled back there)."""

    environment: str
    component: str
    version: str
    rfc_number: str
    deployed_at: datetime
    current: bool
    rolled_back: bool


@dataclass(frozen=True)
class RetestMove:
    """A defect the bridge moved to retest in the period, and where ADO showed it when last read."""

    defect_id: int
    title: str
    moved_at: datetime
    release: str  # "component version"
    environment: str | None  # None when moved on the release note's publication
    rfc_number: str | None
    state_now: str
    retested: bool  # ADO shows it in a retested state (e.g. In Retest, Closed)


@dataclass(frozen=True)
class ReleaseGap:
    """A release in play with required note items missing or control points failed."""

    component: str
    version: str
    missing_items: tuple[str, ...]
    failed_points: tuple[str, ...]  # "7 RFC approved: evidence"


@dataclass(frozen=True)
class UnlinkedRfc:
    """An open RFC (or one changed in the period) that names no release the bridge knows."""

    number: str
    state: str
    short_description: str
    environment: str | None


@dataclass(frozen=True)
class UnlinkedRelease:
    """A release in play that no RFC names and whose note names no known RFC."""

    component: str
    version: str
    tag: str
    published_at: datetime | None


@dataclass(frozen=True)
class CarryForwardGap:
    """An emergency release whose fixes are not (yet) in the component's next regular release."""

    emergency: str  # "component version"
    fixes: tuple[int, ...]  # the emergency fixes still to carry
    regular: str | None  # the next regular release, None while there is none
    verdict: str


@dataclass(frozen=True)
class DeadAction:
    """An action that failed for good and waits for an operator's retry."""

    id: int
    kind: str
    target: str
    key: str
    last_error: str
    updated_at: datetime


@dataclass(frozen=True)
class ReadinessReport:
    """The weekly readiness report: activity in the period, then what is open now."""

    generated_at: datetime
    since: datetime
    until: datetime
    releases: tuple[ReleaseLine, ...]
    deployments: tuple[DeploymentLine, ...]
    moves: tuple[RetestMove, ...]
    release_gaps: tuple[ReleaseGap, ...]
    rfcs_without_release: tuple[UnlinkedRfc, ...]
    releases_without_rfc: tuple[UnlinkedRelease, ...]
    carry_forward: tuple[CarryForwardGap, ...]
    dead_actions: tuple[DeadAction, ...]

    @property
    def environments(self) -> dict[str, list[DeploymentLine]]:
        """The period's deployments grouped by environment, environments in name order."""
        grouped: dict[str, list[DeploymentLine]] = defaultdict(list)
        for line in self.deployments:
            grouped[line.environment].append(line)
        return dict(sorted(grouped.items()))

    @property
    def retested_count(self) -> int:
        return sum(1 for move in self.moves if move.retested)


def period_start(since: date | None, now: datetime) -> datetime:
    """The start of the period: midnight UTC of `since`, else a week before `now`."""
    if since is None:
        return now - DEFAULT_PERIOD
    return datetime.combine(since, time(), tzinfo=UTC)


def build_report(tx: Tx, context: EngineContext, *, since: datetime, now: datetime) -> ReadinessReport:
    """The report of [since, now] from what the worker stored: releases, links, the ledger, control
    points, carry-forward verdicts, the audit trail and the outbox."""
    stored = _Stored.read(tx)
    in_play = _releases_in_play(stored, since)
    return ReadinessReport(
        generated_at=now,
        since=since,
        until=now,
        releases=_period_releases(stored, since),
        deployments=_period_deployments(stored, since),
        moves=_moves(stored, tx, context, since),
        release_gaps=_release_gaps(tx, in_play),
        rfcs_without_release=_unlinked_rfcs(stored, tx, since),
        releases_without_rfc=tuple(
            UnlinkedRelease(r.component, r.version, r.tag, r.published_at)
            for r in in_play
            if not stored.rfcs_of.get(r.key)
        ),
        carry_forward=_carry_forward(tx),
        dead_actions=_dead_actions(tx),
    )


@dataclass(frozen=True)
class _ReleaseRow:
    component: str
    version: str
    release_type: str | None
    tag: str
    published_at: datetime | None
    web_url: str | None
    project: str

    @property
    def key(self) -> str:
        return str(ReleaseKey(self.component, self.version))


@dataclass(frozen=True)
class _Stored:
    """What the report reads of every release: the releases (without their notes), their RFCs, the ledger."""

    releases: list[_ReleaseRow]  # by component, then version
    rfcs_of: dict[str, list[str]]
    ledger: list[DeploymentRow]

    @classmethod
    def read(cls, tx: Tx) -> _Stored:
        query = select(
            releases.c.component,
            releases.c.version,
            releases.c.release_type,
            releases.c.tag,
            releases.c.published_at,
            releases.c.web_url,
            releases.c.project,
        ).where(releases.c.removed.is_(False))
        rows = [_ReleaseRow(*row) for row in tx.connection.execute(query)]
        rows.sort(key=lambda r: (r.component, version_order(r.version), r.tag))
        unique: dict[str, _ReleaseRow] = {}
        for row in rows:
            unique.setdefault(row.key, row)
        linked: dict[str, list[str]] = defaultdict(list)
        for link in tx.links.list(kind=LinkKind.RELEASE_RFC):
            linked[link.left].append(link.right)
        rfcs_of = {key: sorted(set(numbers)) for key, numbers in linked.items()}
        return cls(list(unique.values()), rfcs_of, tx.ledger.list())


def _within(moment: datetime | None, since: datetime) -> bool:
    # No upper bound at `now`: the three systems' clocks run a little apart from ours, and a record
    # stamped a moment ahead still belongs to the period that ends now.
    return moment is not None and since <= moment


def _label(key: str) -> str:
    return ReleaseKey.parse(key).label


def _defect_of(record: str) -> int | None:
    """The defect an audit line's record names, None when it names another kind of record."""
    try:
        subject = Subject.parse(record)
    except ValueError:
        return None
    return subject.defect_id if subject.kind is SubjectKind.DEFECT else None


def _target_of(text: str) -> MoveTarget | None:
    """What a move was for, None for a target this version cannot read."""
    try:
        return parse_target(text)
    except ValueError:
        return None


def _releases_in_play(stored: _Stored, since: datetime) -> list[_ReleaseRow]:
    """Releases published in the period or deployed somewhere now: the ones a weekly pack cares about."""
    deployed = {
        str(ReleaseKey(e.component, e.version))
        for e in stored.ledger
        if e.deployed_to is None and not e.rolled_back
    }
    return [r for r in stored.releases if r.key in deployed or _within(r.published_at, since)]


def _period_releases(stored: _Stored, since: datetime) -> tuple[ReleaseLine, ...]:
    return tuple(
        ReleaseLine(
            component=r.component,
            version=r.version,
            release_type=r.release_type or "unknown",
            tag=r.tag,
            published_at=r.published_at,
            rfcs=tuple(stored.rfcs_of.get(r.key, ())),
            web_url=r.web_url,
        )
        for r in stored.releases
        if _within(r.published_at, since)
    )


def _period_deployments(stored: _Stored, since: datetime) -> tuple[DeploymentLine, ...]:
    lines = [
        DeploymentLine(
            environment=e.environment,
            component=e.component,
            version=e.version,
            rfc_number=e.rfc_number or "",
            deployed_at=e.deployed_from,
            current=e.deployed_to is None and not e.rolled_back,
            rolled_back=e.rolled_back,
        )
        for e in stored.ledger
        if _within(e.deployed_from, since)
    ]
    return tuple(sorted(lines, key=lambda d: (d.environment, d.deployed_at, d.component)))


def _moves(stored: _Stored, tx: Tx, context: EngineContext, since: datetime) -> tuple[RetestMove, ...]:
    """Retest moves from the audit trail (what the bridge did), joined to the deployment they were for."""
    deployments = {
        str(DeploymentKey(e.environment, e.component, e.version, e.rfc_number or "")): e
        for e in stored.ledger
    }
    found: list[tuple[int, datetime, MoveDefect | None]] = []
    for entry in tx.audit.list(limit=MAX_ROWS):
        if entry.at < since:
            break  # the trail comes newest first
        defect_id = _defect_of(entry.record)
        if entry.system is not Source.ADO or defect_id is None:
            continue
        if not entry.change.startswith("state ") or f"→ {context.ready_for_retest}" not in entry.change:
            continue
        row = tx.outbox.by_key(entry.action_key) if entry.action_key else None
        action = row.action() if row is not None else None
        move = action if isinstance(action, MoveDefect) else None
        found.append((defect_id, entry.at, move))
    held = {d.id: d for d in tx.defects.get_many(sorted({defect_id for defect_id, _, _ in found}))}
    moves = []
    for defect_id, at, move in found:
        deployment = deployments.get(move.deployment) if move is not None else None
        defect = held.get(defect_id)
        state_now = defect.state if defect is not None else "not read"
        if move is not None and (defect is None or defect.rev <= move.expected_rev):
            # Not read since the bridge's own write: ADO shows what the bridge set.
            state_now = move.to_state
        release = "unknown release"
        if deployment is not None:
            release = f"{deployment.component} {deployment.version}"
        elif move is not None and isinstance(target := _target_of(move.deployment), NoteTarget):
            release = target.release.label
        moves.append(
            RetestMove(
                defect_id=defect_id,
                title=defect.title if defect is not None else "",
                moved_at=at,
                release=release,
                environment=deployment.environment if deployment else None,
                rfc_number=deployment.rfc_number if deployment else None,
                state_now=state_now,
                retested=state_now in context.retested_states,
            )
        )
    return tuple(sorted(moves, key=lambda m: (m.moved_at, m.defect_id)))


def _release_gaps(tx: Tx, in_play: Sequence[_ReleaseRow]) -> tuple[ReleaseGap, ...]:
    points = tx.control_points.of([r.key for r in in_play])
    gaps = []
    for release in in_play:
        failed = tuple(
            f"{p.number} {p.name}: {p.evidence}"
            for p in points.get(release.key, ())
            if p.status == PointStatus.FAIL
        )
        record = tx.releases.get(release.project, release.tag)
        parsed = record.parsed_note if record is not None else None
        missing = tuple(str(key) for key in (parsed or {}).get("missing", []))
        if missing or failed:
            gaps.append(ReleaseGap(release.component, release.version, missing, failed))
    return tuple(gaps)


def _unlinked_rfcs(stored: _Stored, tx: Tx, since: datetime) -> tuple[UnlinkedRfc, ...]:
    linked = {number for numbers in stored.rfcs_of.values() for number in numbers}
    rows = tx.connection.execute(select(rfc_table).order_by(rfc_table.c.number))
    unlinked = []
    for row in rows:
        if row.number in linked:
            continue
        if row.state in CLOSED_STATES and row.updated_at < since:
            continue
        fields = row.fields or {}
        unlinked.append(
            UnlinkedRfc(
                number=row.number,
                state=row.state,
                short_description=str(fields.get("short_description") or ""),
                environment=fields.get("environment"),
            )
        )
    return tuple(unlinked)


def _carry_forward(tx: Tx) -> tuple[CarryForwardGap, ...]:
    gaps = []
    for verdict in sorted(tx.carry_forward.list(), key=lambda v: v.emergency):
        fixes = _fixed_in(tx, verdict.emergency)
        if verdict.regular is None:
            gaps.append(CarryForwardGap(_label(verdict.emergency), fixes, None, "no regular release since"))
        elif verdict.dropped:
            gaps.append(
                CarryForwardGap(
                    _label(verdict.emergency),
                    verdict.dropped,
                    _label(verdict.regular),
                    "not listed in the regular release's note",
                )
            )
        elif verdict.ancestry is False:
            gaps.append(
                CarryForwardGap(
                    _label(verdict.emergency),
                    fixes,
                    _label(verdict.regular),
                    "the emergency tag's commit is not in the regular release",
                )
            )
    return tuple(gaps)


def _fixed_in(tx: Tx, key: str) -> tuple[int, ...]:
    """The defects a release's note lists as fixed, in the note's order."""
    release = ReleaseKey.parse(key)
    for record in tx.releases.of(release.component, release.version):
        if not record.removed and record.parsed_note:
            return tuple(int(d["id"]) for d in record.parsed_note.get("defects_fixed", []))
    return ()


def _dead_actions(tx: Tx) -> tuple[DeadAction, ...]:
    return tuple(
        DeadAction(
            id=row.id,
            kind=row.kind,
            target=row.target.value,
            key=row.key,
            last_error=row.last_error or "",
            updated_at=row.updated_at,
        )
        for row in tx.outbox.list(ActionStatus.DEAD, limit=MAX_ROWS)
    )
