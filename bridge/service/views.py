"""Views: what the read API and the pages show, read from the store and the newest plan, free of HTTP."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, Field
from sqlalchemy import Select, func, select

from bridge.domain.links import LinkKind
from bridge.engine.control_points import BRIDGE_NOTE_MARK
from bridge.engine.reconcile import Plan
from bridge.engine.releases import release_key
from bridge.store.audit import AuditEntry
from bridge.store.findings import FindingRow
from bridge.store.ledger import DeploymentRow
from bridge.store.links import LinkRow
from bridge.store.outbox import ActionStatus, OutboxRow
from bridge.store.records import DefectRecord, ReleaseRecord, RfcRecord
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


class NoteCheck(BaseModel):
    """The release note against the approach's list of required items."""

    complete: bool
    missing: list[str]
    present: list[str]
    problems: list[str]


class ReleaseDetail(ReleaseSummary):
    """A release with its links, control points, carry-forward verdict, findings and note check."""

    rfcs: list[LinkedRfc]
    defects_fixed: list[LinkedDefect]
    defects_outstanding: list[LinkedDefect]
    deployed_in: list[str]
    control_points: list[ControlPointView] | None  # None until the service has planned once
    carry_forward: list[CarryForwardView]
    findings: list[FindingView]
    note_check: NoteCheck


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
    """The version of a component deployed now in an environment."""

    component: str
    version: str
    since: datetime
    rfc_number: str | None


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


def _version_order(text: str) -> tuple[int, tuple[int, ...], str]:
    try:
        return (0, Version.parse(text).parts, "")
    except VersionError:
        return (1, (), text)


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


def release_summary(record: ReleaseRecord) -> ReleaseSummary:
    return ReleaseSummary(
        component=record.component,
        version=record.version,
        project=record.project,
        tag=record.tag,
        release_type=record.release_type,
        published_at=record.published_at,
        web_url=record.web_url,
        note_source=record.note_source.value,
    )


def rfc_summary(record: RfcRecord) -> RfcSummary:
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


def _split_release_key(key: str) -> tuple[str, str]:
    component, _, version = key.rpartition(":")
    return component, version


def _page(tx: Tx, query: Select[Any], window: Window, convert: Callable[[Any], T]) -> Page[T]:
    total = tx.connection.execute(
        select(func.count()).select_from(query.order_by(None).subquery())
    ).scalar_one()
    rows = tx.connection.execute(query.limit(window.limit).offset(window.offset))
    return Page[T](
        items=[convert(row) for row in rows], total=total, limit=window.limit, offset=window.offset
    )


# --- releases --------------------------------------------------------------------------------------


def list_releases(tx: Tx, window: Window, *, component: str | None = None) -> Page[ReleaseSummary]:
    """Releases by component, newest version first."""
    columns = [releases.c[name] for name in ReleaseSummary.model_fields]
    query = select(*columns).where(releases.c.removed.is_(False))
    if component is not None:
        query = query.where(releases.c.component == component)
    found = [
        ReleaseSummary(
            component=row.component,
            version=row.version,
            project=row.project,
            tag=row.tag,
            release_type=row.release_type,
            published_at=row.published_at,
            web_url=row.web_url,
            note_source=row.note_source,
        )
        for row in tx.connection.execute(query)
    ]
    found.sort(key=lambda r: r.tag)
    found.sort(key=lambda r: _version_order(r.version), reverse=True)
    found.sort(key=lambda r: r.component)
    return Page[ReleaseSummary](
        items=window.cut(found),
        total=len(found),
        limit=window.limit,
        offset=window.offset,
    )


def release_detail(tx: Tx, plan: Plan | None, component: str, version: str) -> ReleaseDetail | None:
    """One release with everything known about it; None if the bridge knows no such release."""
    found = [r for r in tx.releases_of(component, version) if not r.removed]
    if not found:
        return None
    record = found[0]
    key = release_key(component, version)
    summary = release_summary(record)
    return ReleaseDetail(
        **summary.model_dump(),
        rfcs=[_linked_rfc(tx, link) for link in tx.links(kind=LinkKind.RELEASE_RFC, left=key)],
        defects_fixed=_linked_defects(tx, tx.links(kind=LinkKind.DEFECT_FIXED, left=key)),
        defects_outstanding=_linked_defects(tx, tx.links(kind=LinkKind.DEFECT_OUTSTANDING, left=key)),
        deployed_in=tx.environments_running(component, version),
        control_points=_control_points(plan, key),
        carry_forward=_carry_forward(plan, key),
        findings=[finding_view(f) for f in tx.list_findings(f"release:{key}", include_resolved=False)],
        note_check=note_check(record.parsed_note),
    )


def _linked_rfc(tx: Tx, link: LinkRow) -> LinkedRfc:
    rfc = tx.rfc_by_number(link.right)
    return LinkedRfc(
        number=link.right,
        state=rfc.state if rfc else None,
        sys_id=rfc.sys_id if rfc else None,
        evidence=link.evidence,
    )


def _linked_defects(tx: Tx, found: list[LinkRow]) -> list[LinkedDefect]:
    ids = [int(link.right) for link in found if link.right.isdigit()]
    known = {record.id: record for record in tx.get_defects(ids)}
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


def _control_points(plan: Plan | None, key: str) -> list[ControlPointView] | None:
    if plan is None:
        return None
    return [
        ControlPointView(
            number=p.number, name=p.name, status=p.status.value, evidence=p.evidence, source=p.source
        )
        for p in plan.control_points.get(key, ())
    ]


def _carry_forward(plan: Plan | None, key: str) -> list[CarryForwardView]:
    if plan is None:
        return []
    return [
        CarryForwardView(
            emergency=v.emergency, regular=v.regular, dropped=list(v.dropped), ancestry=v.ancestry
        )
        for v in plan.carry_forward
        if key in (v.emergency, v.regular)
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
    return NoteCheck(
        complete=not missing and not errors,
        missing=missing,
        present=sorted(str(key) for key in parsed.get("present", {})),
        problems=problems,
    )


# --- RFCs ------------------------------------------------------------------------------------------


def list_rfcs(tx: Tx, window: Window, *, state: str | None = None) -> Page[RfcSummary]:
    """RFCs by number."""
    query = select(rfcs).order_by(rfcs.c.number, rfcs.c.sys_id)
    if state is not None:
        query = query.where(rfcs.c.state == state)
    return _page(tx, query, window, lambda row: rfc_summary(_rfc_record(row)))


def _rfc_record(row: Any) -> RfcRecord:
    return RfcRecord(row.sys_id, row.number, row.state, row.mod_count, row.updated_at, row.fields)


def rfc_detail(tx: Tx, number: str) -> RfcDetail | None:
    """One RFC by number with its linked releases and the bridge's notes; None if unknown."""
    record = tx.rfc_by_number(number)
    if record is None:
        return None
    fields = record.fields
    linked = [
        LinkedRelease(
            component=_split_release_key(link.left)[0],
            version=_split_release_key(link.left)[1],
            evidence=link.evidence,
        )
        for link in tx.links(kind=LinkKind.RELEASE_RFC, right=number)
    ]
    trail = tx.audit_trail(record=f"rfc:{number}", limit=10_000)
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
        findings=[finding_view(f) for f in tx.list_findings(f"rfc:{number}")],
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
    record = tx.get_defect(defect_id)
    if record is None:
        return None
    listed = [
        DefectRelease(
            component=_split_release_key(link.left)[0],
            version=_split_release_key(link.left)[1],
            evidence=link.evidence,
            listed_as="fixed" if link.kind is LinkKind.DEFECT_FIXED else "outstanding",
        )
        for kind in (LinkKind.DEFECT_FIXED, LinkKind.DEFECT_OUTSTANDING)
        for link in tx.links(kind=kind, right=str(defect_id))
    ]
    moves = tx.audit_trail(record=f"defect:{defect_id}", limit=10_000)
    planned = select(outbox).where(outbox.c.key.like(f"move\\_defect:{defect_id}:%", escape="\\"))
    actions = [_action_row_view(row) for row in tx.connection.execute(planned.order_by(outbox.c.id))]
    return DefectDetail(
        **defect_summary(record).model_dump(),
        releases=listed,
        moves=[audit_view(entry) for entry in moves],
        actions=actions,
    )


# --- environments ----------------------------------------------------------------------------------


def list_environments(tx: Tx, known: Sequence[str] = ()) -> list[EnvironmentSummary]:
    """Every environment (the configured ones and any in the ledger) with what is deployed there now."""
    current: dict[str, list[CurrentDeployment]] = {name: [] for name in known}
    for row in tx.current_deployments():
        current.setdefault(row.environment, []).append(
            CurrentDeployment(
                component=row.component,
                version=row.version,
                since=row.deployed_from,
                rfc_number=row.rfc_number,
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
                component=c, deployments=[deployment_view(row) for row in tx.deployment_history(name, c)]
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
    return {status.value: count for status, count in tx.outbox_counts().items()}


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
