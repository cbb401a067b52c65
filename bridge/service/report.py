"""The readiness report: a period's releases, deployments and retest moves, and what still needs attention."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select

from bridge.domain.actions import MoveDefect
from bridge.domain.events import RfcState, Source
from bridge.domain.links import LinkKind
from bridge.engine.context import EngineContext
from bridge.engine.control_points import PointStatus
from bridge.engine.reconcile import Plan
from bridge.engine.releases import Release
from bridge.store.outbox import ActionStatus
from bridge.store.schema import rfcs as rfc_table
from bridge.store.store import Tx

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


def build_report(
    result: Plan, tx: Tx, context: EngineContext, *, since: datetime, now: datetime
) -> ReadinessReport:
    """The report of [since, now] from the engine's plan and what the store holds."""
    rfcs_of = _rfcs_of(result)
    in_play = _releases_in_play(result, since)
    return ReadinessReport(
        generated_at=now,
        since=since,
        until=now,
        releases=_period_releases(result, rfcs_of, since),
        deployments=_period_deployments(result, since),
        moves=_moves(result, tx, context, since),
        release_gaps=_release_gaps(result, in_play),
        rfcs_without_release=_unlinked_rfcs(result, tx, since),
        releases_without_rfc=tuple(
            UnlinkedRelease(r.component, str(r.version), r.tag, r.published_at)
            for r in in_play
            if not rfcs_of.get(r.key)
        ),
        carry_forward=_carry_forward(result),
        dead_actions=_dead_actions(tx),
    )


def _within(moment: datetime | None, since: datetime) -> bool:
    # No upper bound at `now`: the three systems' clocks run a little apart from ours, and a record
    # stamped a moment ahead still belongs to the period that ends now.
    return moment is not None and since <= moment


def _label(key: str) -> str:
    return key.replace(":", " ", 1)


def _rfcs_of(result: Plan) -> dict[str, list[str]]:
    linked: dict[str, list[str]] = defaultdict(list)
    for link in result.links:
        if link.kind is LinkKind.RELEASE_RFC:
            linked[link.release].append(link.other)
    return {key: sorted(set(numbers)) for key, numbers in linked.items()}


def _ordered(releases: Iterable[Release]) -> list[Release]:
    return sorted(releases, key=lambda r: (r.component, r.version))


def _releases_in_play(result: Plan, since: datetime) -> list[Release]:
    """Releases published in the period or deployed somewhere now: the ones a weekly pack cares about."""
    deployed = {f"{e.component}:{e.version}" for e in result.ledger if e.deployed_to is None and not e.undone}
    return _ordered(r for r in result.releases if r.key in deployed or _within(r.published_at, since))


def _period_releases(result: Plan, rfcs_of: dict[str, list[str]], since: datetime) -> tuple[ReleaseLine, ...]:
    return tuple(
        ReleaseLine(
            component=r.component,
            version=str(r.version),
            release_type=r.release_type.value if r.release_type else "unknown",
            tag=r.tag,
            published_at=r.published_at,
            rfcs=tuple(rfcs_of.get(r.key, ())),
            web_url=r.web_url,
        )
        for r in _ordered(result.releases)
        if _within(r.published_at, since)
    )


def _period_deployments(result: Plan, since: datetime) -> tuple[DeploymentLine, ...]:
    lines = [
        DeploymentLine(
            environment=e.environment,
            component=e.component,
            version=str(e.version),
            rfc_number=e.rfc_number,
            deployed_at=e.deployed_from,
            current=e.deployed_to is None and not e.undone,
            rolled_back=e.undone,
        )
        for e in result.ledger
        if _within(e.deployed_from, since)
    ]
    return tuple(sorted(lines, key=lambda d: (d.environment, d.deployed_at, d.component)))


def _moves(result: Plan, tx: Tx, context: EngineContext, since: datetime) -> tuple[RetestMove, ...]:
    """Retest moves from the audit trail (what the bridge did), joined to the deployment they were for."""
    deployments = {d.key: d for d in result.deployments}
    found: list[tuple[int, datetime, MoveDefect | None]] = []
    for entry in tx.audit_trail(limit=MAX_ROWS):
        if entry.at < since:
            break  # the trail comes newest first
        if entry.system is not Source.ADO or not entry.record.startswith("defect:"):
            continue
        if not entry.change.startswith("state ") or f"→ {context.ready_for_retest}" not in entry.change:
            continue
        row = tx.action_by_key(entry.action_key) if entry.action_key else None
        action = row.action() if row is not None else None
        move = action if isinstance(action, MoveDefect) else None
        found.append((int(entry.record.removeprefix("defect:")), entry.at, move))
    held = {d.id: d for d in tx.get_defects(sorted({defect_id for defect_id, _, _ in found}))}
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
        elif move is not None and move.deployment.startswith("note:"):
            release = _label(move.deployment.removeprefix("note:"))
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


def _release_gaps(result: Plan, in_play: Sequence[Release]) -> tuple[ReleaseGap, ...]:
    gaps = []
    for release in in_play:
        failed = tuple(
            f"{p.number} {p.name}: {p.evidence}"
            for p in result.control_points.get(release.key, ())
            if p.status is PointStatus.FAIL
        )
        if release.note.missing or failed:
            gaps.append(ReleaseGap(release.component, str(release.version), release.note.missing, failed))
    return tuple(gaps)


def _unlinked_rfcs(result: Plan, tx: Tx, since: datetime) -> tuple[UnlinkedRfc, ...]:
    linked = {link.other for link in result.links if link.kind is LinkKind.RELEASE_RFC}
    # The store holds each RFC's latest revision; the engine's state is not shared across threads.
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


def _carry_forward(result: Plan) -> tuple[CarryForwardGap, ...]:
    by_key = {r.key: r for r in result.releases}
    gaps = []
    for verdict in result.carry_forward:
        emergency = by_key.get(verdict.emergency)
        fixes = emergency.fixed_ids if emergency is not None else ()
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
        for row in tx.list_actions(ActionStatus.DEAD, limit=MAX_ROWS)
    )
