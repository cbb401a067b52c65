"""Releases: every component's releases with their links, fixes, note check and findings at a glance,
and one release in full (RFCs, defects, control points, carry-forward, timeline)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, TypeVar

from pydantic import BaseModel
from sqlalchemy import exists, func, literal, select

from bridge.domain.actions import MoveDefect
from bridge.domain.events import ChangeUpdated
from bridge.domain.fixes import Fix, FixStatus
from bridge.domain.keys import SEPARATOR, ReleaseKey, Subject, SubjectKind, parse_target
from bridge.domain.links import LinkKind
from bridge.engine.context import EngineContext
from bridge.engine.control_points import PointStatus
from bridge.service.read.common import Page, Window, from_row, page_of
from bridge.service.read.findings import FindingView, finding_view
from bridge.service.read.release_status import Deployed, Move, RfcRevision, timeline
from bridge.store.decisions import StoredFix
from bridge.store.links import LinkRow
from bridge.store.outbox import ActionStatus, OutboxRow
from bridge.store.records import ReleaseRecord, RfcRow
from bridge.store.schema import deployments, findings, releases
from bridge.store.store import Tx


class ReleaseSummary(BaseModel):
    """A release as listed: the component's version and the GitLab tag it comes from."""

    component: str
    version: str
    project: str
    tag: str
    release_type: str | None
    published_at: datetime | None
    web_url: str | None
    note_source: str


class LinkedRfc(BaseModel):
    """An RFC linked to a release, with its state as the bridge last read it."""

    number: str
    state: str | None  # None when the bridge has not read the RFC
    sys_id: str | None
    evidence: str
    url: str | None = None  # the RFC in ServiceNow


class MoveView(BaseModel):
    """One of the bridge's moves of a defect and where its delivery stands."""

    release: str | None  # the release it is for, e.g. dip-platform 1.0.2.0
    deployment: str
    reason: str  # retest or rollback
    from_state: str
    to_state: str
    status: str
    at: datetime
    error: str | None


class FixView(BaseModel):
    """A defect the release note lists as fixed: where it stands for this release, and why."""

    id: int
    title: str | None
    state: str | None  # in ADO as last read; None when ADO shows no such defect
    status: str  # moved, moved back, waiting, failed or left
    why: str
    url: str | None = None  # the defect in ADO


class DefectFixView(FixView):
    """A fixed defect as a release's own page shows it: with the bridge's moves of it for the release."""

    moves: list[MoveView] = []


class TimelineView(BaseModel):
    """One thing that happened to a release."""

    at: datetime
    what: str
    text: str
    source: str


class LinkedDefect(BaseModel):
    """A defect a release note lists, with its ADO state as the bridge last read it."""

    id: int
    state: str | None  # None when the bridge has not read the defect
    severity: str | None
    title: str | None
    evidence: str


class ControlPointView(BaseModel):
    """One of the approach's control points for a release."""

    number: str
    name: str
    status: str
    evidence: str
    source: str


class CarryForwardView(BaseModel):
    """An emergency release's fixes carried (or not) into the next regular release."""

    emergency: str
    regular: str | None
    dropped: list[int]
    ancestry: bool | None


class UnclassifiedDefectView(BaseModel):
    """A defect the note names where it does not say whether it is fixed: never moved."""

    id: int
    line: int | None
    place: str | None  # the heading or label it was under, as written
    summary: str | None


class NoteCheck(BaseModel):
    """The release note against the approach's list of required items."""

    complete: bool  # every required item present, no error, no defect left unclassified
    missing: list[str]
    present: list[str]
    problems: list[str]
    unclassified: list[UnclassifiedDefectView] = []


class ReleaseOverview(ReleaseSummary):
    """A release as the releases page lists it: links, fixes, note, control points, findings at a glance."""

    rfcs: list[LinkedRfc]
    fixes: list[FixView]
    fix_counts: dict[str, int]  # by status: moved, moved back, waiting, failed, left
    note_complete: bool
    note_missing: list[str]
    control_points: dict[str, int] | None  # by status: pass, fail, pending, n/a; None before a plan
    failed_points: list[str]
    open_findings: int
    deployed_in: list[str]  # environments where it is the current version


class ReleaseDetail(ReleaseSummary):
    """A release with its links, control points, carry-forward verdict, findings and note check."""

    rfcs: list[LinkedRfc]
    defects_fixed: list[LinkedDefect]
    defects_outstanding: list[LinkedDefect]
    deployed_in: list[str]
    control_points: list[ControlPointView] | None  # None until the service has planned once
    carry_forward: list[CarryForwardView]
    findings: list[FindingView]  # open findings about the release, its RFCs and its fixed defects
    note_check: NoteCheck
    fixes: list[DefectFixView]
    fix_counts: dict[str, int]
    timeline: list[TimelineView]


def release_summary(record: object) -> ReleaseSummary:
    """A release as listed, from a store record or a row of the releases table."""
    return from_row(ReleaseSummary, record)


@dataclass(frozen=True)
class ReleaseFilter:
    """Which releases the releases page shows."""

    component: str | None = None
    release_type: str | None = None
    environment: str | None = None  # deployed there, now or before
    has_findings: bool | None = None  # with open findings about the release (or without)


def release_overviews(
    tx: Tx, context: EngineContext, window: Window, only: ReleaseFilter = ReleaseFilter()
) -> Page[ReleaseOverview]:
    """Releases by component, newest version first, each with its links, fixes, note check and findings.

    Only the page's releases are read in full (their notes, links and fixes); the others are filtered
    and ordered from their summary columns, so a page costs about the same however many releases
    the programme has."""
    query = select(*[releases.c[name] for name in ReleaseSummary.model_fields]).where(
        releases.c.removed.is_(False)
    )
    if only.component is not None:
        query = query.where(releases.c.component == only.component)
    if only.release_type is not None:
        query = query.where(releases.c.release_type == only.release_type)
    if only.environment is not None:
        query = query.where(
            exists().where(
                deployments.c.environment == only.environment,
                deployments.c.component == releases.c.component,
                deployments.c.version == releases.c.version,
            )
        )
    if only.has_findings is not None:
        # A finding about a release has the subject release:<component>:<version> (Subject.release).
        subject = (
            literal(f"{SubjectKind.RELEASE.value}{SEPARATOR}")
            + releases.c.component
            + literal(SEPARATOR)
            + releases.c.version
        )
        found = exists().where(findings.c.subject == subject, findings.c.resolved_at.is_(None))
        query = query.where(found if only.has_findings else ~found)
    query = query.order_by(releases.c.component, releases.c.version_order.desc(), releases.c.tag)
    listed = page_of(tx, query, window, release_summary)
    total, shown = listed.total, listed.items
    keys = [str(ReleaseKey(r.component, r.version)) for r in shown]
    findings_of = _open_release_findings(tx, keys)
    notes = _parsed_notes(tx, shown)
    links = _ReleaseLinks.read(tx, keys, context, all_moves=False)
    judged = tx.control_points.of(keys)
    current: dict[str, list[str]] = {}
    for row in tx.ledger.deployed():
        current.setdefault(str(ReleaseKey(row.component, row.version)), []).append(row.environment)
    items = []
    for summary, key in zip(shown, keys, strict=True):
        check = note_check(notes.get(key))
        points = judged.get(key, [])
        fixes = links.fixes_of(key)
        items.append(
            ReleaseOverview(
                **summary.model_dump(),
                rfcs=links.rfcs(key),
                fixes=fixes,
                fix_counts=_tally(FixStatus, (f.status for f in fixes)),
                note_complete=check.complete,
                note_missing=check.missing,
                control_points=_tally(PointStatus, (p.status for p in points)) if key in judged else None,
                failed_points=[f"{p.number}. {p.name}" for p in points if p.status == PointStatus.FAIL],
                open_findings=findings_of.get(key, 0),
                deployed_in=sorted(current.get(key, [])),
            )
        )
    return Page[ReleaseOverview](items=items, total=total, limit=window.limit, offset=window.offset)


def _parsed_notes(tx: Tx, shown: Sequence[ReleaseSummary]) -> dict[str, dict[str, Any] | None]:
    """The parsed notes of these releases, by release key."""
    if not shown:
        return {}
    query = select(
        releases.c.project, releases.c.tag, releases.c.component, releases.c.version, releases.c.parsed_note
    )
    query = query.where(releases.c.tag.in_(sorted({r.tag for r in shown})), releases.c.removed.is_(False))
    wanted = {(r.project, r.tag) for r in shown}
    return {
        str(ReleaseKey(row.component, row.version)): row.parsed_note
        for row in tx.connection.execute(query)
        if (row.project, row.tag) in wanted
    }


def _open_release_findings(tx: Tx, keys: Sequence[str]) -> dict[str, int]:
    """How many open findings there are about each of these releases."""
    query = (
        select(findings.c.subject, func.count())
        .where(
            findings.c.subject.in_([str(Subject(SubjectKind.RELEASE, key)) for key in keys]),
            findings.c.resolved_at.is_(None),
        )
        .group_by(findings.c.subject)
    )
    return {Subject.parse(subject).id: count for subject, count in tx.connection.execute(query)}


def _tally(statuses: Iterable[StrEnum], found: Iterable[str]) -> dict[str, int]:
    """How many of `found` are in each status, every status present (zero included), in its order."""
    counts = {status.value: 0 for status in statuses}
    for status in found:
        counts[status] += 1
    return counts


@dataclass
class _ReleaseLinks:
    """What the store holds on some releases, read in a few queries: their RFCs, and where each defect
    they list as fixed stands (as the engine stored it, with what the outbox knows of its move)."""

    rfc_links: dict[str, list[LinkRow]]
    rfc_records: dict[str, RfcRow]
    fixes: dict[str, list[StoredFix]]
    moves: dict[int, list[Move]]  # by defect: all its moves, or (on a list) only the skipped ones
    context: EngineContext

    @classmethod
    def read(cls, tx: Tx, keys: Sequence[str], context: EngineContext, *, all_moves: bool) -> _ReleaseLinks:
        rfc_links: dict[str, list[LinkRow]] = {key: [] for key in keys}
        for link in tx.links.list(kind=LinkKind.RELEASE_RFC, lefts=keys):
            rfc_links[link.left].append(link)
        numbers = {link.right for found in rfc_links.values() for link in found}
        fixes = tx.fixes.of(keys)
        # A list shows only why a move was skipped, for a defect left alone; a release's page, every move.
        every = [stored.fix for found in fixes.values() for stored in found]
        wanted = {f.defect_id for f in every if all_moves or f.status is FixStatus.LEFT}
        moves: dict[int, list[Move]] = {}
        for row in tx.outbox.moves_of(wanted):
            if not all_moves and row.status is not ActionStatus.SKIPPED:
                continue
            move = _move(row)
            if move is not None:
                moves.setdefault(move.defect_id, []).append(move)
        return cls(
            rfc_links=rfc_links,
            rfc_records=tx.rfcs.by_numbers(numbers),
            fixes=fixes,
            moves=moves,
            context=context,
        )

    def rfcs(self, key: str) -> list[LinkedRfc]:
        views = []
        for link in self.rfc_links.get(key, []):
            rfc = self.rfc_records.get(link.right)
            views.append(
                LinkedRfc(
                    number=link.right,
                    state=rfc.state if rfc else None,
                    sys_id=rfc.sys_id if rfc else None,
                    evidence=link.evidence,
                    url=self.context.rfc_url(rfc.sys_id) if rfc else None,
                )
            )
        return views

    def fixes_of(self, key: str) -> list[FixView]:
        """Where each defect the release lists as fixed stands."""
        return [self._view(FixView, fix, self._moves_for(fix.fix)) for fix in self.fixes.get(key, [])]

    def fixes_with_moves(self, key: str) -> list[DefectFixView]:
        """The same, each with the release's moves of it."""
        views = []
        for fix in self.fixes.get(key, []):
            mine = self._moves_for(fix.fix)
            view = self._view(DefectFixView, fix, mine)
            view.moves = [_move_view(m) for m in mine]
            views.append(view)
        return views

    def _moves_for(self, fix: Fix) -> list[Move]:
        moves = self.moves.get(fix.defect_id)
        if not moves:
            return []
        return sorted((m for m in moves if m.release == fix.release), key=lambda m: m.at)

    def _view(self, model: type[_Fix], stored: StoredFix, moves: list[Move]) -> _Fix:
        skips = [m for m in moves if m.status is ActionStatus.SKIPPED]
        status, why = stored.shown(skips[-1].detail if skips else None)
        fix = stored.fix
        return model(
            id=fix.defect_id,
            title=fix.title,
            state=fix.state,
            status=status.value,
            why=why,
            url=self.context.defect_url(fix.defect_id),
        )


_Fix = TypeVar("_Fix", bound=FixView)


def _move(row: OutboxRow) -> Move | None:
    try:
        action = row.action()
    except ValueError:
        return None  # an action of an older shape; the outbox page still shows it
    if not isinstance(action, MoveDefect):
        return None
    try:
        release: str | None = str(parse_target(action.deployment).release)
    except ValueError:
        release = None  # a target this version cannot read
    return Move(
        defect_id=action.defect_id,
        release=release,
        deployment=action.deployment,
        reason=action.reason,
        from_state=action.from_state,
        to_state=action.to_state,
        status=row.status,
        at=row.updated_at,
        error=row.last_error,
        detail=row.detail,
    )


def _move_view(move: Move) -> MoveView:
    return MoveView(
        release=ReleaseKey.parse(move.release).label if move.release else None,
        deployment=move.deployment,
        reason=move.reason,
        from_state=move.from_state,
        to_state=move.to_state,
        status=move.status.value,
        at=move.at,
        error=move.error,
    )


def release_detail(tx: Tx, context: EngineContext, component: str, version: str) -> ReleaseDetail | None:
    """One release with everything known about it; None if the bridge knows no such release."""
    found = [r for r in tx.releases.of(component, version) if not r.removed]
    if not found:
        return None
    record = found[0]
    release = ReleaseKey(component, version)
    key = str(release)
    summary = release_summary(record)
    known = _ReleaseLinks.read(tx, [key], context, all_moves=True)
    rfcs = known.rfcs(key)
    fixes = known.fixes_with_moves(key)
    subjects = [
        str(Subject.release(release)),
        *(str(Subject.rfc(r.number)) for r in rfcs),
        *(str(Subject.defect(f.id)) for f in fixes),
    ]
    return ReleaseDetail(
        **summary.model_dump(),
        rfcs=rfcs,
        defects_fixed=_linked_defects(tx, tx.links.list(kind=LinkKind.DEFECT_FIXED, left=key)),
        defects_outstanding=_linked_defects(tx, tx.links.list(kind=LinkKind.DEFECT_OUTSTANDING, left=key)),
        deployed_in=tx.ledger.environments(component, version),
        control_points=_control_points(tx, key),
        carry_forward=_carry_forward(tx, key),
        findings=[finding_view(f) for subject in subjects for f in tx.findings.list(subject)],
        note_check=note_check(record.parsed_note),
        fixes=fixes,
        fix_counts=_tally(FixStatus, (f.status for f in fixes)),
        timeline=_timeline(tx, record, known, key),
    )


def _timeline(tx: Tx, record: ReleaseRecord, known: _ReleaseLinks, key: str) -> list[TimelineView]:
    sys_ids = {rfc.sys_id for rfc in known.rfc_records.values()}
    revisions = [
        RfcRevision(event.number, event.state.value.capitalize(), event.updated_at)
        for event in tx.journal.of(ChangeUpdated, sys_ids)
        if isinstance(event, ChangeUpdated)
    ]
    release = ReleaseKey.parse(key)
    deployed = Deployed.of_ledger(tx.ledger.of([(release.component, release.version)]))
    entries = timeline(
        tag=record.tag,
        published_at=record.published_at,
        rfc_revisions=revisions,
        deployments=deployed.by_release.get(key, []),
        stays=deployed.stays.get(key, []),
        moves=[m for found in known.moves.values() for m in found if m.release == key],
    )
    return [TimelineView(at=e.at, what=e.what.value, text=e.text, source=e.source) for e in entries]


def _linked_defects(tx: Tx, found: list[LinkRow]) -> list[LinkedDefect]:
    ids = [int(link.right) for link in found if link.right.isdigit()]
    known = {record.id: record for record in tx.defects.get_many(ids)}
    views = []
    for link in found:
        record = known.get(int(link.right)) if link.right.isdigit() else None
        views.append(
            LinkedDefect(
                id=int(link.right) if link.right.isdigit() else 0,
                state=record.state if record else None,
                severity=record.severity if record else None,
                title=record.title if record else None,
                evidence=link.evidence,
            )
        )
    return views


def _control_points(tx: Tx, key: str) -> list[ControlPointView] | None:
    """The release's control points as the worker stored them; None before they were judged."""
    points = tx.control_points.of([key]).get(key)
    if points is None:
        return None
    return [
        ControlPointView(number=p.number, name=p.name, status=p.status, evidence=p.evidence, source=p.source)
        for p in points
    ]


def _carry_forward(tx: Tx, key: str) -> list[CarryForwardView]:
    return [
        CarryForwardView(
            emergency=v.emergency, regular=v.regular, dropped=list(v.dropped), ancestry=v.ancestry
        )
        for v in tx.carry_forward.of(key)
    ]


def note_check(parsed: dict[str, Any] | None) -> NoteCheck:
    """The note's required items found and missing, and the parser's problems with it."""
    if not parsed:
        return NoteCheck(complete=False, missing=[], present=[], problems=["no release note was read"])
    missing = [str(key) for key in parsed.get("missing", [])]
    problems = [
        str(f.get("message", ""))
        for f in parsed.get("findings", [])
        if isinstance(f, dict) and f.get("message")
    ]
    errors = [f for f in parsed.get("findings", []) if isinstance(f, dict) and f.get("severity") == "error"]
    unclassified = [
        UnclassifiedDefectView(
            id=int(d["id"]), line=d.get("line"), place=d.get("place"), summary=d.get("summary")
        )
        for d in parsed.get("defects_unclassified", [])
        if isinstance(d, dict) and str(d.get("id", "")).isdigit()
    ]
    return NoteCheck(
        complete=not missing and not errors and not unclassified,
        missing=missing,
        present=sorted(str(key) for key in parsed.get("present", {})),
        problems=problems,
        unclassified=unclassified,
    )
