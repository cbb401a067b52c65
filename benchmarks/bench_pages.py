"""The pages and their JSON twins on a large programme: 200 releases, 200 RFCs, 5,000 fixed defects."""

from __future__ import annotations

import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient

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
from bridge.service.app import create_app
from bridge.service.processor import Processor
from bridge.store import Store
from bridge.store.inbox import InboxKind
from bridge.store.journal import journal_identity

COMPONENTS = 10
RELEASES_PER_COMPONENT = 20
FIXED_PER_RELEASE = 25
ROUNDS = 15
T0 = datetime(2024, 3, 4, 9, 0, tzinfo=UTC)


def _note(component: str, version: str, tag: str, rfc: str, fixed: range) -> str:
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


def _programme() -> tuple[EngineContext, list[DomainEvent]]:
    environments = [e.name for e in environment_mapping().environments]
    components = [f"component-{n:02d}" for n in range(COMPONENTS)]
    context = EngineContext(
        components=tuple(Component(f"mhhs/{c}", c, ("{component}/{version}",)) for c in components),
        servicenow=servicenow_mapping(),
        environments=environment_mapping(),
        gitlab_url="https://gitlab.example.com",
        servicenow_url="https://example.service-now.com",
        ado_project_url="https://dev.azure.com/mhhs/Programme",
    )
    events: list[DomainEvent] = []
    defect_id = 1000
    for c, component in enumerate(components):
        for r in range(RELEASES_PER_COMPONENT):
            version = f"1.{r}.0.0"
            tag = f"{component}/{version}"
            number = f"CHG{c:03d}{r:04d}"
            published = T0 + timedelta(days=r, hours=c)
            fixed = range(defect_id, defect_id + FIXED_PER_RELEASE)
            defect_id += FIXED_PER_RELEASE
            events.append(
                ReleasePublished(
                    project=f"mhhs/{component}",
                    component=component,
                    tag=tag,
                    commit_sha=f"{c:04d}{r:04d}".ljust(40, "0"),
                    note=_note(component, version, tag, number, fixed),
                    note_source=NoteSource.RELEASE,
                    published_at=published,
                    read_at=published,
                )
            )
            deployed = r < RELEASES_PER_COMPONENT - 2  # the two newest wait for their deployment
            events.append(
                ChangeUpdated(
                    sys_id=f"{c:016d}{r:016d}",
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
    return context, events


def _timed(client: TestClient, path: str) -> tuple[float, float, int]:
    times = []
    size = 0
    for _ in range(ROUNDS):
        started = time.perf_counter()
        answer = client.get(path)
        times.append((time.perf_counter() - started) * 1000)
        if answer.status_code != 200:
            raise RuntimeError(f"{path} answered {answer.status_code}: {answer.text[:200]}")
        size = len(answer.content)
    times.sort()
    return statistics.median(times), times[-1], size


def run() -> dict[str, object]:
    work = Path(tempfile.mkdtemp(prefix="bench-pages-"))
    context, events = _programme()
    store = Store.from_url(f"sqlite:///{work / 'bridge.db'}")
    store.upgrade()
    processor = Processor(store, {}, context)
    started = time.perf_counter()
    with store.transaction() as tx:
        for event in events:
            kind, key, revision = journal_identity(event)
            tx.put_inbox(
                event.source, f"{kind}:{key}:{revision}", InboxKind.POLL, {"event": encode_event(event)}
            )
    while processor.process_inbox(limit=5000):
        pass
    seeded_s = time.perf_counter() - started

    figures: dict[str, object] = {"pages_seed_s": round(seeded_s, 1)}
    with store.transaction(readonly=True) as tx:
        counts = tx.outbox_counts()
    figures["pages_actions_waiting"] = sum(counts.values())
    pages = {
        "releases": "/",
        "releases_filtered": "/?component=component-03&findings=",
        "release": "/releases/component-03/1.10.0.0",
        "environments": "/environments",
        "history": "/environments/SIT-A/component-03",
        "findings": "/findings",
        "outbox": "/outbox",
        "api_releases": "/api/releases",
        "api_release": "/api/releases/component-03/1.10.0.0",
        "report": "/report?since=2024-01-01",
    }
    with TestClient(create_app(processor)) as client:
        for name, path in pages.items():
            p50, worst, size = _timed(client, path)
            print(
                f"   {path:42} p50 {p50:7.1f} ms   max {worst:7.1f} ms   {size / 1024:7.1f} KiB", flush=True
            )
            figures[f"page_{name}_p50_ms"] = round(p50, 1)
    store.close()
    return figures
