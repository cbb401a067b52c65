"""The simulated GitLab's user, groups and projects: what `/user` and `/projects` act on."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .. import entities as ent
from ..errors import api_message, bad_param, not_found
from .records import VISIBILITY_LEVELS, Commit, Namespace, Project, Repository, object_sha
from .state import JSON, GitLabState, ProjectRecord, ProjectRef, descending


class GitLabProjects:
    """Projects and the groups above them; each method behaves as the REST call it mirrors."""

    def __init__(self, state: GitLabState) -> None:
        self.state = state

    def current_user(self) -> JSON:
        return ent.user_detail(self.state.user, self.state.instance_url)

    def _namespace(self, full_path: str) -> Namespace:
        namespaces = self.state.namespaces
        parent: Namespace | None = None
        for depth, part in enumerate(full_path.split("/"), start=1):
            path = "/".join(full_path.split("/")[:depth])
            found = next((n for n in namespaces.values() if n.full_path.lower() == path.lower()), None)
            if found is None:
                found = Namespace(
                    self.state.next_id("namespace"), part, part, path, parent.id if parent else None
                )
                namespaces[found.id] = found
            parent = found
        assert parent is not None
        return parent

    def find_namespace(self, ref: int | str) -> Namespace:
        """A namespace by id or full path; 404 when there is none."""
        for namespace in self.state.namespaces.values():
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
        with self.state.lock:
            namespace = self._namespace(group or self.state.user.username)
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
        state, user = self.state, self.state.user
        with state.lock:
            if namespace_ref is None:
                namespace = self._namespace(user.username)
            else:
                namespace = self.find_namespace(namespace_ref)
            siblings = [r.project for r in state.projects.values() if r.project.namespace_id == namespace.id]
            taken: dict[str, list[str]] = {}
            if any(p.name.lower() == name.lower() for p in siblings):
                taken["name"] = ["has already been taken"]
            if any(p.path.lower() == path.lower() for p in siblings):
                taken["path"] = ["has already been taken"]
            if taken:
                raise api_message(400, taken)
            now = state.now()
            project = Project(
                state.next_id("project"),
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
                user.name,
                user.email,
                now,
                now,
            )
            repo = Repository({initial.id: initial}, {default_branch: initial.id}, {})
            rec = ProjectRecord(project, repo, last_activity_at=now)
            state.projects[project.id] = rec
            return ent.project_json(state.view(rec), now)

    def get_project(self, ref: ProjectRef) -> JSON:
        with self.state.lock:
            rec = self.state.record(ref)
            return ent.project_json(self.state.view(rec), rec.last_activity_at)

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
        state = self.state
        with state.lock:
            found = [
                r
                for r in state.projects.values()
                if search.lower() in r.project.name.lower() or search.lower() in r.project.path.lower()
            ]
            found.sort(key=keys[order_by], reverse=descending(sort))
            return [ent.project_json(state.view(r), r.last_activity_at) for r in found]
