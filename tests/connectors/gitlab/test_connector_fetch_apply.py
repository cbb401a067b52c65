"""GitLab connector re-reads and actions against the simulator: fetch by tag, merge-base ancestry."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from bridge.connector import OutcomeStatus
from bridge.domain.actions import AddWorkNote, CheckAncestry, MoveDefect
from bridge.domain.events import AncestryChecked, NoteSource, RecordRef, ReleasePublished, Source
from bridge.errors import PermanentError
from connectors.gitlab.connector import GitLabConnector
from connectors.gitlab.simulator import GitLabSimulator
from tests.connectors.gitlab import connector_fixtures as fixtures
from tests.connectors.gitlab.connector_fixtures import (
    COMPONENT,
    PROJECT,
    Connect,
    FakeSleep,
    requests_made,
    reset_requests,
)

connect, connector, sleep = fixtures.connect, fixtures.connector, fixtures.sleep

EMERGENCY = f"{COMPONENT}/1.0.1.1"
REGULAR = f"{COMPONENT}/1.0.2.0"


def _ref(tag: str, project: str = PROJECT) -> RecordRef:
    return RecordRef(Source.GITLAB, "release", f"{project}:{tag}")


@pytest.fixture
def repo(sim: GitLabSimulator, project: dict[str, Any]) -> dict[str, str]:
    """main with 1.0.1.0; an emergency 1.0.1.1 on a hotfix branch merged back before 1.0.2.0; and an
    emergency 1.0.1.2 on a branch that was never merged."""
    shas = {"base": sim.add_commit(1, "Base")}
    sim.create_tag(1, f"{COMPONENT}/1.0.1.0", "main", "Release 1.0.1.0")
    sim.create_branch(1, "hotfix", "main")
    shas["hotfix"] = sim.add_commit(1, "Hotfix 1240", branch="hotfix")
    sim.create_release(1, EMERGENCY, "# Emergency 1.0.1.1", ref="hotfix")
    sim.create_branch(1, "lost", f"{COMPONENT}/1.0.1.0")
    shas["lost"] = sim.add_commit(1, "Hotfix 1250, never merged", branch="lost")
    sim.create_tag(1, f"{COMPONENT}/1.0.1.2", "lost")
    sim.merge(1, "hotfix")
    shas["regular"] = sim.add_commit(1, "Feature")
    sim.create_release(1, REGULAR, "# DIP 1.0.2.0", ref="main")
    return shas


def test_fetch_reads_a_tag_and_its_release_by_name(
    instance: Any, connector: GitLabConnector, repo: dict[str, str]
) -> None:
    reset_requests(instance)
    event = connector.fetch(_ref(REGULAR))
    assert isinstance(event, ReleasePublished)
    assert (event.note_source, event.note, event.commit_sha) == (
        NoteSource.RELEASE,
        "# DIP 1.0.2.0",
        repo["regular"],
    )
    assert event.web_url == f"{instance.instance_url}/{PROJECT}/-/releases/dip-platform%2F1.0.2.0"
    assert event.read_at == instance.clock()
    # The `/` in the tag name travels encoded (dip-platform%2F1.0.2.0) as one path segment.
    assert requests_made(instance) == {
        "GET /api/v4/projects/:id/repository/tags/:tag_name": 1,
        "GET /api/v4/projects/:id/releases/:tag_name": 1,
    }


def test_fetch_of_a_tag_without_a_release_costs_one_request(
    instance: Any, connector: GitLabConnector, repo: dict[str, str]
) -> None:
    reset_requests(instance)
    event = connector.fetch(_ref(f"{COMPONENT}/1.0.1.0"))
    assert isinstance(event, ReleasePublished)
    assert (event.note_source, event.note) == (NoteSource.TAG_MESSAGE, "Release 1.0.1.0")
    assert requests_made(instance) == {"GET /api/v4/projects/:id/repository/tags/:tag_name": 1}


def test_fetch_of_a_tag_that_is_gone_is_none(connector: GitLabConnector, repo: dict[str, str]) -> None:
    assert connector.fetch(_ref(f"{COMPONENT}/9.9.9.9")) is None


@pytest.mark.parametrize(
    "ref",
    [
        _ref(REGULAR, "mhhs/elsewhere"),
        RecordRef(Source.GITLAB, "release", PROJECT),
        RecordRef(Source.ADO, "defect", "1234"),
    ],
)
def test_fetch_refuses_what_is_not_a_configured_release(connector: GitLabConnector, ref: RecordRef) -> None:
    with pytest.raises(PermanentError):
        connector.fetch(ref)


def test_an_emergency_fix_merged_back_is_an_ancestor_of_the_next_release(
    instance: Any, connector: GitLabConnector, repo: dict[str, str]
) -> None:
    action = CheckAncestry(PROJECT, EMERGENCY, REGULAR)
    reset_requests(instance)
    [outcome] = connector.apply([action])
    assert (outcome.key, outcome.status) == (action.key, OutcomeStatus.DONE)
    assert outcome.fresh == AncestryChecked(PROJECT, EMERGENCY, REGULAR, True, repo["hotfix"])
    assert requests_made(instance) == {
        "GET /api/v4/projects/:id/repository/tags/:tag_name": 1,
        "GET /api/v4/projects/:id/repository/merge_base": 1,
    }
    assert connector.apply([action]) == [outcome]  # a read: asking again changes nothing


def test_an_emergency_fix_never_merged_is_not_an_ancestor(
    connector: GitLabConnector, repo: dict[str, str]
) -> None:
    action = CheckAncestry(PROJECT, f"{COMPONENT}/1.0.1.2", REGULAR)
    [outcome] = connector.apply([action])
    assert outcome.status is OutcomeStatus.DONE
    assert isinstance(outcome.fresh, AncestryChecked)
    assert (outcome.fresh.is_ancestor, outcome.fresh.merge_base) == (False, repo["base"])


def test_a_tag_that_does_not_exist_fails_with_gitlabs_words(
    connector: GitLabConnector, repo: dict[str, str]
) -> None:
    missing_ancestor, missing_descendant = connector.apply(
        [
            CheckAncestry(PROJECT, f"{COMPONENT}/0.0.0.1", REGULAR),
            CheckAncestry(PROJECT, EMERGENCY, f"{COMPONENT}/3.0.0.0"),
        ]
    )
    assert missing_ancestor.status is OutcomeStatus.FAILED and "does not exist" in missing_ancestor.detail
    assert missing_descendant.status is OutcomeStatus.FAILED
    assert "Could not find ref: dip-platform/3.0.0.0" in missing_descendant.detail


def test_actions_for_other_systems_fail_each_with_its_own_outcome(
    connector: GitLabConnector, repo: dict[str, str]
) -> None:
    note = AddWorkNote("abc", "CHG0000001", "hello")
    move = MoveDefect(1234, 3, "Resolved", "Ready for Retest", "moved", "dip@SIT")
    elsewhere = CheckAncestry("mhhs/elsewhere", EMERGENCY, REGULAR)
    good = CheckAncestry(PROJECT, EMERGENCY, REGULAR)
    outcomes = connector.apply([note, move, elsewhere, good])
    assert [o.key for o in outcomes] == [note.key, move.key, elsewhere.key, good.key]
    assert [o.status for o in outcomes] == [OutcomeStatus.FAILED] * 3 + [OutcomeStatus.DONE]
    assert "targets servicenow" in outcomes[0].detail and "not configured" in outcomes[2].detail


def test_a_throttled_check_waits_the_retry_after_then_is_retried_later(
    instance: Any, connect: Connect, repo: dict[str, str], sleep: FakeSleep
) -> None:
    connector = connect()
    faults = {"rate_429": 1.0, "retry_after_s": 2}
    requests.post(f"{instance.url}/_sim/faults", json=faults, timeout=5).raise_for_status()
    [outcome] = connector.apply([CheckAncestry(PROJECT, EMERGENCY, REGULAR)])
    assert (outcome.status, outcome.retry_after_s) == (OutcomeStatus.RETRY, 2.0)
    assert sleep.waits and all(wait >= 2.0 for wait in sleep.waits)
    # One request per wait and one more: python-gitlab itself retried nothing.
    assert requests_made(instance) == {
        "GET /api/v4/projects/:id/repository/tags/:tag_name": len(sleep.waits) + 1
    }
