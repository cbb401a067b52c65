"""The GitLab poll cursor: per project, the digest of every tag it knows and any sweep under way."""

# GitLab gives a release no edit time (doc/api/releases/_index.md has created_at and released_at only),
# so a time watermark with a look-back would miss an edited note. The cursor holds what it saw instead:
# a poll compares the first page of tags (newest first, each with its release description) with the
# digests it knows, and a sweep (every tag by name, in keyset pages) finds what that page cannot show:
# tags deleted or created on old commits (the tag count disagrees) and edits to old releases (periodic).

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from bridge.errors import PermanentError

VERSION = 1


@dataclass(frozen=True)
class Sweep:
    """A read of every tag by name, one keyset page per poll."""

    after: str | None = None  # the last tag name read; the next page starts after it
    seen: frozenset[str] = frozenset()  # names read so far: what is not seen at the end is gone
    since: datetime | None = None  # report only releases published at or after this (backfill)


@dataclass(frozen=True)
class ProjectCursor:
    """What the cursor knows of one project."""

    known: dict[str, str] = field(default_factory=dict)  # tag name -> digest (wire.TagView.digest)
    swept_at: datetime | None = None  # start of the poll that began the last finished sweep
    sweep: Sweep | None = None
    sweep_started_at: datetime | None = None

    def with_sweep(self, sweep: Sweep | None, started_at: datetime | None) -> ProjectCursor:
        return replace(self, sweep=sweep, sweep_started_at=started_at)


@dataclass(frozen=True)
class GitLabCursor:
    """Every configured project's cursor."""

    projects: dict[str, ProjectCursor] = field(default_factory=dict)

    def encode(self) -> str:
        return json.dumps(
            {"v": VERSION, "projects": {path: _project_json(p) for path, p in self.projects.items()}},
            sort_keys=True,
            separators=(",", ":"),
        )

    @classmethod
    def decode(cls, text: str | None) -> GitLabCursor:
        if text is None:
            return cls()
        try:
            data = json.loads(text)
            if data.get("v") != VERSION:
                raise ValueError(f"version {data.get('v')!r}, expected {VERSION}")
            return cls({path: _project_cursor(p) for path, p in data["projects"].items()})
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise PermanentError(f"not a GitLab poll cursor: {exc}") from exc


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _parse(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _project_json(p: ProjectCursor) -> dict[str, Any]:
    sweep = p.sweep
    return {
        "known": p.known,
        "swept_at": _time(p.swept_at),
        "sweep_started_at": _time(p.sweep_started_at),
        "sweep": (
            {"after": sweep.after, "seen": sorted(sweep.seen), "since": _time(sweep.since)} if sweep else None
        ),
    }


def _project_cursor(data: dict[str, Any]) -> ProjectCursor:
    sweep = data.get("sweep")
    return ProjectCursor(
        known={str(k): str(v) for k, v in data["known"].items()},
        swept_at=_parse(data.get("swept_at")),
        sweep=(
            Sweep(sweep.get("after"), frozenset(sweep.get("seen", ())), _parse(sweep.get("since")))
            if sweep
            else None
        ),
        sweep_started_at=_parse(data.get("sweep_started_at")),
    )
