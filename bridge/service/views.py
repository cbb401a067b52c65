"""Views: what the read API and the pages show, read from the store (what the worker stored), free of HTTP."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, Field
from sqlalchemy import Select, exists, func, literal, select

from bridge.domain.actions import MoveDefect
from bridge.domain.events import ChangeUpdated
from bridge.domain.fixes import Fix, FixStatus
from bridge.domain.keys import SEPARATOR, MoveDefectKey, ReleaseKey, Subject, SubjectKind, parse_target
from bridge.domain.links import LinkKind
from bridge.engine.context import EngineContext
from bridge.engine.control_points import BRIDGE_NOTE_MARK, PointStatus
from bridge.service.release_status import Deployed, Move, RfcRevision, timeline
from bridge.store.audit import AuditEntry
from bridge.store.decisions import StoredFix
from bridge.store.findings import FindingRow
from bridge.store.ledger import DeploymentRow
from bridge.store.links import LinkRow
from bridge.store.outbox import ActionStatus, OutboxRow
from bridge.store.records import DefectRecord, ReleaseRecord, RfcRow
from bridge.store.schema import audit, defects, deployments, findings, outbox, releases, rfcs
from bridge.store.store import Tx
from bridge.versions import Version, VersionError

Item = TypeVar("Item")
T = TypeVar("T")
MAX_PAGE = 500
MAX_OFFSET = 2**31 - 1  # beyond any list the bridge keeps; larger values overflow the databases' integers


class Page(BaseModel, Generic[Item]):
    """One page of a list: its items, how many there are in all, and where the page starts."""

    items: list[Item]
    total: int
    limit: int
    offset: int


class Window(BaseModel):
    """Which part of a list to show."""

    limit: int = Field(default=50, ge=1, le=MAX_PAGE)
    offset: int = Field(default=0, ge=0, le=MAX_OFFSET)

    def cut(self, items: Sequence[T]) -> list[T]:
        return list(items[self.offset : self.offset + self.limit])


# --- models ----------------------------------------------------------------------------------------


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


class FindingView(BaseModel):
    """A finding with when it was first and last seen, and resolved if it is."""

    id: int
    code: str
    severity: str
    subject: str
    message: str
    evidence: list[tuple[str, str]]
    first_seen: datetime
    last_seen: datetime
    resolved_at: datetime | None


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


class RfcSummary(BaseModel):
    """An RFC as the bridge last read it."""

    number: str
    sys_id: str
    state: str
    mod_count: int
    updated_at: datetime
    short_description: str | None
    environment: str | None
    correlation_id: str | None


class LinkedRelease(BaseModel):
    """A release linked to an RFC or listing a defect."""

    component: str
    version: str
    evidence: str


class RfcDetail(RfcSummary):
    """An RFC with its linked releases, the bridge's work notes on it, and its findings."""

    type: str | None
    approval: str | None
    planned_start: str | None
    planned_end: str | None
    cab_date: str | None
    close_code: str | None
    releases: list[LinkedRelease]
    bridge_work_notes: int  # work notes the bridge wrote (its audit trail)
    bridge_work_notes_seen: int  # work notes bearing the bridge's mark in the RFC as last read
    findings: list[FindingView]


class AuditView(BaseModel):
    """One entry of the audit trail: what the bridge changed, where and why."""

    id: int
    at: datetime
    system: str
    record: str
    action_key: str | None
    change: str
    reason: str


class ActionView(BaseModel):
    """An action in the outbox and where its delivery stands."""

    id: int
    key: str
    kind: str
    target: str
    status: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    detail: str | None
    cause: str | None
    created_at: datetime
    updated_at: datetime


class DefectSummary(BaseModel):
    """A defect as the bridge last read it."""

    id: int
    rev: int
    state: str
    severity: str | None
    title: str
    changed_at: datetime
    changed_by: str | None


class DefectRelease(LinkedRelease):
    """A release whose note lists the defect, as fixed or as outstanding."""

    listed_as: str  # fixed or outstanding


class DefectDetail(DefectSummary):
    """A defect with the releases that list it and the bridge's moves of it."""

    releases: list[DefectRelease]
    moves: list[AuditView]  # done, from the audit trail
    actions: list[ActionView]  # every planned move, from the outbox


class CurrentDeployment(BaseModel):
    """The version of a component deployed now in an environment, against the component's newest release."""

    component: str
    version: str
    since: datetime
    rfc_number: str | None
    newest_version: str | None = None  # the component's newest release the bridge knows, if any
    behind: bool = False  # the version deployed is not the newest release


class EnvironmentSummary(BaseModel):
    """An environment with the version of each component deployed in it now."""

    name: str
    components: list[CurrentDeployment]


class DeploymentView(BaseModel):
    """One stay of a version in an environment."""

    version: str
    rfc_number: str | None
    deployed_from: datetime
    deployed_to: datetime | None
    rolled_back: bool
    current: bool


class ComponentHistory(BaseModel):
    """Every version of a component an environment has had, newest first."""

    component: str
    deployments: list[DeploymentView]


class EnvironmentHistory(BaseModel):
    """An environment's history, per component."""

    name: str
    components: list[ComponentHistory]


# --- conversions -----------------------------------------------------------------------------------


View = TypeVar("View", bound=BaseModel)


def from_row(view: type[View], row: object) -> View:
    """A view read from a store row by its attributes (enums become their values)."""
    return view.model_validate(row, from_attributes=True)


def finding_view(row: FindingRow) -> FindingView:
    return from_row(FindingView, row)


def audit_view(entry: AuditEntry) -> AuditView:
    return from_row(AuditView, entry)


def action_view(row: OutboxRow) -> ActionView:
    return from_row(ActionView, row)


def defect_summary(record: DefectRecord) -> DefectSummary:
    return from_row(DefectSummary, record)


def deployment_view(row: DeploymentRow) -> DeploymentView:
    return from_row(DeploymentView, row)


def _action_row_view(row: Any) -> ActionView:
    return from_row(ActionView, row)


def release_summary(record: object) -> ReleaseSummary:
    """A release as listed, from a store record or a row of the releases table."""
    return from_row(ReleaseSummary, record)


def rfc_summary(record: RfcRow) -> RfcSummary:
    fields = record.fields
    return RfcSummary(
        number=record.number,
        sys_id=record.sys_id,
        state=record.state,
        mod_count=record.mod_count,
        updated_at=record.updated_at,
        short_description=fields.get("short_description"),
        environment=fields.get("environment"),
        correlation_id=fields.get("correlation_id"),
    )


def _page(tx: Tx, query: Select[Any], window: Window, convert: Callable[[Any], T]) -> Page[T]:
    total = tx.connection.execute(
        select(func.count()).select_from(query.order_by(None).subquery())
    ).scalar_one()
    rows = tx.connection.execute(query.limit(window.limit).offset(window.offset))
    return Page[T](
        items=[convert(row) for row in rows], total=total, limit=window.limit, offset=window.offset
    )


# --- releases --------------------------------------------------------------------------------------


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
    listed = _page(tx, query, window, release_summary)
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
        found = (m for m in self.moves.get(fix.defect_id, []) if m.release == fix.release)
        return sorted(found, key=lambda m: m.at)

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


# --- RFCs ------------------------------------------------------------------------------------------


def list_rfcs(tx: Tx, window: Window, *, state: str | None = None) -> Page[RfcSummary]:
    """RFCs by number."""
    query = select(rfcs).order_by(rfcs.c.number, rfcs.c.sys_id)
    if state is not None:
        query = query.where(rfcs.c.state == state)
    return _page(tx, query, window, lambda row: rfc_summary(_rfc_record(row)))


def _rfc_record(row: Any) -> RfcRow:
    return RfcRow(row.sys_id, row.number, row.state, row.mod_count, row.updated_at, row.fields)


def rfc_detail(tx: Tx, number: str) -> RfcDetail | None:
    """One RFC by number with its linked releases and the bridge's notes; None if unknown."""
    record = tx.rfcs.by_number(number)
    if record is None:
        return None
    fields = record.fields
    linked = [
        LinkedRelease(
            component=ReleaseKey.parse(link.left).component,
            version=ReleaseKey.parse(link.left).version,
            evidence=link.evidence,
        )
        for link in tx.links.list(kind=LinkKind.RELEASE_RFC, right=number)
    ]
    trail = tx.audit.list(record=str(Subject.rfc(number)), limit=10_000)
    notes = fields.get("work_notes") or []
    return RfcDetail(
        **rfc_summary(record).model_dump(),
        type=fields.get("type"),
        approval=fields.get("approval"),
        planned_start=fields.get("planned_start"),
        planned_end=fields.get("planned_end"),
        cab_date=fields.get("cab_date"),
        close_code=fields.get("close_code"),
        releases=linked,
        bridge_work_notes=sum(1 for entry in trail if entry.change == "work note added"),
        bridge_work_notes_seen=sum(
            1
            for note in notes
            if isinstance(note, dict) and str(note.get("text", "")).startswith(BRIDGE_NOTE_MARK)
        ),
        findings=[finding_view(f) for f in tx.findings.list(str(Subject.rfc(number)))],
    )


# --- defects ---------------------------------------------------------------------------------------


def list_defects(tx: Tx, window: Window, *, state: str | None = None) -> Page[DefectSummary]:
    """Defects by id."""
    query = select(defects).order_by(defects.c.id)
    if state is not None:
        query = query.where(defects.c.state == state)
    return _page(
        tx,
        query,
        window,
        lambda row: DefectSummary(
            id=row.id,
            rev=row.rev,
            state=row.state,
            severity=row.severity,
            title=row.title,
            changed_at=row.changed_at,
            changed_by=row.changed_by,
        ),
    )


def defect_detail(tx: Tx, defect_id: int) -> DefectDetail | None:
    """One defect with the releases that list it and the bridge's moves; None if unknown."""
    record = tx.defects.get(defect_id)
    if record is None:
        return None
    listed = [
        DefectRelease(
            component=ReleaseKey.parse(link.left).component,
            version=ReleaseKey.parse(link.left).version,
            evidence=link.evidence,
            listed_as="fixed" if link.kind is LinkKind.DEFECT_FIXED else "outstanding",
        )
        for kind in (LinkKind.DEFECT_FIXED, LinkKind.DEFECT_OUTSTANDING)
        for link in tx.links.list(kind=kind, right=str(defect_id))
    ]
    moves = tx.audit.list(record=str(Subject.defect(defect_id)), limit=10_000)
    prefix = MoveDefectKey.of_defect(defect_id).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    planned = select(outbox).where(outbox.c.key.like(f"{prefix}%", escape="\\"))
    actions = [_action_row_view(row) for row in tx.connection.execute(planned.order_by(outbox.c.id))]
    return DefectDetail(
        **defect_summary(record).model_dump(),
        releases=listed,
        moves=[audit_view(entry) for entry in moves],
        actions=actions,
    )


# --- environments ----------------------------------------------------------------------------------


def newest_versions(tx: Tx) -> dict[str, str]:
    """Each component's newest release (by version; a tag whose version does not parse is left out)."""
    newest: dict[str, tuple[tuple[int, ...], str]] = {}
    query = select(releases.c.component, releases.c.version).where(releases.c.removed.is_(False))
    for component, text in tx.connection.execute(query):
        try:
            parts = Version.parse(text).parts
        except VersionError:
            continue
        if component not in newest or parts > newest[component][0]:
            newest[component] = (parts, text)
    return {component: text for component, (_, text) in newest.items()}


def is_behind(version: str, newest: str | None) -> bool:
    """Whether a deployed version differs from the component's newest release (unknown newest: no)."""
    return newest is not None and version != newest


def list_environments(tx: Tx, known: Sequence[str] = ()) -> list[EnvironmentSummary]:
    """Every environment (the configured ones and any in the ledger) with what is deployed there now,
    each version against its component's newest release."""
    newest = newest_versions(tx)
    current: dict[str, list[CurrentDeployment]] = {name: [] for name in known}
    for row in tx.ledger.deployed():
        current.setdefault(row.environment, []).append(
            CurrentDeployment(
                component=row.component,
                version=row.version,
                since=row.deployed_from,
                rfc_number=row.rfc_number,
                newest_version=newest.get(row.component),
                behind=is_behind(row.version, newest.get(row.component)),
            )
        )
    return [EnvironmentSummary(name=name, components=current[name]) for name in sorted(current)]


def environment_history(
    tx: Tx, name: str, *, component: str | None = None, known: Sequence[str] = ()
) -> EnvironmentHistory | None:
    """An environment's history per component (or of one); None if the environment is unknown."""
    query = select(deployments.c.component).where(deployments.c.environment == name).distinct()
    components = sorted(tx.connection.execute(query).scalars())
    if not components and name not in known:
        return None
    if component is not None:
        components = [c for c in components if c == component]
    return EnvironmentHistory(
        name=name,
        components=[
            ComponentHistory(
                component=c, deployments=[deployment_view(row) for row in tx.ledger.history(name, c)]
            )
            for c in components
        ],
    )


# --- findings, outbox, audit -----------------------------------------------------------------------


def list_findings(
    tx: Tx,
    window: Window,
    *,
    subject_prefix: str | None = None,
    code: str | None = None,
    severity: str | None = None,
    include_resolved: bool = False,
) -> Page[FindingView]:
    """Findings, newest first, filtered by subject prefix, code and severity."""
    query = select(findings).order_by(findings.c.id.desc())
    if subject_prefix:
        escaped = subject_prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(findings.c.subject.like(f"{escaped}%", escape="\\"))
    if code is not None:
        query = query.where(findings.c.code == code)
    if severity is not None:
        query = query.where(findings.c.severity == severity)
    if not include_resolved:
        query = query.where(findings.c.resolved_at.is_(None))
    return _page(
        tx,
        query,
        window,
        lambda row: FindingView(
            id=row.id,
            code=row.code,
            severity=row.severity,
            subject=row.subject,
            message=row.message,
            evidence=[(str(what), str(where)) for what, where in row.evidence],
            first_seen=row.first_seen,
            last_seen=row.last_seen,
            resolved_at=row.resolved_at,
        ),
    )


def finding_codes(tx: Tx) -> list[str]:
    """Every finding code in the store, for choosing one in a filter."""
    return sorted(tx.connection.execute(select(findings.c.code).distinct()).scalars())


def list_outbox(
    tx: Tx, window: Window, *, status: ActionStatus | None = None, target: str | None = None
) -> Page[ActionView]:
    """Actions, newest first, of one status and target system if given."""
    query = select(outbox).order_by(outbox.c.id.desc())
    if status is not None:
        query = query.where(outbox.c.status == status.value)
    if target is not None:
        query = query.where(outbox.c.target == target)
    return _page(tx, query, window, _action_row_view)


def outbox_counts(tx: Tx) -> dict[str, int]:
    """How many actions are in each status."""
    return {status.value: count for status, count in tx.outbox.counts().items()}


class UnknownActionError(LookupError):
    """No action with this id is in the outbox."""


class NotDeadError(Exception):
    """The action is not dead, so there is nothing to retry."""

    def __init__(self, action_id: int, status: str) -> None:
        super().__init__(f"action {action_id} is {status}, not dead: only a dead action can be retried")
        self.status = status


def retry_dead_action(tx: Tx, action_id: int, *, now: datetime) -> ActionView:
    """Put one dead action back in the queue, due now with a fresh budget of attempts; the action after.

    Raises UnknownActionError or NotDeadError (nothing changes then).
    """
    row = tx.outbox.get(action_id)
    if row is None:
        raise UnknownActionError(f"no action {action_id} in the outbox")
    # The update checks the status again: another operator may have revived it in between.
    if row.status is ActionStatus.DEAD and tx.outbox.retry_dead(action_id, now=now) == 1:
        row = tx.outbox.get(action_id) or row
        return action_view(row)
    row = tx.outbox.get(action_id) or row
    raise NotDeadError(action_id, row.status.value)


def retry_all_dead(tx: Tx, *, now: datetime) -> int:
    """Put every dead action back in the queue; how many."""
    return tx.outbox.retry_dead(now=now)


def list_audit(
    tx: Tx, window: Window, *, record: str | None = None, action_key: str | None = None
) -> Page[AuditView]:
    """The audit trail, newest first, about one record or one action if given."""
    query = select(audit).order_by(audit.c.at.desc(), audit.c.id.desc())
    if record is not None:
        query = query.where(audit.c.record == record)
    if action_key is not None:
        query = query.where(audit.c.action_key == action_key)
    return _page(
        tx,
        query,
        window,
        lambda row: AuditView(
            id=row.id,
            at=row.at,
            system=row.system,
            record=row.record,
            action_key=row.action_key,
            change=row.change,
            reason=row.reason,
        ),
    )
