"""GitLabSimulator: the model, its webhooks and its REST app put together, with the seeding calls."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from connectors.simulation import FaultPlan, Faults, Stats, WebhookSender

from .api import create_app
from .hooks import GitLabHooks
from .model import GitLabModel, GitLabState, ProjectRef
from .model.records import User

JSON = dict[str, Any]

GITLAB_VERSION = "17.5.0"


class GitLabSimulator:
    """GitLab's REST API v4 in memory, served by `.app`, with webhooks and seeded faults.

    The seeding methods below behave as the REST calls they mirror, webhooks included; refusals raise
    GitLabApiError with the status and body GitLab would send. Every other operation is on `.model`
    (projects, repository, tags) and `.hooks`.
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
        self.plan = FaultPlan(faults)
        self.stats = Stats()
        self.webhooks = WebhookSender(self.plan)
        state = GitLabState(
            instance_url=self.instance_url, user=self.user, clock=clock or (lambda: datetime.now(UTC))
        )
        self.hooks = GitLabHooks(state, self.webhooks, version=version)
        self.model = GitLabModel(state, emit=self.hooks.emit)
        self.app = create_app(
            self.model, self.hooks, token=token, version=version, stats=self.stats, plan=self.plan
        )

    # --- state ----------------------------------------------------------------------------------

    def save(self) -> dict[str, Any]:
        """The instance's state as JSON-serialisable data."""
        return self.model.state.save()

    def load(self, data: dict[str, Any]) -> None:
        """Replace the state with one `save()` produced; malformed data raises ValueError."""
        self.model.state.load(data)

    def save_to(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.save(), indent=1), encoding="utf-8")

    def load_from(self, path: str | Path) -> None:
        self.load(json.loads(Path(path).read_text(encoding="utf-8")))

    def close(self) -> None:
        """Stop the webhook sender's thread."""
        self.webhooks.stop()

    # --- seeding --------------------------------------------------------------------------------

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
        return self.model.projects.create_project(
            path_with_namespace,
            name=name,
            description=description,
            visibility=visibility,
            default_branch=default_branch,
        )

    def get_project(self, ref: ProjectRef) -> JSON:
        return self.model.projects.get_project(ref)

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
        return self.model.repository.add_commit(
            project_id, message, branch=branch, author_name=author_name, author_email=author_email
        )

    def merge(
        self, project_id: ProjectRef, source: str, *, into: str = "main", message: str | None = None
    ) -> str:
        """A merge commit of `source` into the branch `into` (two parents); returns its sha."""
        return self.model.repository.merge(project_id, source, into=into, message=message)

    def create_branch(self, project_id: ProjectRef, branch: str, ref: str) -> JSON:
        return self.model.repository.create_branch(project_id, branch, ref)

    def get_commit(self, project_id: ProjectRef, sha: str) -> JSON:
        return self.model.repository.get_commit(project_id, sha)

    def merge_base(self, project_id: ProjectRef, refs: list[str]) -> JSON:
        return self.model.repository.merge_base(project_id, refs)

    def create_tag(self, project_id: ProjectRef, name: str, ref: str, message: str | None = None) -> JSON:
        """Create a tag, annotated when a message is given; sends the Tag Push Hook."""
        return self.model.tags.create_tag(project_id, name, ref, message)

    def get_tag(self, project_id: ProjectRef, name: str) -> JSON:
        return self.model.tags.get_tag(project_id, name)

    def list_tags(
        self, project_id: ProjectRef, *, order_by: str = "updated", sort: str = "desc", search: str = ""
    ) -> list[JSON]:
        return self.model.tags.list_tags(project_id, order_by=order_by, sort=sort, search=search)

    def delete_tag(self, project_id: ProjectRef, name: str) -> None:
        """Delete a tag and its release; sends the Release and Tag Push hooks."""
        self.model.tags.delete_tag(project_id, name)

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
        """Create a release, and its tag from `ref` when there is none; sends the Release Hook."""
        return self.model.tags.create_release(
            project_id,
            tag_name,
            description,
            name=name,
            ref=ref,
            released_at=released_at,
            tag_message=tag_message,
        )

    def get_release(self, project_id: ProjectRef, tag_name: str) -> JSON:
        return self.model.tags.get_release(project_id, tag_name)

    def update_release(
        self,
        project_id: ProjectRef,
        tag_name: str,
        *,
        name: str | None = None,
        description: str | None = None,
        released_at: datetime | str | None = None,
    ) -> JSON:
        """Change what is given; sends the Release Hook with action update."""
        return self.model.tags.update_release(
            project_id, tag_name, name=name, description=description, released_at=released_at
        )

    def delete_release(self, project_id: ProjectRef, tag_name: str) -> JSON:
        """Delete a release (the tag stays); answers the deleted release, sends the hook."""
        return self.model.tags.delete_release(project_id, tag_name)

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
        """Add a project hook (tag push and release events on by default)."""
        return self.hooks.add_hook(
            project_id,
            url,
            token=token,
            tag_push_events=tag_push_events,
            releases_events=releases_events,
            push_events=push_events,
        )

    def hook_events(self, project_id: ProjectRef, hook_id: int, *, status: str | None = None) -> list[JSON]:
        """A hook's finished deliveries, newest first, optionally by status."""
        return self.hooks.hook_events(project_id, hook_id, status=status)

    def resend_hook_event(self, project_id: ProjectRef, hook_id: int, event_id: int) -> int | None:
        """Send a logged delivery again; the receiver's status, or None if it could not be reached."""
        return self.hooks.resend_hook_event(project_id, hook_id, event_id)
