"""Builders for the engine's tests: events with sensible defaults, and a context like the programme's."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

from bridge.domain.events import (
    ChangeUpdated,
    DefectMoved,
    DefectUpdated,
    JournalEntry,
    NoteSource,
    ReleasePublished,
    RfcState,
)
from bridge.engine.context import Component, EngineContext
from bridge.mappings import environment_mapping, servicenow_mapping

T0 = datetime(2024, 3, 4, 9, 0, tzinfo=UTC)  # a Monday


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


PLANNED = (at(-24), at(240))  # the default change window: a day before T0 to ten days after
CAB = at(72)


def context(**overrides: Any) -> EngineContext:
    values: dict[str, Any] = {
        "components": (
            Component("mhhs/dip-platform", "dip-platform", ("{component}/{version}",)),
            Component("mhhs/helix-settlement", "helix-settlement", ("{component}@{version}",)),
        ),
        "servicenow": servicenow_mapping(),
        "environments": environment_mapping(),
        "gitlab_url": "https://gitlab.example.com",
        "servicenow_url": "https://example.service-now.com",
    }
    values.update(overrides)
    return EngineContext(**values)


def note(
    version: str,
    *,
    fixed: tuple[int, ...] = (),
    outstanding: tuple[int, ...] = (),
    rfc: str | None = None,
    tag: str | None = None,
    complete: bool = True,
) -> str:
    """A release note in the programme's usual form."""
    lines = [
        f"# DIP Platform — Release {version}",
        "",
        "| Item | Detail |",
        "|---|---|",
        "| Programme | MHHS |",
        f"| Release number | {version} |",
        "| Release date | 04-Mar-2024 |",
        "| Released to | SI Environment Manager, SIT-A |",
        "| Issued by | DIP Release Manager |",
        f"| Source control tag | `{tag or f'dip-platform/{version}'}` |",
    ]
    if rfc:
        lines.append(f"| RFC | {rfc} |")
    lines += ["", "## Release content", "Fixes from SIT.", "", "## Defects fixed"]
    lines += ["| ID | Severity | Summary |", "|---|---|---|"]
    lines += [f"| {d} | 3 - Medium | Defect {d} summary |" for d in fixed] or ["None."]
    lines += ["", "## Outstanding defects", "| ID | Severity | Summary | Workaround |", "|---|---|---|---|"]
    lines += [f"| {d} | 4 - Low | Open defect {d} | None |" for d in outstanding] or ["None."]
    if complete:
        lines += [
            "",
            "## Change requests",
            "None.",
            "",
            "## Bill of materials",
            "| Item | Version | Date |",
            "|---|---|---|",
            f"| dip-router.jar | {version} | 01-Mar-2024 |",
            "",
            "## Installation instructions",
            "### Pre-requisites",
            "1. Back up the configuration (Deployment Team, 5 min)",
            "### Release instructions",
            "1. Deploy the router (Deployment Team, 10 min)",
            "### Post-release checks",
            "1. The health endpoint returns 200.",
            "",
            "## Backout plan",
            "1. Redeploy the previous release (Deployment Team, 10 min)",
            "",
            "## Service impact",
            "The router is down for 10 minutes.",
        ]
    return "\n".join(lines) + "\n"


def release(
    version: str,
    *,
    component: str = "dip-platform",
    project: str | None = None,
    tag: str | None = None,
    text: str | None = None,
    published: datetime = T0,
    read: datetime | None = None,
    **note_args: Any,
) -> ReleasePublished:
    project = project or f"mhhs/{component}"
    tag = tag or (f"{component}@{version}" if component == "helix-settlement" else f"{component}/{version}")
    return ReleasePublished(
        project=project,
        component=component,
        tag=tag,
        commit_sha=hashlib.sha1(tag.encode()).hexdigest(),  # a fake commit id
        note=text if text is not None else note(version, tag=tag, **note_args),
        note_source=NoteSource.RELEASE,
        published_at=published,
        read_at=read or published,
    )


def rfc(
    number: str,
    state: RfcState,
    *,
    mod: int,
    updated: datetime,
    sys_id: str | None = None,
    environment: str | None = "SIT-A",
    short_description: str = "",
    approval: str = "approved",
    close_code: str | None = None,
    close_notes: str = "",
    planned: tuple[datetime, datetime] | None = PLANNED,
    cab: datetime | None = CAB,
    correlation_id: str = "",
    fields: tuple[tuple[str, str], ...] = (),
    work_notes: tuple[JournalEntry, ...] | None = None,
) -> ChangeUpdated:
    return ChangeUpdated(
        sys_id=sys_id or f"{number.lower():0>32}"[-32:],
        number=number,
        mod_count=mod,
        updated_at=updated,
        state=state,
        type="normal",
        approval=approval,
        close_code=close_code,
        close_notes=close_notes,
        planned_start=planned[0] if planned else None,
        planned_end=planned[1] if planned else None,
        cab_date=cab,
        short_description=short_description,
        description="",
        correlation_id=correlation_id,
        environment=environment,
        fields=fields,
        work_notes=work_notes,
    )


def defect(defect_id: int, state: str, *, rev: int, changed: datetime = T0) -> DefectUpdated:
    return DefectUpdated(
        id=defect_id,
        rev=rev,
        state=state,
        severity="3 - Medium",
        title=f"Defect {defect_id}",
        changed_at=changed,
        changed_by="Tester",
    )


def moved(
    defect_id: int,
    deployment: str,
    *,
    rev: int,
    from_state: str = "Fixed",
    to_state: str = "Ready for Retest",
    reason: str = "retest",
) -> DefectMoved:
    """The dispatcher's report that the bridge moved a defect."""
    return DefectMoved(defect_id, deployment, from_state, to_state, rev, reason, T0)
