"""A programme as the benchmarks build it: components with releases, each with its RFC and fixed defects.

Every release's note lists its fixed defects and names its RFC; each RFC reaches Review (the release is
deployed, to one of the four environments in turn) except the two newest releases of each component,
whose RFCs are still Scheduled; every listed defect is Fixed. The events are what the connectors would
hand the inbox for that history: 1 release, 1 RFC and the fixed defects per release.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bridge.domain.codec import encode_event
from bridge.domain.events import (
    ChangeUpdated,
    DefectUpdated,
    DomainEvent,
    NoteSource,
    ReleasePublished,
    RfcState,
)
from bridge.engine.context import Component, EngineContext
from bridge.mappings import environment_mapping, servicenow_mapping
from bridge.store import Store
from bridge.store.inbox import InboxKind
from bridge.store.journal import journal_identity

T0 = datetime(2024, 3, 4, 9, 0, tzinfo=UTC)
FIRST_DEFECT = 1000
WAITING_PER_COMPONENT = 2  # the newest releases of each component, not deployed yet


@dataclass(frozen=True)
class Programme:
    """The engine's context for the programme and the history, in the order it happened."""

    context: EngineContext
    events: list[DomainEvent]
    components: list[str]
    releases_per_component: int
    fixed_per_release: int

    @property
    def releases(self) -> int:
        return len(self.components) * self.releases_per_component


def version_of(release: int) -> str:
    """The version of a component's release `release` (0 for the first)."""
    return f"1.{release}.0.0"


def rfc_number(component: int, release: int) -> str:
    return f"CHG{component:03d}{release:04d}"


def rfc_sys_id(component: int, release: int) -> str:
    return f"{component:016d}{release:016d}"


def note(component: str, version: str, tag: str, rfc: str, fixed: range) -> str:
    rows = "\n".join(f"| {d} | 3 - Medium | Defect {d} summary |" for d in fixed)
    return f"""# {component} — Release {version}

| Item | Detail |
|---|---|
| Programme | MHHS |
| Release number | {version} |
| Release date | 04-Mar-2024 |
| Released to | SI Environment Manager |
| Issued by | Release Manager |
| Source control tag | `{tag}` |
| RFC | {rfc} |

## Release content
Fixes from SIT.

## Defects fixed
| ID | Severity | Summary |
|---|---|---|
{rows}

## Outstanding defects
None.

## Change requests
None.

## Bill of materials
| Item | Version | Date |
|---|---|---|
| {component}.jar | {version} | 01-Mar-2024 |

## Installation instructions
### Pre-requisites
1. Back up the configuration (Deployment Team, 5 min)
### Release instructions
1. Deploy (Deployment Team, 10 min)
### Post-release checks
1. The health endpoint returns 200.

## Backout plan
1. Redeploy the previous release (Deployment Team, 10 min)

## Service impact
Down for 10 minutes.
"""


def component_names(components: int) -> list[str]:
    return [f"component-{n:02d}" for n in range(components)]


def programme_context(components: int) -> EngineContext:
    """The engine's context for a programme of `components` components."""
    return EngineContext(
        components=tuple(
            Component(f"mhhs/{c}", c, ("{component}/{version}",)) for c in component_names(components)
        ),
        servicenow=servicenow_mapping(),
        environments=environment_mapping(),
        gitlab_url="https://gitlab.example.com",
        servicenow_url="https://example.service-now.com",
        ado_project_url="https://dev.azure.com/mhhs/Programme",
    )


def programme(
    components: int = 10, releases_per_component: int = 20, fixed_per_release: int = 25
) -> Programme:
    """The programme with its history: components × releases, each release fixing its own defects."""
    environments = [e.name for e in environment_mapping().environments]
    names = component_names(components)
    context = programme_context(components)
    events: list[DomainEvent] = []
    defect_id = FIRST_DEFECT
    for c, component in enumerate(names):
        for r in range(releases_per_component):
            version = version_of(r)
            tag = f"{component}/{version}"
            number = rfc_number(c, r)
            published = T0 + timedelta(days=r, hours=c)
            fixed = range(defect_id, defect_id + fixed_per_release)
            defect_id += fixed_per_release
            events.append(
                ReleasePublished(
                    project=f"mhhs/{component}",
                    component=component,
                    tag=tag,
                    commit_sha=f"{c:04d}{r:04d}".ljust(40, "0"),
                    note=note(component, version, tag, number, fixed),
                    note_source=NoteSource.RELEASE,
                    published_at=published,
                    read_at=published,
                )
            )
            deployed = r < releases_per_component - WAITING_PER_COMPONENT
            events.append(
                ChangeUpdated(
                    sys_id=rfc_sys_id(c, r),
                    number=number,
                    mod_count=3,
                    updated_at=published + timedelta(days=5),
                    state=RfcState.REVIEW if deployed else RfcState.SCHEDULED,
                    type="normal",
                    approval="approved",
                    close_code=None,
                    close_notes="",
                    planned_start=published + timedelta(days=4),
                    planned_end=published + timedelta(days=6),
                    cab_date=published + timedelta(days=3),
                    short_description=f"Deploy {component} {version}",
                    description="",
                    correlation_id="",
                    environment=environments[(c + r) % len(environments)],
                )
            )
            events.extend(
                DefectUpdated(
                    id=d,
                    rev=2,
                    state="Fixed",
                    severity="3 - Medium",
                    title=f"Defect {d}",
                    changed_at=published,
                    changed_by="Tester",
                )
                for d in fixed
            )
    return Programme(context, events, names, releases_per_component, fixed_per_release)


def put_in_inbox(store: Store, events: list[DomainEvent]) -> None:
    """The events stored in the inbox as a poll stores them, in one transaction."""
    with store.transaction() as tx:
        for event in events:
            kind, key, revision = journal_identity(event)
            tx.inbox.put(
                event.source, f"{kind}:{key}:{revision}", InboxKind.POLL, {"event": encode_event(event)}
            )
