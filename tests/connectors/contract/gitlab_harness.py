"""The GitLab connector in the contract: its simulator, a project's releases, Release Hooks, and stubs."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pytest
import responses

from bridge.domain.actions import Action, CheckAncestry
from bridge.domain.events import RecordRef, Source
from connectors.gitlab.connector import GitLabConnector
from connectors.gitlab.simulator import GitLabSimulator
from connectors.outcomes import RetryPolicy
from tests.connectors.contract.harness import OK, Hook, Reply, answer, with_header
from tests.connectors.gitlab.conftest import INSTANCE, START, Receiver, Swappable
from tests.connectors.gitlab.connector_fixtures import (
    COMPONENT,
    PROJECT,
    SECRET,
    TOKEN,
    FakeSleep,
    settings_for,
)
from tests.support.clock import Clock

TAGS = (f"{COMPONENT}/1.0.0.0", f"{COMPONENT}/1.0.1.0")
RELEASED = TAGS[1]
NOTE = "# DIP Platform 1.0.1.0\n\n## Defects fixed\n- 1234\n"


@dataclass
class GitLabHarness:
    """`mhhs/dip-platform` on the simulator: an annotated tag, then a tag with a Release."""

    sim: GitLabSimulator
    simulator_url: str
    clock: Clock
    receiver: Receiver
    connector: GitLabConnector
    source: Source = Source.GITLAB
    kind: str = "release"
    secret: str = SECRET
    project_id: int = field(init=False)

    def __post_init__(self) -> None:
        self.project_id = int(self.sim.create_project(PROJECT)["id"])

    def now(self) -> datetime:
        return self.clock()

    def seed(self) -> set[str]:
        self.sim.add_commit(self.project_id, "First drop")
        self.sim.create_tag(self.project_id, TAGS[0], "main", "Release 1.0.0.0")
        self.clock.advance(60)
        self.sim.add_commit(self.project_id, "Fix rounding\n\nAB#1234")
        self.sim.create_release(self.project_id, RELEASED, NOTE, ref="main")
        self.clock.advance(60)
        return {f"{PROJECT}:{tag}" for tag in TAGS}

    def change(self) -> str:
        # GitLab keeps no edit time of a release: an edited note is a new revision of it.
        self.sim.update_release(self.project_id, RELEASED, description=NOTE + "- 1240\n")
        self.clock.advance(60)
        return f"{PROJECT}:{RELEASED}"

    def listen(self) -> None:
        self.sim.add_hook(self.project_id, self.receiver.url, token=SECRET)

    def received(self) -> list[Hook]:
        return [Hook(got.headers, got.body) for got in self.receiver.all()]

    def refused(self, hook: Hook) -> dict[str, Hook]:
        return {
            "another token": Hook(
                with_header(hook.headers, "X-Gitlab-Token", "not-the-hook-secret"), hook.body
            ),
            "no token": Hook(with_header(hook.headers, "X-Gitlab-Token", None), hook.body),
        }


@pytest.fixture
def gitlab_harness(_served: tuple[Swappable, str], gitlab_receiver: Receiver) -> Iterator[GitLabHarness]:
    """A fresh simulator behind the session's server (as the `instance` fixture of the GitLab tests)."""
    swappable, url = _served
    clock = Clock(START)
    sim = GitLabSimulator(token=TOKEN, instance_url=INSTANCE, clock=clock)
    swappable.app = sim.app
    connector = GitLabConnector(
        settings_for(url), retry=RetryPolicy(total_s=5, initial_s=0.01, sleep=FakeSleep()), clock=clock
    )
    yield GitLabHarness(sim, url, clock, gitlab_receiver, connector)
    swappable.app = None
    sim.close()


BASE = "http://gitlab.test"
API = f"{BASE}/api/v4/projects/mhhs%2Fdip-platform"
TAG_URL = re.compile(re.escape(f"{API}/repository/tags/dip-platform%2F1.0.2.0") + r"(\?.*)?$")
TAGS_URL = re.compile(re.escape(f"{API}/repository/tags") + r"(\?.*)?$")
MERGE_BASE_URL = re.compile(re.escape(f"{API}/repository/merge_base") + r"(\?.*)?$")
TAG_JSON = {
    "name": f"{COMPONENT}/1.0.2.0",
    "message": "Release 1.0.2.0",
    "target": "a" * 40,
    "commit": {"id": "b" * 40, "committed_date": "2026-03-02T09:00:00.000+00:00"},
    "release": None,
    "protected": False,
    "created_at": "2026-03-02T09:00:00.000+00:00",
}


def _error(status: int) -> dict[str, Any]:
    return {"message": f"{status} stubbed"}


class GitLabStubs:
    """GitLab's requests, stubbed: the tags list (poll), one tag (fetch) and a tag then a merge base
    (check_ancestry)."""

    writes = False  # check_ancestry reads a tag and a merge base; GitLab carries out no write

    def connector(self, retry: RetryPolicy) -> GitLabConnector:
        return GitLabConnector(settings_for(BASE), retry=retry)

    def stub_poll(self, http: responses.RequestsMock, replies: Sequence[Reply]) -> None:
        answer(http, responses.GET, TAGS_URL, replies, ok=[TAG_JSON], error=_error)

    def stub_fetch(self, http: responses.RequestsMock, replies: Sequence[Reply]) -> RecordRef:
        answer(http, responses.GET, TAG_URL, replies, ok=TAG_JSON, error=_error)
        return RecordRef(Source.GITLAB, "release", f"{PROJECT}:{COMPONENT}/1.0.2.0")

    def stub_apply(self, http: responses.RequestsMock, replies: Sequence[Reply]) -> Action:
        answer(http, responses.GET, TAG_URL, replies, ok=TAG_JSON, error=_error)
        answer(http, responses.GET, MERGE_BASE_URL, [OK], ok={"id": "b" * 40}, error=_error)
        return CheckAncestry(PROJECT, f"{COMPONENT}/1.0.2.0", f"{COMPONENT}/1.1.0.0")

    def target(self, action: Action) -> str:
        assert isinstance(action, CheckAncestry)
        return f"{action.project}:{action.ancestor_tag}..{action.descendant_tag}"
