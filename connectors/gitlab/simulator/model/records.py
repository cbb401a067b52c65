"""The simulated GitLab's records (projects, commits, tags, releases, hooks) and its git rules."""

from __future__ import annotations

import hashlib
import re
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime

from ..errors import bad_param

ZERO_SHA = "0" * 40

# Project hook event switches and their defaults when a hook is added through the API
# (doc/api/project_webhooks.md › "Add a webhook to a project": only push events are on by default).
HOOK_EVENT_DEFAULTS: dict[str, bool] = {
    "push_events": True,
    "issues_events": False,
    "confidential_issues_events": False,
    "merge_requests_events": False,
    "tag_push_events": False,
    "note_events": False,
    "confidential_note_events": False,
    "job_events": False,
    "pipeline_events": False,
    "wiki_page_events": False,
    "deployment_events": False,
    "releases_events": False,
    "feature_flag_events": False,
    "resource_access_token_events": False,
    "repository_update_events": False,
}

VISIBILITY_LEVELS = {"private": 0, "internal": 10, "public": 20}


@dataclass(frozen=True)
class User:
    """The account the simulator's token belongs to; it authors every change made through the API."""

    id: int = 1
    username: str = "release-bot"
    name: str = "Release Bot"
    email: str = "release-bot@example.com"
    public_email: str = ""


@dataclass(frozen=True)
class Namespace:
    """A group that holds projects; created on demand from a project's full path."""

    id: int
    name: str
    path: str
    full_path: str
    parent_id: int | None


@dataclass(frozen=True)
class Project:
    """A project and the settings the simulator keeps for it."""

    id: int
    name: str
    path: str
    namespace_id: int
    description: str | None
    default_branch: str
    visibility: str
    created_at: datetime


@dataclass(frozen=True)
class Commit:
    """A git commit: its sha, parents, message and author."""

    id: str
    parent_ids: tuple[str, ...]
    message: str
    author_name: str
    author_email: str
    authored_date: datetime
    committed_date: datetime

    @property
    def title(self) -> str:
        return self.message.split("\n", 1)[0]

    @property
    def short_id(self) -> str:
        return self.id[:8]


@dataclass(frozen=True)
class Tag:
    """A git tag: annotated when it has a message (then `target` is the tag object's sha)."""

    name: str
    target: str
    commit_id: str
    message: str | None
    created_at: datetime | None


@dataclass(frozen=True)
class Release:
    """A GitLab release attached to a tag."""

    id: int
    tag_name: str
    name: str
    description: str | None
    created_at: datetime
    released_at: datetime
    author_id: int
    commit_id: str


@dataclass(frozen=True)
class Hook:
    """A project webhook; the token is write-only, as in GitLab."""

    id: int
    project_id: int
    url: str
    token: str | None
    events: tuple[str, ...]  # the switched-on event names, sorted so saved state compares equal
    name: str
    description: str
    enable_ssl_verification: bool
    push_events_branch_filter: str
    created_at: datetime


@dataclass(frozen=True)
class HookEvent:
    """One delivery in a hook's "Recent events" log, kept so it can be resent."""

    id: int
    hook_id: int
    url: str
    trigger: str  # GitLab's hook scope, e.g. tag_push_hooks, release_hooks
    event: str  # the X-Gitlab-Event header
    body: str
    idempotency_key: str
    webhook_uuid: str
    event_uuid: str
    created_at: datetime


@dataclass
class Repository:
    """A project's git repository: commits, branches and tags, with the lookups git offers."""

    commits: dict[str, Commit] = field(default_factory=dict)
    branches: dict[str, str] = field(default_factory=dict)
    tags: dict[str, Tag] = field(default_factory=dict)

    def resolve(self, ref: str) -> Commit | None:
        """The commit a ref names: a branch, a tag, a full or abbreviated sha (git rev-parse rules)."""
        name = ref.removeprefix("refs/heads/").removeprefix("refs/tags/")
        if name in self.branches:
            return self.commits[self.branches[name]]
        if name in self.tags:
            return self.commits[self.tags[name].commit_id]
        if ref in self.commits:
            return self.commits[ref]
        if re.fullmatch(r"[0-9a-f]{4,39}", ref):
            found = [c for sha, c in self.commits.items() if sha.startswith(ref)]
            if len(found) == 1:
                return found[0]
        return None

    def ancestors(self, sha: str) -> dict[str, int]:
        """Every commit reachable from `sha` (itself included), with its distance from `sha`."""
        seen = {sha: 0}
        pending = deque([sha])
        while pending:
            current = pending.popleft()
            for parent in self.commits[current].parent_ids:
                if parent not in seen:
                    seen[parent] = seen[current] + 1
                    pending.append(parent)
        return seen

    def merge_base(self, shas: list[str]) -> Commit | None:
        """The best common ancestor of the commits, as `git merge-base` picks it."""
        reach = [self.ancestors(sha) for sha in shas]
        common = set(reach[0]).intersection(*reach[1:])
        # A best common ancestor is one that no other common ancestor descends from.
        below = {a for c in common for a in self.ancestors(c) if a != c}
        best = [self.commits[c] for c in common - below]
        if not best:
            return None
        return max(best, key=lambda c: (c.committed_date, -reach[0][c.id]))

    def log(self, sha: str) -> list[Commit]:
        """Commits reachable from `sha`, newest first, as `git log` lists them."""
        reach = self.ancestors(sha)
        return sorted(
            (self.commits[s] for s in reach), key=lambda c: (c.committed_date, -reach[c.id]), reverse=True
        )

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        return ancestor in self.ancestors(descendant)


def object_sha(*parts: str) -> str:
    """A 40-hex object name, derived from the object's content so runs repeat exactly."""
    return hashlib.sha1("\0".join(parts).encode(), usedforsecurity=False).hexdigest()


_BAD_REF = re.compile(r"[\x00-\x20~^:?*\[\\\x7f]|\.\.|@\{|//|/\.|\.lock$|\.lock/")


def valid_ref_name(name: str) -> bool:
    """Git's ref-name rules (git check-ref-format), which GitLab applies to new tags and branches."""
    return bool(
        name
        and name != "@"
        and not name.startswith(("-", "/", ".", "refs/"))
        and not name.endswith(("/", "."))
        and not _BAD_REF.search(name)
    )


def utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def api_time(moment: datetime) -> str:
    """A database timestamp as the REST API writes it: `2019-01-03T01:56:19.539Z`."""
    moment = utc(moment)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def git_time(moment: datetime) -> str:
    """A git timestamp as the REST API writes it: `2024-05-01T09:58:00.000+00:00`."""
    return utc(moment).strftime("%Y-%m-%dT%H:%M:%S.000+00:00")


def hook_time(moment: datetime) -> str:
    """A timestamp in a release webhook, in Ruby's format: `2024-05-01 10:02:11 UTC`."""
    return utc(moment).strftime("%Y-%m-%d %H:%M:%S UTC")


def xml_time(moment: datetime) -> str:
    """A commit timestamp in a webhook (Ruby's xmlschema): `2024-05-01T09:58:00+00:00`."""
    return utc(moment).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def parse_time(text: str) -> datetime:
    """An ISO 8601 time from a request (`2019-03-15T08:00:00Z`); a bad one is a 400 as Grape gives it."""
    try:
        return utc(datetime.fromisoformat(text.replace("Z", "+00:00")))
    except ValueError as exc:
        raise bad_param("released_at is invalid") from exc


def version_key(name: str) -> list[tuple[int, int | str]]:
    """Orders names the way `git tag --sort=version:refname` does: digit runs compare as numbers."""
    return [(0, int(part)) if part.isdigit() else (1, part) for part in re.findall(r"\d+|\D+", name)]


def name_matches(name: str, search: str) -> bool:
    """GitLab's name search: `^term` is a prefix, `term$` a suffix, else a substring; any case."""
    name, term = name.lower(), search.lower()
    if term.startswith("^"):
        return name.startswith(term[1:])
    if term.endswith("$"):
        return name.endswith(term[:-1])
    return term in name
