"""GitLab connector polls against the simulator: first run, incremental, paging, sweeps, request counts."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
import requests

from bridge.domain.events import NoteSource, ReleasePublished
from bridge.errors import PermanentError, TransientError
from connectors.gitlab.connector import GitLabConnector
from connectors.gitlab.simulator import GitLabSimulator
from tests.connectors.gitlab import connector_fixtures as fixtures
from tests.connectors.gitlab.connector_fixtures import (
    COMPONENT,
    OTHER,
    PROJECT,
    Connect,
    requests_made,
    reset_requests,
)

connect, connector, sleep = fixtures.connect, fixtures.connector, fixtures.sleep

TAGS = "GET /api/v4/projects/:id/repository/tags"
RELEASES = "GET /api/v4/projects/:id/releases"


def _released(events: tuple[Any, ...]) -> dict[str, ReleasePublished]:
    found = {e.tag: e for e in events if isinstance(e, ReleasePublished)}
    assert len(found) == len(events), "one event per tag"
    return found


def _many_tags(sim: GitLabSimulator, project_id: int, count: int, *, start: int = 0) -> list[str]:
    names = [f"{COMPONENT}/1.0.{n}.0" for n in range(start, start + count)]
    for name in names:
        sim.create_tag(project_id, name, "main", f"Release {name}")
    return names


@pytest.fixture
def history(instance: Any, sim: GitLabSimulator, project: dict[str, Any]) -> dict[str, str]:
    """Four tags: annotated, lightweight, with a release, and one that matches no tag pattern."""
    pid = project["id"]
    shas = {"first": sim.add_commit(pid, "First")}
    sim.create_tag(pid, f"{COMPONENT}/1.0.0.0", "main", "Release 1.0.0.0\n\nFirst drop")
    instance.clock.advance(60)
    shas["second"] = sim.add_commit(pid, "Second")
    sim.create_tag(pid, f"{COMPONENT}/1.0.1.0", "main")
    instance.clock.advance(60)
    shas["third"] = sim.add_commit(pid, "Third")
    sim.create_release(pid, f"{COMPONENT}/1.0.2.0", "# DIP 1.0.2.0\n## Defects fixed\n- 1234\n", ref="main")
    instance.clock.advance(60)
    sim.create_tag(pid, "nightly-build", "main", "not a release")
    instance.clock.advance(60)
    return shas


def test_the_first_run_reports_every_tag_with_its_note_sha_dates_and_link(
    instance: Any, connector: GitLabConnector, history: dict[str, str]
) -> None:
    now = instance.clock()
    page = connector.poll(None, now=now)
    assert not page.more
    found = _released(page.events)
    assert sorted(found) == sorted(
        [f"{COMPONENT}/1.0.0.0", f"{COMPONENT}/1.0.1.0", f"{COMPONENT}/1.0.2.0", "nightly-build"]
    )
    annotated, light, released = (found[f"{COMPONENT}/1.0.{n}.0"] for n in range(3))
    assert (annotated.note_source, annotated.note) == (
        NoteSource.TAG_MESSAGE,
        "Release 1.0.0.0\n\nFirst drop",
    )
    assert annotated.commit_sha == history["first"]
    assert annotated.web_url == f"{instance.instance_url}/{PROJECT}/-/tags/dip-platform%2F1.0.0.0"
    assert (light.note_source, light.note, light.commit_sha) == (NoteSource.NONE, "", history["second"])
    assert (released.note_source, released.commit_sha) == (NoteSource.RELEASE, history["third"])
    assert released.note.startswith("# DIP 1.0.2.0")
    assert released.web_url == f"{instance.instance_url}/{PROJECT}/-/releases/dip-platform%2F1.0.2.0"
    assert all(e.read_at == now and e.project == PROJECT and e.component == COMPONENT for e in found.values())
    assert found["nightly-build"].note == "not a release"  # reported: the engine records the finding


def test_published_at_is_the_release_date_else_the_tag_or_commit_date(
    instance: Any, connector: GitLabConnector, history: dict[str, str]
) -> None:
    start = instance.clock() - timedelta(seconds=240)
    found = _released(connector.poll(None, now=instance.clock()).events)
    assert found[f"{COMPONENT}/1.0.0.0"].published_at == start  # the annotated tag's date
    assert found[f"{COMPONENT}/1.0.1.0"].published_at == start + timedelta(seconds=60)  # the commit's
    assert found[f"{COMPONENT}/1.0.2.0"].published_at == start + timedelta(seconds=120)  # released_at


def test_a_poll_with_nothing_new_costs_one_request_per_project(
    instance: Any, sim: GitLabSimulator, connect: Connect, history: dict[str, str]
) -> None:
    other = sim.create_project(OTHER)
    sim.add_commit(other["id"], "Helix")
    sim.create_tag(other["id"], "helix-settlement/1.0.0.0", "main", "Release")
    connector = connect(projects=(PROJECT, OTHER))
    cursor = connector.poll(None, now=instance.clock()).cursor
    reset_requests(instance)
    page = connector.poll(cursor, now=instance.clock())
    assert page.events == () and not page.more
    assert requests_made(instance) == {TAGS: 2}


def test_incremental_polls_report_only_new_and_changed_releases(
    instance: Any, sim: GitLabSimulator, connector: GitLabConnector, history: dict[str, str]
) -> None:
    cursor = connector.poll(None, now=instance.clock()).cursor
    pid = 1
    sim.add_commit(pid, "Fourth")
    sim.create_release(pid, f"{COMPONENT}/1.0.3.0", "# DIP 1.0.3.0\n", ref="main")
    reset_requests(instance)
    page = connector.poll(cursor, now=instance.clock())
    assert [e.tag for e in _released(page.events).values()] == [f"{COMPONENT}/1.0.3.0"]
    assert requests_made(instance) == {TAGS: 1, RELEASES: 1}

    instance.clock.advance(60)
    sim.update_release(
        pid, f"{COMPONENT}/1.0.2.0", description="# DIP 1.0.2.0\n## Defects fixed\n- 1234\n- 1240\n"
    )
    edited = connector.poll(page.cursor, now=instance.clock())
    [event] = edited.events
    assert isinstance(event, ReleasePublished) and event.note.endswith("- 1240\n")

    sim.create_release(pid, f"{COMPONENT}/1.0.0.0", "Now with a note")
    with_note = connector.poll(edited.cursor, now=instance.clock())
    [event] = with_note.events
    assert isinstance(event, ReleasePublished)
    assert (event.note_source, event.note) == (NoteSource.RELEASE, "Now with a note")

    sim.delete_release(pid, f"{COMPONENT}/1.0.0.0")
    [event] = connector.poll(with_note.cursor, now=instance.clock()).events
    assert isinstance(event, ReleasePublished)
    assert (event.note_source, event.note) == (NoteSource.TAG_MESSAGE, "Release 1.0.0.0\n\nFirst drop")


def test_a_deleted_tag_is_reported_removed_once(
    instance: Any, sim: GitLabSimulator, connector: GitLabConnector, history: dict[str, str]
) -> None:
    cursor = connector.poll(None, now=instance.clock()).cursor
    sim.delete_tag(1, f"{COMPONENT}/1.0.2.0")
    page = connector.poll(cursor, now=instance.clock())
    [event] = page.events
    assert isinstance(event, ReleasePublished)
    assert (event.tag, event.removed, event.commit_sha) == (f"{COMPONENT}/1.0.2.0", True, None)
    assert connector.poll(page.cursor, now=instance.clock()).events == ()


def test_the_cursor_moves_only_when_the_caller_stores_it(
    instance: Any, sim: GitLabSimulator, connector: GitLabConnector, history: dict[str, str]
) -> None:
    cursor = connector.poll(None, now=instance.clock()).cursor
    sim.add_commit(1, "Fourth")
    sim.create_release(1, f"{COMPONENT}/1.0.3.0", "note", ref="main")
    first = connector.poll(cursor, now=instance.clock())
    again = connector.poll(cursor, now=instance.clock())  # the first page was never stored
    assert [e.revision for e in first.events] == [e.revision for e in again.events] != []
    assert first.cursor == again.cursor


def test_the_cursor_never_records_a_time_past_the_polls_start(
    instance: Any, connector: GitLabConnector, history: dict[str, str]
) -> None:
    now = instance.clock()
    cursor = json.loads(connector.poll(None, now=now).cursor or "")
    times = [p["swept_at"] for p in cursor["projects"].values()]
    assert times == [now.isoformat()]


def test_the_first_run_reads_a_long_history_in_pages(
    instance: Any, sim: GitLabSimulator, connector: GitLabConnector, project: dict[str, Any]
) -> None:
    sim.add_commit(1, "Base")
    names = _many_tags(sim, 1, 230)
    sim.create_release(1, names[5], "five")
    cursor: str | None = None
    pages = []
    reset_requests(instance)
    while True:
        page = connector.poll(cursor, now=instance.clock())
        pages.append(page)
        cursor = page.cursor
        if not page.more:
            break
    assert len(pages) == 3  # 100 + 100 + 30, by name in keyset pages
    seen = [tag for p in pages for tag in _released(p.events)]
    assert sorted(seen) == sorted(names) and len(seen) == len(set(seen))
    assert requests_made(instance)[TAGS] == 3
    reset_requests(instance)
    assert connector.poll(cursor, now=instance.clock()).events == ()
    assert requests_made(instance) == {TAGS: 1}


def test_beyond_a_page_a_new_tag_costs_one_request_and_a_deleted_old_tag_starts_a_sweep(
    instance: Any, sim: GitLabSimulator, connector: GitLabConnector, project: dict[str, Any]
) -> None:
    sim.add_commit(1, "Base")
    names = _many_tags(sim, 1, 150)
    cursor = connector.poll(None, now=instance.clock()).cursor
    cursor = connector.poll(cursor, now=instance.clock()).cursor
    instance.clock.advance(60)
    sim.add_commit(1, "Next")
    sim.create_tag(1, f"{COMPONENT}/1.1.0.0", "main", "Minor")
    reset_requests(instance)
    page = connector.poll(cursor, now=instance.clock())
    assert list(_released(page.events)) == [f"{COMPONENT}/1.1.0.0"] and not page.more
    assert requests_made(instance) == {TAGS: 1}

    # An old tag (not on the first page, newest first) goes: X-Total no longer adds up.
    sim.delete_tag(1, names[0])
    page = connector.poll(page.cursor, now=instance.clock())
    assert page.events == () and page.more
    removed: list[ReleasePublished] = []
    while page.more:
        page = connector.poll(page.cursor, now=instance.clock())
        removed += [e for e in page.events if isinstance(e, ReleasePublished)]
    assert [(e.tag, e.removed) for e in removed] == [(names[0], True)]
    reset_requests(instance)
    assert connector.poll(page.cursor, now=instance.clock()).events == ()
    assert requests_made(instance) == {TAGS: 1}


def test_a_periodic_sweep_finds_an_edit_to_an_old_release(
    instance: Any, sim: GitLabSimulator, connect: Connect, project: dict[str, Any]
) -> None:
    connector = connect(sweep_every=timedelta(hours=1))
    sim.add_commit(1, "Base")
    names = _many_tags(sim, 1, 120)
    sim.create_release(1, names[0], "old note")
    page = connector.poll(None, now=instance.clock())
    while page.more:
        page = connector.poll(page.cursor, now=instance.clock())
    sim.update_release(1, names[0], description="old note, corrected")
    instance.clock.advance(1800)
    quiet = connector.poll(page.cursor, now=instance.clock())
    assert quiet.events == () and not quiet.more  # not on the first page, and no sweep due yet
    instance.clock.advance(1800)
    page = connector.poll(quiet.cursor, now=instance.clock())
    found: list[ReleasePublished] = []
    while page.more:
        page = connector.poll(page.cursor, now=instance.clock())
        found += [e for e in page.events if isinstance(e, ReleasePublished)]
    assert [(e.tag, e.note) for e in found] == [(names[0], "old note, corrected")]


def test_a_sweep_starts_again_when_its_page_token_tag_is_deleted(
    instance: Any, sim: GitLabSimulator, connector: GitLabConnector, project: dict[str, Any]
) -> None:
    sim.add_commit(1, "Base")
    names = sorted(_many_tags(sim, 1, 130))
    first = connector.poll(None, now=instance.clock())
    assert first.more and len(first.events) == 100
    sim.delete_tag(1, names[99])  # the tag the next keyset page starts after
    restarted = connector.poll(first.cursor, now=instance.clock())
    assert restarted.events == () and restarted.more
    page = restarted
    events: list[ReleasePublished] = []
    while page.more:
        page = connector.poll(page.cursor, now=instance.clock())
        events += [e for e in page.events if isinstance(e, ReleasePublished)]
    assert [(e.tag, e.removed) for e in events if e.removed] == [(names[99], True)]
    assert {e.tag for e in events if not e.removed} == set(names[100:])


def test_cursor_since_reads_only_what_was_published_since(
    instance: Any, connector: GitLabConnector, history: dict[str, str]
) -> None:
    since = instance.clock() - timedelta(seconds=150)
    page = connector.poll(connector.cursor_since(since), now=instance.clock())
    assert not page.more
    assert sorted(_released(page.events)) == [f"{COMPONENT}/1.0.2.0", "nightly-build"]
    assert connector.poll(page.cursor, now=instance.clock()).events == ()


def test_a_cursor_that_is_not_ours_is_refused(connector: GitLabConnector, instance: Any) -> None:
    with pytest.raises(PermanentError, match="not a GitLab poll cursor"):
        connector.poll('{"v": 99}', now=instance.clock())


def test_a_poll_that_keeps_failing_raises_transient_and_leaves_the_cursor_alone(
    instance: Any, connector: GitLabConnector, history: dict[str, str], sleep: Any
) -> None:
    cursor = connector.poll(None, now=instance.clock()).cursor
    requests.post(f"{instance.url}/_sim/faults", json={"rate_503": 1.0}, timeout=5).raise_for_status()
    with pytest.raises(TransientError, match="HTTP 503"):
        connector.poll(cursor, now=instance.clock())
    assert sleep.waits  # retried within the policy before giving up
    requests.delete(f"{instance.url}/_sim/faults", timeout=5).raise_for_status()
    assert connector.poll(cursor, now=instance.clock()).events == ()
