"""Write-backs to ServiceNow: the RFC's work note about its release, its correlation id, draft RFCs.

A work note is keyed by its content, so it is written once per change of content and never repeated.
"""

from __future__ import annotations

from datetime import datetime

from bridge.domain.actions import AddWorkNote, CreateRfcDraft, SetCorrelation
from bridge.domain.findings import Finding
from bridge.domain.keys import CorrelationId, Subject
from bridge.engine.context import EngineContext
from bridge.engine.control_points import BRIDGE_NOTE_MARK, ControlPoint
from bridge.engine.releases import Release
from bridge.engine.state import RfcRecord


def work_note(
    record: RfcRecord,
    releases: list[Release],
    points: dict[str, list[ControlPoint]],
    findings: list[Finding],
    context: EngineContext,
) -> AddWorkNote:
    """The work note that tells the RFC's readers about its linked releases."""
    lines = [f"{BRIDGE_NOTE_MARK} Linked release(s) of {record.change.number}"]
    for release in releases:
        url = release.web_url or context.release_url(release.project, release.tag)
        lines += [
            "",
            f"Release {release.component} {release.version} ({release.release_type or 'unknown type'})",
        ]
        lines.append(f"Tag: {release.tag}" + (f" ({url})" if url else ""))
        lines.append(
            "Defects fixed: " + _defects([(d.id, d.severity, d.summary) for d in release.note.defects_fixed])
        )
        lines.append(
            "Defects outstanding: "
            + _defects([(d.id, d.severity, d.summary) for d in release.note.defects_outstanding])
        )
        if release.note.defects_unclassified:  # named where the note does not say fixed: never moved
            lines.append(
                "Defects unclassified (not moved; the note should be corrected): "
                + _defects([(d.id, d.severity, d.summary) for d in release.note.defects_unclassified])
            )
        crs = [f"{c.id} {c.title or ''}".strip() for c in release.note.change_requests]
        lines.append("Change requests: " + ("; ".join(crs) if crs else "none"))
        missing = release.note.missing
        lines.append(
            "Release note check: " + ("complete" if not missing else "missing " + ", ".join(missing))
        )
        lines.append("Control points:")
        for point in points.get(release.key, []):
            lines.append(f"  {point.number}. {point.name}: {point.status.value}")
        about = [
            f for f in findings if f.subject in (release.subject, str(Subject.rfc(record.change.number)))
        ]
        if about:
            lines.append("Findings:")
            lines += [f"  [{f.severity.value}] {f.message}" for f in about]
    return AddWorkNote(record.change.sys_id, record.change.number, "\n".join(lines))


def _defects(items: list[tuple[int, str | None, str | None]]) -> str:
    if not items:
        return "none"
    return "; ".join(
        f"{defect_id}" + (f" ({severity})" if severity else "") + (f" {summary}" if summary else "")
        for defect_id, severity, summary in items
    )


def correlation(record: RfcRecord, release: Release) -> SetCorrelation | None:
    """Name the release on the RFC when its correlation id is empty or already the bridge's."""
    current = record.change.correlation_id
    wanted = str(CorrelationId(release.ref))
    if current == wanted or (current and not CorrelationId.owns(current)):
        return None
    return SetCorrelation(record.change.sys_id, wanted, f"{release.component} {release.version}")


def drafts(
    releases: list[Release], linked: set[str], context: EngineContext, now: datetime
) -> list[CreateRfcDraft]:
    """Draft RFCs for releases no RFC links to within the configured time (when the policy is on)."""
    if not context.create_rfc_drafts:
        return []
    wanted = []
    for release in releases:
        if release.key in linked or release.published_at is None:
            continue
        if now - release.published_at < context.rfc_draft_after:
            continue
        released_to = release.note.item("released_to")
        environment = context.environments.find_in(released_to.value or "") if released_to else None
        environment = environment or context.environments.find_in(release.note.title or "")
        short = f"Deploy {release.component} {release.version}" + (
            f" to {environment}" if environment else ""
        )
        wanted.append(
            CreateRfcDraft(
                str(CorrelationId(release.ref)),
                short,
                _draft_description(release),
                environment,
            )
        )
    return wanted


def _draft_description(release: Release) -> str:
    note = release.note
    parts = [
        f"Draft raised by the release bridge for {release.component} {release.version} (tag {release.tag}): "
        "no RFC linked to this release. Review and complete before assessment.",
        "",
        "Defects fixed: " + _defects([(d.id, d.severity, d.summary) for d in note.defects_fixed]),
        "Defects outstanding: " + _defects([(d.id, d.severity, d.summary) for d in note.defects_outstanding]),
        "",
        "Release note:",
        release.note_text,
    ]
    return "\n".join(parts)
