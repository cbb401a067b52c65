"""GitLab's JSON shapes: REST entities (lib/api/entities) and webhook payloads (lib/gitlab/data_builder)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlsplit

from .model.records import (
    HOOK_EVENT_DEFAULTS,
    VISIBILITY_LEVELS,
    ZERO_SHA,
    Commit,
    Hook,
    HookEvent,
    Namespace,
    Project,
    Release,
    Tag,
    User,
    api_time,
    git_time,
    hook_time,
    xml_time,
)

JSON = dict[str, Any]

# Release archives GitLab offers for every release (doc/api/releases/_index.md, `assets.sources`).
ARCHIVE_FORMATS = ("zip", "tar.gz", "tar.bz2", "tar")


@dataclass(frozen=True)
class ProjectView:
    """A project with its namespace and the instance it lives on: everything its URLs are made of."""

    project: Project
    namespace: Namespace
    instance_url: str

    @property
    def path_with_namespace(self) -> str:
        return f"{self.namespace.full_path}/{self.project.path}"

    @property
    def web_url(self) -> str:
        return f"{self.instance_url}/{self.path_with_namespace}"

    @property
    def http_url(self) -> str:
        return f"{self.web_url}.git"

    @property
    def ssh_url(self) -> str:
        return f"git@{urlsplit(self.instance_url).hostname}:{self.path_with_namespace}.git"

    def commit_url(self, sha: str) -> str:
        return f"{self.web_url}/-/commit/{sha}"

    def release_url(self, tag_name: str) -> str:
        # Rails route helpers escape a `/` inside the tag segment (`dip-platform%2F1.0.2.0`).
        return f"{self.web_url}/-/releases/{quote(tag_name, safe='')}"


def avatar_url(user: User) -> str:
    """The Gravatar identicon GitLab shows for a user who uploaded no avatar (its default setting)."""
    digest = hashlib.sha256(user.email.strip().lower().encode()).hexdigest()
    return f"https://www.gravatar.com/avatar/{digest}?s=80&d=identicon"


def user_basic(user: User, instance_url: str) -> JSON:
    """Entities::UserBasic."""
    return {
        "id": user.id,
        "username": user.username,
        "public_email": user.public_email or None,
        "name": user.name,
        "state": "active",
        "locked": False,
        "avatar_url": avatar_url(user),
        "web_url": f"{instance_url}/{user.username}",
    }


def user_detail(user: User, instance_url: str) -> JSON:
    """What `GET /user` answers for the token's owner (Entities::UserPublic, the fields clients read)."""
    return {
        **user_basic(user, instance_url),
        "email": user.email,
        "bot": False,
        "is_admin": False,
        "created_at": "2024-01-01T00:00:00.000Z",
    }


def namespace_json(namespace: Namespace, instance_url: str) -> JSON:
    return {
        "id": namespace.id,
        "name": namespace.name,
        "path": namespace.path,
        "kind": "group",
        "full_path": namespace.full_path,
        "parent_id": namespace.parent_id,
        "avatar_url": None,
        "web_url": f"{instance_url}/groups/{namespace.full_path}",
    }


def project_json(view: ProjectView, last_activity_at: datetime) -> JSON:
    """Entities::Project as a maintainer sees it (the fields a client reads; no settings sprawl)."""
    p, api = view.project, f"{view.instance_url}/api/v4/projects/{view.project.id}"
    return {
        "id": p.id,
        "description": p.description,
        "name": p.name,
        "name_with_namespace": f"{view.namespace.name} / {p.name}",
        "path": p.path,
        "path_with_namespace": view.path_with_namespace,
        "created_at": api_time(p.created_at),
        "default_branch": p.default_branch,
        "tag_list": [],
        "topics": [],
        "ssh_url_to_repo": view.ssh_url,
        "http_url_to_repo": view.http_url,
        "web_url": view.web_url,
        "readme_url": None,
        "forks_count": 0,
        "avatar_url": None,
        "star_count": 0,
        "last_activity_at": api_time(last_activity_at),
        "namespace": namespace_json(view.namespace, view.instance_url),
        "visibility": p.visibility,
        "empty_repo": False,
        "archived": False,
        "_links": {
            "self": api,
            "issues": f"{api}/issues",
            "merge_requests": f"{api}/merge_requests",
            "repo_branches": f"{api}/repository/branches",
            "labels": f"{api}/labels",
            "events": f"{api}/events",
            "members": f"{api}/members",
            "cluster_agents": f"{api}/cluster_agents",
        },
    }


def commit_json(commit: Commit, view: ProjectView) -> JSON:
    """Entities::Commit."""
    return {
        "id": commit.id,
        "short_id": commit.short_id,
        "created_at": git_time(commit.committed_date),
        "parent_ids": list(commit.parent_ids),
        "title": commit.title,
        "message": commit.message,
        "author_name": commit.author_name,
        "author_email": commit.author_email,
        "authored_date": git_time(commit.authored_date),
        "committer_name": commit.author_name,
        "committer_email": commit.author_email,
        "committed_date": git_time(commit.committed_date),
        "trailers": {},
        "extended_trailers": {},
        "web_url": view.commit_url(commit.id),
    }


def commit_detail_json(commit: Commit, view: ProjectView) -> JSON:
    """Entities::CommitDetail, what `GET /repository/commits/:sha` answers."""
    return {
        **commit_json(commit, view),
        "stats": {"additions": 0, "deletions": 0, "total": 0},
        "status": None,
        "project_id": view.project.id,
        "last_pipeline": None,
    }


def branch_json(name: str, commit: Commit, view: ProjectView) -> JSON:
    """Entities::Branch."""
    return {
        "name": name,
        "commit": commit_json(commit, view),
        "merged": False,
        "protected": name == view.project.default_branch,
        "developers_can_push": False,
        "developers_can_merge": False,
        "can_push": True,
        "default": name == view.project.default_branch,
        "web_url": f"{view.web_url}/-/tree/{name}",
    }


def tag_json(tag: Tag, commit: Commit, release: Release | None, view: ProjectView) -> JSON:
    """Entities::Tag: `target` is the tag object for an annotated tag, else the commit."""
    return {
        "name": tag.name,
        "message": tag.message,
        "target": tag.target,
        "commit": commit_json(commit, view),
        "release": ({"tag_name": release.tag_name, "description": release.description} if release else None),
        "protected": False,
        "created_at": git_time(tag.created_at) if tag.created_at else None,
    }


def _sources(view: ProjectView, tag_name: str) -> list[JSON]:
    # Archive file names replace the `/` of a tag name with `-` (Repository#archive_metadata).
    stem = f"{view.project.path}-{tag_name.replace('/', '-')}"
    return [
        {"format": fmt, "url": f"{view.web_url}/-/archive/{tag_name}/{stem}.{fmt}"} for fmt in ARCHIVE_FORMATS
    ]


def release_json(release: Release, commit: Commit, author: User, view: ProjectView, now: datetime) -> JSON:
    """Entities::Release."""
    sources = _sources(view, release.tag_name)
    return {
        "name": release.name,
        "tag_name": release.tag_name,
        "description": release.description,
        "created_at": api_time(release.created_at),
        "released_at": api_time(release.released_at),
        "author": user_basic(author, view.instance_url),
        "commit": commit_json(commit, view),
        "upcoming_release": release.released_at > now,
        "commit_path": f"/{view.path_with_namespace}/-/commit/{commit.id}",
        "tag_path": f"/{view.path_with_namespace}/-/tags/{release.tag_name}",
        "assets": {"count": len(sources), "sources": sources, "links": []},
        "evidences": _evidences(release, view),
        "_links": _release_links(release, view),
    }


def _evidences(release: Release, view: ProjectView) -> list[JSON]:
    # GitLab collects evidence when a release is published on creation; none for a historical release
    # (released_at in the past), and an upcoming one's later, which the simulator does not do.
    if release.released_at != release.created_at:
        return []
    digest = hashlib.sha256(f"{view.project.id}:{release.id}".encode()).hexdigest()[:44]
    return [
        {
            "sha": digest,
            "filepath": f"{view.release_url(release.tag_name)}/evidences/{release.id}.json",
            "collected_at": api_time(release.created_at),
        }
    ]


def _release_links(release: Release, view: ProjectView) -> JSON:
    # The links gitlab.com answers (doc/api/releases/_index.md examples), in that order.
    filters = f"release_tag={quote(release.tag_name, safe='')}&scope=all"
    return {
        "closed_issues_url": f"{view.web_url}/-/issues?{filters}&state=closed",
        "closed_merge_requests_url": f"{view.web_url}/-/merge_requests?{filters}&state=closed",
        "edit_url": f"{view.release_url(release.tag_name)}/edit",
        "merged_merge_requests_url": f"{view.web_url}/-/merge_requests?{filters}&state=merged",
        "opened_issues_url": f"{view.web_url}/-/issues?{filters}&state=opened",
        "opened_merge_requests_url": f"{view.web_url}/-/merge_requests?{filters}&state=opened",
        "self": view.release_url(release.tag_name),
    }


def hook_json(hook: Hook) -> JSON:
    """Entities::ProjectHook; the token is never shown."""
    return {
        "id": hook.id,
        "url": hook.url,
        "name": hook.name,
        "description": hook.description,
        "project_id": hook.project_id,
        **{flag: flag in hook.events for flag in HOOK_EVENT_DEFAULTS},
        "push_events_branch_filter": hook.push_events_branch_filter,
        "enable_ssl_verification": hook.enable_ssl_verification,
        "alert_status": "executable",
        "disabled_until": None,
        "url_variables": [],
        "created_at": api_time(hook.created_at),
        "custom_webhook_template": None,
        "custom_headers": [],
    }


def hook_event_json(event: HookEvent, headers: dict[str, str], status: int | None) -> JSON:
    """One entry of `GET /projects/:id/hooks/:hook_id/events` (WebHookLog)."""
    shown = {k: ("[REDACTED]" if k == "X-Gitlab-Token" else v) for k, v in headers.items()}
    return {
        "id": event.id,
        "url": event.url,
        "trigger": event.trigger,
        "request_headers": shown,
        "request_data": json.loads(event.body),
        "response_headers": {},
        "response_body": "",
        "execution_duration": 0.0,
        # A delivery that never got an HTTP answer is logged as "internal error" (WebHookService).
        "response_status": str(status) if status is not None else "internal error",
    }


def project_hook_attrs(view: ProjectView) -> JSON:
    """Project#hook_attrs: the `project` object inside webhook payloads."""
    return {
        "id": view.project.id,
        "name": view.project.name,
        "description": view.project.description,
        "web_url": view.web_url,
        "avatar_url": None,
        "git_ssh_url": view.ssh_url,
        "git_http_url": view.http_url,
        "namespace": view.namespace.name,
        "visibility_level": VISIBILITY_LEVELS[view.project.visibility],
        "path_with_namespace": view.path_with_namespace,
        "default_branch": view.project.default_branch,
        "ci_config_path": None,
        "homepage": view.web_url,
        "url": view.ssh_url,
        "ssh_url": view.ssh_url,
        "http_url": view.http_url,
    }


def hook_commit(commit: Commit, view: ProjectView) -> JSON:
    """Commit#hook_attrs (the simulator does not track files, so the file lists are empty)."""
    return {
        "id": commit.id,
        "message": commit.message,
        "title": commit.title,
        "timestamp": xml_time(commit.committed_date),
        "url": view.commit_url(commit.id),
        "author": {"name": commit.author_name, "email": commit.author_email},
        "added": [],
        "modified": [],
        "removed": [],
    }


def tag_push_payload(
    view: ProjectView, user: User, tag_name: str, *, before: str, after: Tag | None, commit: Commit | None
) -> JSON:
    """Gitlab::DataBuilder::Push.build for a tag: created when `after` is given, deleted otherwise."""
    commits = [hook_commit(commit, view)] if after is not None and commit is not None else []
    return {
        "object_kind": "tag_push",
        "event_name": "tag_push",
        "before": before,
        "after": after.target if after else ZERO_SHA,
        "ref": f"refs/tags/{tag_name}",
        "ref_protected": False,
        "checkout_sha": after.commit_id if after else None,
        "message": after.message if after else None,
        "user_id": user.id,
        "user_name": user.name,
        "user_username": user.username,
        "user_email": user.public_email,
        "user_avatar": avatar_url(user),
        "project_id": view.project.id,
        "project": project_hook_attrs(view),
        "commits": commits,
        "total_commits_count": len(commits),
        "push_options": {},
        "repository": {
            "name": view.project.name,
            "url": view.ssh_url,
            "description": view.project.description,
            "homepage": view.web_url,
            "git_http_url": view.http_url,
            "git_ssh_url": view.ssh_url,
            "visibility_level": VISIBILITY_LEVELS[view.project.visibility],
        },
    }


def release_payload(release: Release, commit: Commit, view: ProjectView, action: str) -> JSON:
    """Gitlab::HookData::ReleaseBuilder: `tag` (not tag_name) and `action` at the top level."""
    commit_attrs = hook_commit(commit, view)
    for files in ("added", "modified", "removed"):
        del commit_attrs[files]
    sources = _sources(view, release.tag_name)
    return {
        "id": release.id,
        "created_at": hook_time(release.created_at),
        "description": release.description,
        "name": release.name,
        "released_at": hook_time(release.released_at),
        "tag": release.tag_name,
        "object_kind": "release",
        "project": project_hook_attrs(view),
        "url": view.release_url(release.tag_name),
        "action": action,
        "assets": {"count": len(sources), "links": [], "sources": sources},
        "commit": commit_attrs,
    }
