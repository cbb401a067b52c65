"""The approach's process quality control points, evaluated per release from what the three systems show.

Numbering follows the approach's table (point 3 concerns the build itself and is not visible here).
Each point is pass, fail, pending (not decidable yet) or n/a, with its evidence and source record.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from functools import lru_cache

import holidays

from bridge.domain.events import RfcState
from bridge.domain.keys import Subject
from bridge.engine.context import EngineContext
from bridge.engine.deployments import is_approved, is_backed_out, is_deployed
from bridge.engine.releases import Release
from bridge.engine.state import RfcRecord
from bridge.versions import ReleaseType

BRIDGE_NOTE_MARK = "[Release bridge]"
GOVERNANCE_YES = frozenset({"approved", "yes", "y", "true", "granted"})


class PointStatus(StrEnum):
    """Where a control point stands."""

    PASS = "pass"  # noqa: S105  # met, with evidence
    FAIL = "fail"  # not met, and the moment for it has passed
    PENDING = "pending"  # not decidable yet
    NOT_APPLICABLE = "n/a"  # does not apply to this release


@dataclass(frozen=True)
class ControlPoint:
    number: str  # "1".."10", or "lead-time"
    name: str
    status: PointStatus
    evidence: str
    source: str  # the record that shows it, e.g. rfc:CHG0031245 or note:dip-platform/1.0.2.0


def control_points(release: Release, rfcs: list[RfcRecord], context: EngineContext) -> list[ControlPoint]:
    """Every control point of a release, judged against its linked RFCs (the best RFC for each point)."""
    note_source = str(Subject.note(release.tag))
    points = [
        _best(rfcs, release, "1", "RFC raised", _rfc_raised, context),
        _governance(release, rfcs, context),
        _note_items(
            "4",
            "Release package and installation instructions",
            release,
            (
                "bill_of_materials",
                "prerequisites",
                "release_instructions",
                "post_release_checks",
                "backout_plan",
            ),
            note_source,
        ),
        _note_items("5", "Known issues listed", release, ("defects_outstanding",), note_source),
        _best(rfcs, release, "6", "Release plan (RFC planned start and end)", _release_plan, context),
        _best(rfcs, release, "7", "RFC approved", _approved, context),
        _best(
            rfcs, release, "8", "Deployment issues captured (work notes during Implement)", _issues, context
        ),
        _best(rfcs, release, "9", "Rollout closed successful", _closed_successful, context),
        _best(rfcs, release, "10", "Rollout report / lessons learnt (close notes)", _close_notes, context),
        _best(rfcs, release, "lead-time", "Release note lead time before the CAB", _lead_time, context),
    ]
    return points


Judge = Callable[[Release, RfcRecord, EngineContext], tuple[PointStatus, str]]
_RANK = {PointStatus.PASS: 3, PointStatus.PENDING: 2, PointStatus.FAIL: 1, PointStatus.NOT_APPLICABLE: 0}


def _best(
    rfcs: list[RfcRecord], release: Release, number: str, name: str, judge: Judge, context: EngineContext
) -> ControlPoint:
    if not rfcs:
        return ControlPoint(number, name, PointStatus.PENDING, "No RFC links to this release yet.", "")
    judged = [(judge(release, record, context), record) for record in rfcs]
    (status, evidence), record = max(judged, key=lambda j: (_RANK[j[0][0]], j[1].change.number))
    return ControlPoint(number, name, status, evidence, str(Subject.rfc(record.change.number)))


def _rfc_raised(release: Release, record: RfcRecord, context: EngineContext) -> tuple[PointStatus, str]:
    return PointStatus.PASS, f"{record.change.number} links to the release."


def _governance(release: Release, rfcs: list[RfcRecord], context: EngineContext) -> ControlPoint:
    name = "Programme governance approval (major releases)"
    if release.release_type is not ReleaseType.MAJOR:
        return ControlPoint("2", name, PointStatus.NOT_APPLICABLE, "Only major releases need it.", "")

    def judge(release: Release, record: RfcRecord, context: EngineContext) -> tuple[PointStatus, str]:
        value = (record.change.field(context.governance_field) or "").strip()
        if value.casefold() in GOVERNANCE_YES:
            return PointStatus.PASS, f"{record.change.number} records governance approval ({value})."
        if _reached(record, RfcState.SCHEDULED):
            return (
                PointStatus.FAIL,
                f"{record.change.number} went ahead without governance approval recorded.",
            )
        return PointStatus.PENDING, f"{record.change.number} has no governance approval recorded yet."

    return _best(rfcs, release, "2", name, judge, context)


def _note_items(number: str, name: str, release: Release, keys: tuple[str, ...], source: str) -> ControlPoint:
    missing = [key for key in keys if key in release.note.missing]
    if missing:
        return ControlPoint(
            number, name, PointStatus.FAIL, "The note lacks " + ", ".join(missing) + ".", source
        )
    return ControlPoint(number, name, PointStatus.PASS, "The note has " + ", ".join(keys) + ".", source)


def _release_plan(release: Release, record: RfcRecord, context: EngineContext) -> tuple[PointStatus, str]:
    change = record.change
    if change.planned_start and change.planned_end:
        return PointStatus.PASS, (
            f"{change.number} is planned {change.planned_start:%Y-%m-%d %H:%M} "
            f"to {change.planned_end:%Y-%m-%d %H:%M}."
        )
    if _reached(record, RfcState.IMPLEMENT):
        return PointStatus.FAIL, f"{change.number} reached Implement without a planned start and end."
    return PointStatus.PENDING, f"{change.number} has no planned start and end yet."


def _approved(release: Release, record: RfcRecord, context: EngineContext) -> tuple[PointStatus, str]:
    change = record.change
    if is_approved(record, context):
        return PointStatus.PASS, f"{change.number} is approved ({change.approval})."
    if change.approval == "rejected" or change.state is RfcState.CANCELED:
        return PointStatus.FAIL, f"{change.number} is {change.approval}, {change.state.value}."
    return PointStatus.PENDING, f"{change.number} awaits approval ({change.approval})."


def _issues(release: Release, record: RfcRecord, context: EngineContext) -> tuple[PointStatus, str]:
    change = record.change
    # An RFC can pass through Implement between two reads; its planned start then opens the window.
    started = record.first_seen_in(RfcState.IMPLEMENT) or change.planned_start
    ended = min(
        (t for t in (record.first_seen_in(RfcState.REVIEW), record.first_seen_in(RfcState.CLOSED)) if t),
        default=None,
    )
    if started is None or ended is None:
        return PointStatus.PENDING, f"{change.number} has not been through Implement yet."
    during = [
        note
        for note in record.work_notes
        if started <= note.created_at <= ended and not note.text.startswith(BRIDGE_NOTE_MARK)
    ]
    if during:
        return PointStatus.PASS, f"{len(during)} work note(s) written on {change.number} during Implement."
    return PointStatus.FAIL, f"No work note was written on {change.number} during Implement."


def _closed_successful(
    release: Release, record: RfcRecord, context: EngineContext
) -> tuple[PointStatus, str]:
    change = record.change
    if change.state is RfcState.CLOSED:
        if is_deployed(record, context):
            return PointStatus.PASS, f"{change.number} closed {change.close_code}."
        if is_backed_out(record, context):
            return PointStatus.FAIL, f"{change.number} closed {change.close_code}: backed out."
        return PointStatus.FAIL, f"{change.number} closed with code {change.close_code or '(none)'}."
    if change.state is RfcState.CANCELED:
        return PointStatus.FAIL, f"{change.number} was canceled."
    return PointStatus.PENDING, f"{change.number} is {change.state.value}."


def _close_notes(release: Release, record: RfcRecord, context: EngineContext) -> tuple[PointStatus, str]:
    change = record.change
    if change.state is not RfcState.CLOSED:
        return PointStatus.PENDING, f"{change.number} is not closed yet."
    if change.close_notes.strip():
        return PointStatus.PASS, f"{change.number} has close notes."
    return PointStatus.FAIL, f"{change.number} closed without close notes."


def _lead_time(release: Release, record: RfcRecord, context: EngineContext) -> tuple[PointStatus, str]:
    change = record.change
    needed = 5 if release.release_type is ReleaseType.MAJOR else 1
    if change.cab_date is None:
        return PointStatus.PENDING, f"{change.number} has no CAB date."
    if release.published_at is None:
        return PointStatus.PENDING, "The release note has no publication time."
    days = working_days_before(release.published_at.date(), change.cab_date.date())
    text = (
        f"Note published {release.published_at:%Y-%m-%d}, {days} working day(s) before the CAB of "
        f"{change.cab_date:%Y-%m-%d} ({needed} needed for {_kind(release)})."
    )
    return (PointStatus.PASS if days >= needed else PointStatus.FAIL), text


def _kind(release: Release) -> str:
    kind = release.release_type.value if release.release_type else "other"
    return f"{'an' if kind[0] in 'aeiou' else 'a'} {kind} release"


def _reached(record: RfcRecord, state: RfcState) -> bool:
    order = list(RfcState)
    reached = order.index(state)
    return any(order.index(s) >= reached for s, _ in record.first_seen if s is not RfcState.CANCELED)


@lru_cache(maxsize=64)
def _bank_holidays(year: int) -> frozenset[date]:
    # England & Wales bank holidays, as the approach's working days exclude them.
    return frozenset(holidays.country_holidays("GB", subdiv="ENG", years=year))


def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and day not in _bank_holidays(day.year)


def working_days_before(published: date, cab: date) -> int:
    """Working days from the publication day (counted) up to the CAB day (not counted).

    Published on Friday for a Monday CAB is one working day before; on the CAB day itself, none.
    """
    days = 0
    day = published
    while day < cab:
        if is_working_day(day):
            days += 1
        day += timedelta(days=1)
    return days


def working_day_deadline(cab: datetime, needed: int) -> date:
    """The last day a note can be published to be `needed` working days before the CAB."""
    day = cab.date()
    counted = 0
    while counted < needed:
        day -= timedelta(days=1)
        if is_working_day(day):
            counted += 1
    return day
