"""GitLab's JSON (REST tags and releases, webhook payloads) turned into the domain's ReleasePublished."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from bridge.config import GitLabProject
from bridge.domain.events import NoteSource, ReleasePublished, text_digest

ZERO_SHA = "0" * 40  # `after` of a deleted tag (doc/user/project/integrations/webhook_events.md)


def parse_time(value: object) -> datetime | None:
    """A GitLab time: ISO 8601 from the REST API, or Ruby's `2024-05-01 10:00:00 UTC` from webhooks."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if text.endswith(" UTC"):
        text = text[: -len(" UTC")].replace(" ", "T") + "+00:00"
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def mapping(value: object) -> Mapping[str, Any]:
    """A JSON object, or an empty one for anything else."""
    return value if isinstance(value, Mapping) else {}


@dataclass(frozen=True)
class TagView:
    """A tag as the tags list shows it: its commit, its message and its release's description."""

    name: str
    commit_sha: str | None
    message: str | None
    has_release: bool
    release_description: str | None
    tagged_at: datetime | None  # the tagger's date, or the commit's for a lightweight tag
    commit_url: str | None

    @property
    def note_source(self) -> NoteSource:
        if self.has_release:
            return NoteSource.RELEASE
        return NoteSource.TAG_MESSAGE if self.message else NoteSource.NONE

    @property
    def note(self) -> str:
        if self.has_release:
            return self.release_description or ""
        return self.message or ""

    @property
    def digest(self) -> str:
        """What the domain's revision is made of; a different digest is a new revision of the release."""
        return text_digest(f"{self.commit_sha}\n{self.note_source}\n{self.note}")

    @property
    def web_url(self) -> str | None:
        # The tags API gives no tag URL; the commit's web_url is `<project>/-/commit/<sha>`.
        if not self.commit_url or "/-/commit/" not in self.commit_url:
            return None
        project_url = self.commit_url.split("/-/commit/", 1)[0]
        return f"{project_url}/-/tags/{quote(self.name, safe='')}"


def tag_view(data: Mapping[str, Any]) -> TagView:
    """A tag from `GET /projects/:id/repository/tags` (doc/api/tags.md)."""
    commit = mapping(data.get("commit"))
    release = data.get("release") if isinstance(data.get("release"), Mapping) else None
    return TagView(
        name=str(data["name"]),
        commit_sha=_text(commit.get("id")),
        message=_text(data.get("message")) or None,
        has_release=release is not None,
        release_description=_text(release.get("description")) if release is not None else None,
        tagged_at=(
            parse_time(data.get("created_at"))
            or parse_time(commit.get("committed_date"))
            or parse_time(commit.get("created_at"))
        ),
        commit_url=_text(commit.get("web_url")),
    )


@dataclass(frozen=True)
class ReleaseView:
    """The parts of a release the tags list does not carry: when it was released and its page."""

    tag_name: str
    released_at: datetime | None
    web_url: str | None


def release_view(data: Mapping[str, Any]) -> ReleaseView:
    """A release from `GET /projects/:id/releases` (doc/api/releases/_index.md)."""
    links = mapping(data.get("_links"))
    return ReleaseView(str(data["tag_name"]), parse_time(data.get("released_at")), _text(links.get("self")))


def release_published(
    project: GitLabProject, tag: TagView, release: ReleaseView | None, *, now: datetime
) -> ReleasePublished:
    """The domain's reading of a tag and its release, read at `now`."""
    published = release.released_at if release and release.released_at else tag.tagged_at
    return ReleasePublished(
        project=project.path,
        component=project.component,
        tag=tag.name,
        commit_sha=tag.commit_sha,
        note=tag.note,
        note_source=tag.note_source,
        published_at=published,
        read_at=now,
        web_url=(release.web_url if release and release.web_url else tag.web_url),
    )


def release_removed(project: GitLabProject, tag: str, *, now: datetime) -> ReleasePublished:
    """A tag that is gone: its release went with it (doc/api/tags.md, Delete a tag)."""
    return ReleasePublished(
        project=project.path,
        component=project.component,
        tag=tag,
        commit_sha=None,
        note="",
        note_source=NoteSource.NONE,
        published_at=None,
        read_at=now,
        removed=True,
    )
