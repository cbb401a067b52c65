"""The simulated GitLab: its state, the operations the REST API and the seeding methods share, webhooks."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from pydantic import TypeAdapter

from connectors.simulation import Delivery, FaultPlan, Faults, Stats, WebhookSender

from . import entities as ent
from .api import build_app
from .model import (
    HOOK_EVENT_DEFAULTS,
    VISIBILITY_LEVELS,
    ZERO_SHA,
    Commit,
    GitLabApiError,
    Hook,
    HookEvent,
    Namespace,
    Project,
    Release,
    Repository,
    Tag,
    User,
    api_message,
    bad_param,
    not_found,
    object_sha,
    parse_time,
    utc,
    valid_ref_name,
    version_key,
)

JSON = dict[str, Any]
ProjectRef = int | str

GITLAB_VERSION = "17.5.0"


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


class GitLabSimulator:
    """GitLab's REST API v4 in memory, served by `.app`, with webhooks and seeded faults.

    Every public method takes the lock and behaves as the REST call it mirrors, webhooks included;
    refusals raise GitLabApiError with the status and body GitLab would send.
    """

    def __init__(
        self,
        *,
        token: str,
        instance_url: str | None = None,
        faults: Faults | None = None,
        clock: Callable[[], datetime] | None = None,
        user: User | None = None,
        version: str = GITLAB_VERSION,
    ) -> None:
        self.token = token
        self.instance_url = (instance_url or "https://gitlab.example.com").rstrip("/")
        self.user = user or User()
        self.version = version
        self.clock = clock or (lambda: datetime.now(UTC))
        self.plan = FaultPlan(faults)
        self.stats = Stats()
        self.webhooks = WebhookSender(self.plan)
        self.lock = threading.RLock()
        self._counters: dict[str, int] = {}
        self._namespaces: dict[int, Namespace] = {}
        self._projects: dict[int, ProjectRecord] = {}
        self._hook_events: dict[int, HookEvent] = {}
        self.app = build_app(self)

    # --- state ----------------------------------------------------------------------------------

    def save(self) -> dict[str, Any]:
        """The instance's state as JSON-serialisable data."""
        with self.lock:
            snapshot = Snapshot(
                counters=dict(self._counters),
                namespaces=list(self._namespaces.values()),
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
                    for r in self._projects.values()
                ],
                hook_events=list(self._hook_events.values()),
            )
            result: dict[str, Any] = _SNAPSHOT.dump_python(snapshot, mode="json")
            return result

    def load(self, data: dict[str, Any]) -> None:
        """Replace the state with one `save()` produced; malformed data raises ValueError."""
        snapshot = _SNAPSHOT.validate_python(data)
        with self.lock:
            self._counters = dict(snapshot.counters)
            self._namespaces = {n.id: n for n in snapshot.namespaces}
            self._projects = {
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
            self._hook_events = {e.id: e for e in snapshot.hook_events}

    def save_to(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.save(), indent=1), encoding="utf-8")

    def load_from(self, path: str | Path) -> None:
        self.load(json.loads(Path(path).read_text(encoding="utf-8")))

    def close(self) -> None:
        """Stop the webhook sender's thread."""
        self.webhooks.stop()

    # --- helpers --------------------------------------------------------------------------------

    def now(self) -> datetime:
        return utc(self.clock())

    def _next_id(self, kind: str) -> int:
        self._counters[kind] = self._counters.get(kind, 0) + 1
        return self._counters[kind]

    def record(self, ref: ProjectRef) -> ProjectRecord:
        """A project by numeric id or full path (paths match case-insensitively, as in GitLab)."""
        if isinstance(ref, int) or ref.isdigit():
            found = self._projects.get(int(ref))
            if found:
                return found
        else:
            wanted = ref.lower()
            for rec in self._projects.values():
                if self.view(rec).path_with_namespace.lower() == wanted:
                    return rec
        raise not_found("Project")

    def view(self, rec: ProjectRecord) -> ent.ProjectView:
        return ent.ProjectView(rec.project, self._namespaces[rec.project.namespace_id], self.instance_url)

    def _touch(self, rec: ProjectRecord) -> None:
        rec.last_activity_at = self.now()

    def _commit_of(self, rec: ProjectRecord, ref: str) -> Commit:
        commit = rec.repo.resolve(ref)
        if commit is None:
            raise not_found("Commit")
        return commit

    # --- users, projects ------------------------------------------------------------------------

    def current_user(self) -> JSON:
        return ent.user_detail(self.user, self.instance_url)

    def _namespace(self, full_path: str) -> Namespace:
        parent: Namespace | None = None
        for depth, part in enumerate(full_path.split("/"), start=1):
            path = "/".join(full_path.split("/")[:depth])
            found = next((n for n in self._namespaces.values() if n.full_path.lower() == path.lower()), None)
            if found is None:
                found = Namespace(self._next_id("namespace"), part, part, path, parent.id if parent else None)
                self._namespaces[found.id] = found
            parent = found
        assert parent is not None
        return parent

    def find_namespace(self, ref: int | str) -> Namespace:
        """A namespace by id or full path; 404 when there is none."""
        for namespace in self._namespaces.values():
            if str(namespace.id) == str(ref) or namespace.full_path.lower() == str(ref).lower():
                return namespace
        raise not_found("Namespace")

    def create_project(
        self,
        path_with_namespace: str,
        *,
        name: str | None = None,
        description: str | None = None,
        visibility: str = "private",
        default_branch: str = "main",
    ) -> JSON:
        """Create a project (and any missing groups above it) with an initial commit on the default branch."""
        group, _, path = path_with_namespace.rpartition("/")
        with self.lock:
            namespace = self._namespace(group or self.user.username)
            return self.create_project_in(
                namespace.id,
                name=name or path,
                path=path,
                description=description,
                visibility=visibility,
                default_branch=default_branch,
            )

    def create_project_in(
        self,
        namespace_ref: int | str | None,
        *,
        name: str,
        path: str,
        description: str | None = None,
        visibility: str = "private",
        default_branch: str = "main",
    ) -> JSON:
        """POST /projects into a namespace (id or path; the user's own if None).

        A taken name or path is GitLab's 400 with the model's errors.
        """
        if visibility not in VISIBILITY_LEVELS:
            raise bad_param("visibility does not have a valid value")
        with self.lock:
            if namespace_ref is None:
                namespace = self._namespace(self.user.username)
            else:
                namespace = self.find_namespace(namespace_ref)
            siblings = [r.project for r in self._projects.values() if r.project.namespace_id == namespace.id]
            taken: dict[str, list[str]] = {}
            if any(p.name.lower() == name.lower() for p in siblings):
                taken["name"] = ["has already been taken"]
            if any(p.path.lower() == path.lower() for p in siblings):
                taken["path"] = ["has already been taken"]
            if taken:
                raise api_message(400, taken)
            now = self.now()
            project = Project(
                self._next_id("project"),
                name,
                path,
                namespace.id,
                description,
                default_branch,
                visibility,
                now,
            )
            # GitLab creates an empty repository unless asked for a README; the simulator always makes
            # the first commit so the default branch exists and tags have something to point at.
            initial = Commit(
                object_sha("commit", str(project.id), "Initial commit"),
                (),
                "Initial commit",
                self.user.name,
                self.user.email,
                now,
                now,
            )
            repo = Repository({initial.id: initial}, {default_branch: initial.id}, {})
            rec = ProjectRecord(project, repo, last_activity_at=now)
            self._projects[project.id] = rec
            return ent.project_json(self.view(rec), now)

    def get_project(self, ref: ProjectRef) -> JSON:
        with self.lock:
            rec = self.record(ref)
            return ent.project_json(self.view(rec), rec.last_activity_at)

    def list_projects(
        self, *, search: str = "", order_by: str = "created_at", sort: str = "desc"
    ) -> list[JSON]:
        """GET /projects ordered by id, name, path, created_at, updated_at or last_activity_at."""
        keys: dict[str, Callable[[ProjectRecord], Any]] = {
            "id": lambda r: r.project.id,
            "name": lambda r: r.project.name.lower(),
            "path": lambda r: r.project.path.lower(),
            "created_at": lambda r: (r.project.created_at, r.project.id),
            "updated_at": lambda r: (r.last_activity_at, r.project.id),
            "last_activity_at": lambda r: (r.last_activity_at, r.project.id),
        }
        if order_by not in keys:
            raise bad_param("order_by does not have a valid value")
        with self.lock:
            found = [
                r
                for r in self._projects.values()
                if search.lower() in r.project.name.lower() or search.lower() in r.project.path.lower()
            ]
            found.sort(key=keys[order_by], reverse=_descending(sort))
            return [ent.project_json(self.view(r), r.last_activity_at) for r in found]

    # --- repository -----------------------------------------------------------------------------

    def add_commit(
        self,
        project_id: ProjectRef,
        message: str,
        *,
        branch: str = "main",
        author_name: str | None = None,
        author_email: str | None = None,
    ) -> str:
        """Commit on top of `branch` and move the branch; returns the new sha. Sends no push hook."""
        with self.lock:
            rec = self.record(project_id)
            if branch not in rec.repo.branches:
                raise not_found("Branch")
            return self._commit(rec, branch, (rec.repo.branches[branch],), message, author_name, author_email)

    def merge(
        self, project_id: ProjectRef, source: str, *, into: str = "main", message: str | None = None
    ) -> str:
        """A merge commit of `source` into the branch `into` (two parents); returns its sha."""
        with self.lock:
            rec = self.record(project_id)
            if into not in rec.repo.branches:
                raise not_found("Branch")
            theirs = self._commit_of(rec, source)
            text = message or f"Merge branch '{source}' into '{into}'"
            return self._commit(rec, into, (rec.repo.branches[into], theirs.id), text, None, None)

    def _commit(
        self,
        rec: ProjectRecord,
        branch: str,
        parents: tuple[str, ...],
        message: str,
        author_name: str | None,
        author_email: str | None,
    ) -> str:
        now = self.now().replace(microsecond=0)  # git keeps whole seconds
        sha = object_sha("commit", str(rec.project.id), *parents, message, str(self._next_id("object")))
        rec.repo.commits[sha] = Commit(
            sha,
            parents,
            message,
            author_name or self.user.name,
            author_email or self.user.email,
            now,
            now,
        )
        rec.repo.branches[branch] = sha
        self._touch(rec)
        return sha

    def get_commit(self, project_id: ProjectRef, sha: str) -> JSON:
        with self.lock:
            rec = self.record(project_id)
            return ent.commit_detail_json(self._commit_of(rec, sha), self.view(rec))

    def list_commits(
        self, project_id: ProjectRef, *, ref_name: str | None = None, all_refs: bool = False
    ) -> list[JSON]:
        """GET /repository/commits: the history of `ref_name` (default branch), or of every ref."""
        with self.lock:
            rec = self.record(project_id)
            view = self.view(rec)
            if all_refs:
                reach: set[str] = set()
                for sha in [*rec.repo.branches.values(), *(t.commit_id for t in rec.repo.tags.values())]:
                    reach |= set(rec.repo.ancestors(sha))
                history = sorted(
                    (rec.repo.commits[s] for s in reach), key=lambda c: c.committed_date, reverse=True
                )
            else:
                start = rec.repo.resolve(ref_name or rec.project.default_branch)
                # An unknown ref lists nothing, as `git log` through Gitaly does for the API.
                history = rec.repo.log(start.id) if start else []
            return [ent.commit_json(c, view) for c in history]

    def create_branch(self, project_id: ProjectRef, branch: str, ref: str) -> JSON:
        """POST /repository/branches."""
        with self.lock:
            rec = self.record(project_id)
            if not valid_ref_name(branch):
                raise api_message(400, "Branch name is invalid")
            if branch in rec.repo.branches:
                raise api_message(400, "Branch already exists")
            commit = rec.repo.resolve(ref)
            if commit is None:
                raise api_message(400, "Invalid reference name: " + ref)
            rec.repo.branches[branch] = commit.id
            self._touch(rec)
            return ent.branch_json(branch, commit, self.view(rec))

    def get_branch(self, project_id: ProjectRef, branch: str) -> JSON:
        with self.lock:
            rec = self.record(project_id)
            if branch not in rec.repo.branches:
                raise not_found("Branch")
            return ent.branch_json(branch, rec.repo.commits[rec.repo.branches[branch]], self.view(rec))

    def list_branches(self, project_id: ProjectRef, *, search: str = "") -> list[JSON]:
        with self.lock:
            rec = self.record(project_id)
            view = self.view(rec)
            names = sorted(n for n in rec.repo.branches if _matches(n, search))
            return [ent.branch_json(n, rec.repo.commits[rec.repo.branches[n]], view) for n in names]

    def merge_base(self, project_id: ProjectRef, refs: list[str]) -> JSON:
        """GET /repository/merge_base: refs may be branches, tags or shas (lib/api/repositories.rb)."""
        with self.lock:
            rec = self.record(project_id)
            if len(refs) < 2:
                raise api_message(400, "Provide at least 2 refs")
            resolved = {ref: rec.repo.resolve(ref) for ref in refs}
            unknown = [ref for ref, commit in resolved.items() if commit is None]
            if unknown:
                noun = "ref" if len(unknown) == 1 else "refs"
                raise api_message(400, f"Could not find {noun}: {', '.join(unknown)}")
            base = rec.repo.merge_base([c.id for c in resolved.values() if c is not None])
            if base is None:
                raise not_found("Merge Base")
            return ent.commit_json(base, self.view(rec))

    # --- tags -----------------------------------------------------------------------------------

    def _tag_json(self, rec: ProjectRecord, tag: Tag) -> JSON:
        return ent.tag_json(tag, rec.repo.commits[tag.commit_id], rec.releases.get(tag.name), self.view(rec))

    def create_tag(self, project_id: ProjectRef, name: str, ref: str, message: str | None = None) -> JSON:
        """POST /repository/tags: annotated when a message is given; sends the Tag Push Hook."""
        with self.lock:
            rec = self.record(project_id)
            try:
                tag = self._add_tag(rec, name, ref, message, _event_uuid())
            except GitLabApiError as exc:
                # lib/api/tags.rb renders every Tags::CreateService failure as 400, even its 409.
                raise api_message(400, exc.body["message"]) from exc
            return self._tag_json(rec, tag)

    def _add_tag(self, rec: ProjectRecord, name: str, ref: str, message: str | None, event_uuid: str) -> Tag:
        # The checks and words of app/services/tags/create_service.rb.
        if not ref:
            raise api_message(400, "Target is empty")
        if not valid_ref_name(name):
            raise api_message(400, "Tag name invalid")
        if name in rec.repo.tags:
            raise api_message(409, f"Tag {name} already exists")
        commit = rec.repo.resolve(ref)
        if commit is None:
            raise api_message(400, f"Target {ref} is invalid")
        text = (message or "").strip() or None
        now = self.now().replace(microsecond=0)
        if text is None:
            tag = Tag(name, commit.id, commit.id, None, None)
        else:
            target = object_sha("tag", name, commit.id, text, str(self._next_id("object")))
            tag = Tag(name, target, commit.id, text, now)
        rec.repo.tags[name] = tag
        self._touch(rec)
        view = self.view(rec)
        payload = ent.tag_push_payload(view, self.user, name, before=ZERO_SHA, after=tag, commit=commit)
        self._emit(rec, "tag_push_events", payload, event_uuid)
        return tag

    def get_tag(self, project_id: ProjectRef, name: str) -> JSON:
        with self.lock:
            rec = self.record(project_id)
            if name not in rec.repo.tags:
                raise not_found("Tag")
            return self._tag_json(rec, rec.repo.tags[name])

    def list_tags(
        self, project_id: ProjectRef, *, order_by: str = "updated", sort: str = "desc", search: str = ""
    ) -> list[JSON]:
        """GET /repository/tags ordered by name, updated (tag or commit date) or version."""
        if order_by not in {"name", "updated", "version"}:
            raise bad_param("order_by does not have a valid value")
        if sort not in {"asc", "desc"}:
            raise bad_param("sort does not have a valid value")
        with self.lock:
            rec = self.record(project_id)
            tags = [t for t in rec.repo.tags.values() if _matches(t.name, search)]
            keys: dict[str, Callable[[Tag], Any]] = {
                "name": lambda t: t.name,
                "version": lambda t: version_key(t.name),
                # Gitaly sorts by creator date: the tagger's for an annotated tag, else the commit's.
                "updated": lambda t: (t.created_at or rec.repo.commits[t.commit_id].committed_date, t.name),
            }
            tags.sort(key=keys[order_by], reverse=sort == "desc")
            return [self._tag_json(rec, t) for t in tags]

    def delete_tag(self, project_id: ProjectRef, name: str) -> None:
        """DELETE /repository/tags/:tag_name: its release goes too; sends the Release and Tag Push hooks."""
        with self.lock:
            rec = self.record(project_id)
            tag = rec.repo.tags.get(name)
            if tag is None:
                raise not_found("Tag")
            event_uuid = _event_uuid()
            if name in rec.releases:
                self._remove_release(rec, name, event_uuid)
            del rec.repo.tags[name]
            self._touch(rec)
            payload = ent.tag_push_payload(
                self.view(rec), self.user, name, before=tag.target, after=None, commit=None
            )
            self._emit(rec, "tag_push_events", payload, event_uuid)

    # --- releases -------------------------------------------------------------------------------

    def _release_json(self, rec: ProjectRecord, release: Release) -> JSON:
        commit = rec.repo.commits[release.commit_id]
        return ent.release_json(release, commit, self.user, self.view(rec), self.now())

    def create_release(
        self,
        project_id: ProjectRef,
        tag_name: str,
        description: str | None = None,
        *,
        name: str | None = None,
        ref: str | None = None,
        released_at: datetime | str | None = None,
        tag_message: str | None = None,
    ) -> JSON:
        """POST /releases: makes the tag from `ref` when it does not exist; sends the Release Hook."""
        with self.lock:
            rec = self.record(project_id)
            # The order of checks in app/services/releases/create_service.rb.
            if tag_name in rec.releases:
                raise api_message(409, "Release already exists")
            event_uuid = _event_uuid()
            tag = rec.repo.tags.get(tag_name)
            if tag is None:
                if not ref:
                    raise api_message(422, "Ref is not specified")
                tag = self._add_tag(rec, tag_name, ref, tag_message, event_uuid)
            now = self.now()
            release = Release(
                id=self._next_id("release"),
                tag_name=tag_name,
                name=name or tag_name,
                description=description,
                created_at=now,
                released_at=_when(released_at) or now,
                author_id=self.user.id,
                commit_id=tag.commit_id,
            )
            rec.releases[tag_name] = release
            self._touch(rec)
            self._emit_release(rec, release, "create", event_uuid)
            return self._release_json(rec, release)

    def _existing_release(self, rec: ProjectRecord, tag_name: str) -> Release:
        # app/services/releases/base_service.rb checks the tag before the release.
        if tag_name not in rec.repo.tags:
            raise api_message(404, "Tag does not exist")
        if tag_name not in rec.releases:
            raise api_message(404, "Release does not exist")
        return rec.releases[tag_name]

    def get_release(self, project_id: ProjectRef, tag_name: str) -> JSON:
        with self.lock:
            rec = self.record(project_id)
            if tag_name not in rec.releases:
                raise not_found()
            return self._release_json(rec, rec.releases[tag_name])

    def list_releases(
        self, project_id: ProjectRef, *, order_by: str = "released_at", sort: str = "desc"
    ) -> list[JSON]:
        if order_by not in {"released_at", "created_at"}:
            raise bad_param("order_by does not have a valid value")
        if sort not in {"asc", "desc"}:
            raise bad_param("sort does not have a valid value")
        with self.lock:
            rec = self.record(project_id)
            releases = sorted(
                rec.releases.values(), key=lambda r: (getattr(r, order_by), r.id), reverse=sort == "desc"
            )
            return [self._release_json(rec, r) for r in releases]

    def update_release(
        self,
        project_id: ProjectRef,
        tag_name: str,
        *,
        name: str | None = None,
        description: str | None = None,
        released_at: datetime | str | None = None,
    ) -> JSON:
        """PUT /releases/:tag_name: changes what is given; sends the Release Hook with action update."""
        with self.lock:
            rec = self.record(project_id)
            release = self._existing_release(rec, tag_name)
            if name is None and description is None and released_at is None:
                raise api_message(400, "params is empty")
            changes: dict[str, Any] = {}
            if name is not None:
                changes["name"] = name
            if description is not None:
                changes["description"] = description
            if released_at is not None:
                changes["released_at"] = _when(released_at)
            release = replace(release, **changes)
            rec.releases[tag_name] = release
            self._touch(rec)
            self._emit_release(rec, release, "update", _event_uuid())
            return self._release_json(rec, release)

    def delete_release(self, project_id: ProjectRef, tag_name: str) -> JSON:
        """DELETE /releases/:tag_name: the tag stays; answers the deleted release, sends the hook."""
        with self.lock:
            rec = self.record(project_id)
            self._existing_release(rec, tag_name)
            return self._remove_release(rec, tag_name, _event_uuid())

    def _remove_release(self, rec: ProjectRecord, tag_name: str, event_uuid: str) -> JSON:
        release = rec.releases[tag_name]
        shown = self._release_json(rec, release)
        del rec.releases[tag_name]
        self._touch(rec)
        self._emit_release(rec, release, "delete", event_uuid)
        return shown

    def _emit_release(self, rec: ProjectRecord, release: Release, action: str, event_uuid: str) -> None:
        payload = ent.release_payload(release, rec.repo.commits[release.commit_id], self.view(rec), action)
        self._emit(rec, "releases_events", payload, event_uuid)

    # --- hooks ----------------------------------------------------------------------------------

    def add_hook(
        self,
        project_id: ProjectRef,
        url: str,
        *,
        token: str | None = None,
        tag_push_events: bool = True,
        releases_events: bool = True,
        push_events: bool = False,
    ) -> JSON:
        """Add a project hook (seeding form: tag push and release events on by default)."""
        return self.save_hook(
            project_id,
            None,
            {
                "url": url,
                "token": token,
                "tag_push_events": tag_push_events,
                "releases_events": releases_events,
                "push_events": push_events,
            },
        )

    def save_hook(self, project_id: ProjectRef, hook_id: int | None, params: Mapping[str, Any]) -> JSON:
        """POST /hooks (hook_id None) or PUT /hooks/:hook_id with GitLab's parameters."""
        url = params.get("url")
        if not url:
            raise bad_param("url is missing")
        parts = urlsplit(str(url))
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise GitLabApiError(422, {"error": "Invalid url given"})
        with self.lock:
            rec = self.record(project_id)
            old = rec.hooks.get(hook_id) if hook_id is not None else None
            if hook_id is not None and old is None:
                raise api_message(404, "404 Not found")
            flags = {f: f in old.events for f in HOOK_EVENT_DEFAULTS} if old else dict(HOOK_EVENT_DEFAULTS)
            for flag in HOOK_EVENT_DEFAULTS:
                if params.get(flag) is not None:
                    flags[flag] = _boolean(params[flag], flag)
            hook = Hook(
                id=old.id if old else self._next_id("hook"),
                project_id=rec.project.id,
                url=str(url),
                token=params["token"] if params.get("token") is not None else (old.token if old else None),
                events=tuple(sorted(f for f, on in flags.items() if on)),
                name=str(params.get("name") or (old.name if old else "")),
                description=str(params.get("description") or (old.description if old else "")),
                enable_ssl_verification=_boolean(
                    params.get("enable_ssl_verification", True), "enable_ssl_verification"
                ),
                push_events_branch_filter=str(params.get("push_events_branch_filter") or ""),
                created_at=old.created_at if old else self.now(),
            )
            rec.hooks[hook.id] = hook
            return ent.hook_json(hook)

    def _hook(self, rec: ProjectRecord, hook_id: int) -> Hook:
        hook = rec.hooks.get(hook_id)
        if hook is None:
            # `hooks.find` raises RecordNotFound, which lib/api/api.rb renders as "404 Not found".
            raise api_message(404, "404 Not found")
        return hook

    def get_hook(self, project_id: ProjectRef, hook_id: int) -> JSON:
        with self.lock:
            rec = self.record(project_id)
            return ent.hook_json(self._hook(rec, hook_id))

    def list_hooks(self, project_id: ProjectRef) -> list[JSON]:
        with self.lock:
            rec = self.record(project_id)
            return [ent.hook_json(h) for h in sorted(rec.hooks.values(), key=lambda h: h.id)]

    def delete_hook(self, project_id: ProjectRef, hook_id: int) -> None:
        with self.lock:
            rec = self.record(project_id)
            self._hook(rec, hook_id)
            del rec.hooks[hook_id]

    def _emit(self, rec: ProjectRecord, flag: str, payload: JSON, event_uuid: str) -> None:
        event, trigger = _HOOK_KINDS[flag]
        body = json.dumps(payload)
        for hook in sorted(rec.hooks.values(), key=lambda h: h.id):
            if flag in hook.events:
                self._deliver(hook, trigger, event, body, event_uuid, str(uuid.uuid4()))

    def _deliver(
        self, hook: Hook, trigger: str, event: str, body: str, event_uuid: str, idempotency_key: str
    ) -> HookEvent:
        logged = HookEvent(
            id=self._next_id("hook_event"),
            hook_id=hook.id,
            url=hook.url,
            trigger=trigger,
            event=event,
            body=body,
            idempotency_key=idempotency_key,
            webhook_uuid=str(uuid.uuid4()),
            event_uuid=event_uuid,
            created_at=self.now(),
        )
        self._hook_events[logged.id] = logged
        url, auth = _split_credentials(hook.url)
        headers = self._delivery_headers(logged, hook.token)
        self.webhooks.send(Delivery(url, body.encode(), headers, event, auth))
        return logged

    def _delivery_headers(self, logged: HookEvent, token: str | None) -> dict[str, str]:
        # The headers and their order from WebHookService#build_headers (doc: "Delivery headers").
        headers = {
            "Content-Type": "application/json",
            "User-Agent": f"GitLab/{self.version}",
            "Idempotency-Key": logged.idempotency_key,
            "X-Gitlab-Event": logged.event,
            "X-Gitlab-Webhook-UUID": logged.webhook_uuid,
            "X-Gitlab-Instance": self.instance_url,
            "X-Gitlab-Event-UUID": logged.event_uuid,
        }
        if token:
            headers["X-Gitlab-Token"] = token
        return headers

    def _outcome(self, webhook_uuid: str) -> tuple[bool, int | None]:
        """Whether the sender has finished the delivery, and the receiver's status if it answered."""
        for record in reversed(self.webhooks.log()):
            if record["headers"].get("X-Gitlab-Webhook-UUID") == webhook_uuid:
                return True, record["status"]
        return False, None

    def hook_events(self, project_id: ProjectRef, hook_id: int, *, status: str | None = None) -> list[JSON]:
        """GET /hooks/:hook_id/events: finished deliveries, newest first, optionally by status."""
        with self.lock:
            rec = self.record(project_id)
            hook = self._hook(rec, hook_id)
            events = sorted(
                (e for e in self._hook_events.values() if e.hook_id == hook.id), key=lambda e: -e.id
            )
        shown = []
        for event in events:
            done, code = self._outcome(event.webhook_uuid)
            if done and _status_matches(code, status):
                shown.append(ent.hook_event_json(event, self._delivery_headers(event, hook.token), code))
        return shown

    def resend_hook_event(self, project_id: ProjectRef, hook_id: int, event_id: int) -> int | None:
        """POST /hooks/:hook_id/events/:hook_event_id/resend: the same body and Idempotency-Key, sent now.

        Answers the receiver's status (None if it could not be reached), as GitLab's
        WebHooks::Events::ResendService runs the delivery before it replies.
        """
        with self.lock:
            rec = self.record(project_id)
            hook = self._hook(rec, hook_id)
            event = self._hook_events.get(event_id)
            if event is None or event.hook_id != hook.id:
                raise api_message(404, "404 Not found")
            if event.url != hook.url:
                raise api_message(422, "The hook URL has changed, and this log entry cannot be retried")
            again = self._deliver(
                hook, event.trigger, event.event, event.body, _event_uuid(), event.idempotency_key
            )
        self.webhooks.flush()
        return self._outcome(again.webhook_uuid)[1]


# X-Gitlab-Event and the hook scope (WebHookLog#trigger) per hook switch.
_HOOK_KINDS = {
    "tag_push_events": ("Tag Push Hook", "tag_push_hooks"),
    "releases_events": ("Release Hook", "release_hooks"),
}


def _event_uuid() -> str:
    # One per originating request: every hook that request triggers carries it (X-Gitlab-Event-UUID).
    return str(uuid.uuid4())


def _descending(sort: str) -> bool:
    if sort not in {"asc", "desc"}:
        raise bad_param("sort does not have a valid value")
    return sort == "desc"


def _matches(name: str, search: str) -> bool:
    """GitLab's name search: `^term` is a prefix, `term$` a suffix, else a substring; any case."""
    name, term = name.lower(), search.lower()
    if term.startswith("^"):
        return name.startswith(term[1:])
    if term.endswith("$"):
        return name.endswith(term[:-1])
    return term in name


def _when(value: datetime | str | None) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return utc(value) if value else None
    return parse_time(value)


_TRUE = {"true", "1", "yes", "t", "y"}
_FALSE = {"false", "0", "no", "f", "n"}


def _boolean(value: Any, name: str) -> bool:
    """Grape's Boolean coercion: JSON booleans or their usual spellings; anything else is a 400."""
    if isinstance(value, bool):
        return value
    if str(value).lower() in _TRUE:
        return True
    if str(value).lower() in _FALSE:
        return False
    raise bad_param(f"{name} is invalid")


def _status_matches(code: int | None, wanted: str | None) -> bool:
    """The `status` filter of the hook events list: a code or successful/client_failure/server_failure."""
    if not wanted:
        return True
    ranges = {"successful": (200, 299), "client_failure": (400, 499), "server_failure": (500, 599)}
    if wanted in ranges:
        low, high = ranges[wanted]
        return code is not None and low <= code <= high
    return str(code) == wanted


def _split_credentials(url: str) -> tuple[str, tuple[str, str] | None]:
    """A hook URL's `user:password@` becomes HTTP Basic auth and leaves the URL (webhooks.md)."""
    parts = urlsplit(url)
    if parts.username is None:
        return url, None
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit(parts._replace(netloc=netloc)), (parts.username, parts.password or "")
