"""The simulated GitLab's state: groups, projects with their repositories, the hook log; saved, loaded."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import TypeAdapter

from .. import entities as ent
from ..errors import bad_param, not_found
from .records import Commit, Hook, HookEvent, Namespace, Project, Release, Repository, Tag, User, utc

JSON = dict[str, Any]
ProjectRef = int | str
# Hands a webhook payload to the project's hooks: (project, hook switch, payload, X-Gitlab-Event-UUID).
Emit = Callable[["ProjectRecord", str, JSON, str], None]


@dataclass
class ProjectRecord:
    """A project with its repository, releases and hooks."""

    project: Project
    repo: Repository
    releases: dict[str, Release] = field(default_factory=dict)
    hooks: dict[int, Hook] = field(default_factory=dict)
    last_activity_at: datetime = field(default_factory=lambda: datetime.now(UTC))


@dataclass(frozen=True)
class ProjectSnapshot:
    project: Project
    commits: list[Commit]
    branches: dict[str, str]
    tags: list[Tag]
    releases: list[Release]
    hooks: list[Hook]
    last_activity_at: datetime


@dataclass(frozen=True)
class Snapshot:
    """The whole simulated instance as JSON-ready data (`save()` / `load()`)."""

    counters: dict[str, int]
    namespaces: list[Namespace]
    projects: list[ProjectSnapshot]
    hook_events: list[HookEvent]


_SNAPSHOT = TypeAdapter(Snapshot)


class GitLabState:
    """Everything the instance holds, behind one lock, with the lookups every operation shares."""

    def __init__(self, *, instance_url: str, user: User, clock: Callable[[], datetime]) -> None:
        self.instance_url = instance_url
        self.user = user
        self.clock = clock
        self.lock = threading.RLock()
        self.counters: dict[str, int] = {}
        self.namespaces: dict[int, Namespace] = {}
        self.projects: dict[int, ProjectRecord] = {}
        self.hook_events: dict[int, HookEvent] = {}

    def save(self) -> dict[str, Any]:
        """The instance's state as JSON-serialisable data."""
        with self.lock:
            snapshot = Snapshot(
                counters=dict(self.counters),
                namespaces=list(self.namespaces.values()),
                projects=[
                    ProjectSnapshot(
                        project=r.project,
                        commits=list(r.repo.commits.values()),
                        branches=dict(r.repo.branches),
                        tags=list(r.repo.tags.values()),
                        releases=list(r.releases.values()),
                        hooks=list(r.hooks.values()),
                        last_activity_at=r.last_activity_at,
                    )
                    for r in self.projects.values()
                ],
                hook_events=list(self.hook_events.values()),
            )
            result: dict[str, Any] = _SNAPSHOT.dump_python(snapshot, mode="json")
            return result

    def load(self, data: dict[str, Any]) -> None:
        """Replace the state with one `save()` produced; malformed data raises ValueError."""
        snapshot = _SNAPSHOT.validate_python(data)
        with self.lock:
            self.counters = dict(snapshot.counters)
            self.namespaces = {n.id: n for n in snapshot.namespaces}
            self.projects = {
                p.project.id: ProjectRecord(
                    project=p.project,
                    repo=Repository(
                        commits={c.id: c for c in p.commits},
                        branches=dict(p.branches),
                        tags={t.name: t for t in p.tags},
                    ),
                    releases={r.tag_name: r for r in p.releases},
                    hooks={h.id: h for h in p.hooks},
                    last_activity_at=p.last_activity_at,
                )
                for p in snapshot.projects
            }
            self.hook_events = {e.id: e for e in snapshot.hook_events}

    def now(self) -> datetime:
        return utc(self.clock())

    def next_id(self, kind: str) -> int:
        self.counters[kind] = self.counters.get(kind, 0) + 1
        return self.counters[kind]

    def record(self, ref: ProjectRef) -> ProjectRecord:
        """A project by numeric id or full path (paths match case-insensitively, as in GitLab)."""
        if isinstance(ref, int) or ref.isdigit():
            found = self.projects.get(int(ref))
            if found:
                return found
        else:
            wanted = ref.lower()
            for rec in self.projects.values():
                if self.view(rec).path_with_namespace.lower() == wanted:
                    return rec
        raise not_found("Project")

    def view(self, rec: ProjectRecord) -> ent.ProjectView:
        return ent.ProjectView(rec.project, self.namespaces[rec.project.namespace_id], self.instance_url)

    def touch(self, rec: ProjectRecord) -> None:
        rec.last_activity_at = self.now()

    def commit_of(self, rec: ProjectRecord, ref: str) -> Commit:
        commit = rec.repo.resolve(ref)
        if commit is None:
            raise not_found("Commit")
        return commit


def new_event_uuid() -> str:
    # One per originating request: every hook that request triggers carries it (X-Gitlab-Event-UUID).
    return str(uuid.uuid4())


def descending(sort: str) -> bool:
    """Whether a list's `sort` parameter asks for descending order; anything but asc or desc is a 400."""
    if sort not in {"asc", "desc"}:
        raise bad_param("sort does not have a valid value")
    return sort == "desc"
