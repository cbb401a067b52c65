"""Polling GitLab: the first page of each project's tags against the cursor, and sweeps of every tag."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from bridge.config import GitLabProject
from bridge.connector import PollPage
from bridge.domain.events import ReleasePublished

from .client import PER_PAGE, GitLabApi
from .cursor import GitLabCursor, ProjectCursor, Sweep
from .errors import StalePageTokenError
from .wire import ReleaseView, TagView, release_published, release_removed, release_view, tag_view

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProjectPoll:
    """What one poll read of one project: its events, its cursor to store with them, more to read."""

    events: tuple[ReleasePublished, ...]
    cursor: ProjectCursor
    more: bool


class GitLabPoller:
    """Reads the tags and releases of the configured projects, from a cursor of tag digests."""

    def __init__(self, api: GitLabApi, projects: Sequence[GitLabProject], *, sweep_every: timedelta) -> None:
        self._api = api
        self._projects = tuple(projects)
        self._sweep_every = sweep_every

    def poll(self, cursor: str | None, *, now: datetime) -> PollPage:
        """One request per project when nothing is new; sweeps read one page per project per poll."""
        known = GitLabCursor.decode(cursor).projects
        events: list[ReleasePublished] = []
        states: dict[str, ProjectCursor] = {}
        more = False
        for project in self._projects:
            state = known.get(project.path) or ProjectCursor(sweep=Sweep(), sweep_started_at=now)
            read = self._sweep_page(project, state, now) if state.sweep else self._glance(project, state, now)
            events += read.events
            states[project.path] = read.cursor
            more = more or read.more
        return PollPage(tuple(events), GitLabCursor(states).encode(), more)

    def cursor_since(self, since: datetime) -> str:
        """A cursor that sweeps every project, reporting what was published at or after `since`."""
        states = {
            p.path: ProjectCursor(sweep=Sweep(since=since), sweep_started_at=None) for p in self._projects
        }
        return GitLabCursor(states).encode()

    def _glance(self, project: GitLabProject, state: ProjectCursor, now: datetime) -> ProjectPoll:
        """Page 1 of the tags, newest first, against the digests the cursor knows."""
        # New tags and new releases are on this page, and every tag of a project with less than a page
        # of them. Beyond it, the count (X-Total) shows a deleted or back-dated tag, and a periodic
        # sweep shows an edit to an old release.
        page = self._api.recent_tags(project.path)
        tags = [tag_view(t) for t in page.tags]
        changed = [t for t in tags if state.known.get(t.name) != t.digest]
        names = {t.name for t in tags}
        known = {**state.known, **{t.name: t.digest for t in changed}}
        events = self._events(project, changed, now, since=None)
        if len(tags) < PER_PAGE:
            # The whole project fits on the page: it is a complete sweep by itself.
            gone = sorted(set(state.known) - names)
            events += [release_removed(project, name, now=now) for name in gone]
            kept = {name: digest for name, digest in known.items() if name not in gone}
            return ProjectPoll(tuple(events), ProjectCursor(kept, swept_at=now), False)
        counted = page.total is None or page.total == len(set(state.known) | names)
        due = state.swept_at is None or now - state.swept_at >= self._sweep_every
        if counted and not due:
            return ProjectPoll(tuple(events), replace(state, known=known), False)
        log.info(
            "gitlab %s: sweeping every tag (%s)",
            project.path,
            "the tag count differs from the cursor's" if not counted else "periodic sweep",
        )
        return ProjectPoll(tuple(events), ProjectCursor(known, state.swept_at, Sweep(), now), True)

    def _sweep_page(self, project: GitLabProject, state: ProjectCursor, now: datetime) -> ProjectPoll:
        sweep = state.sweep or Sweep()
        try:
            rows = self._api.tags_after(project.path, sweep.after)
        except StalePageTokenError:
            # The tag the page was to start after was deleted: begin the sweep again.
            log.info("gitlab %s: tag %r is gone; sweep restarted", project.path, sweep.after)
            return ProjectPoll((), state.with_sweep(Sweep(since=sweep.since), state.sweep_started_at), True)
        tags = [tag_view(t) for t in rows]
        changed = [t for t in tags if state.known.get(t.name) != t.digest]
        known = {**state.known, **{t.name: t.digest for t in changed}}
        seen = sweep.seen | {t.name for t in tags}
        events = self._events(project, changed, now, since=sweep.since)
        if len(rows) >= PER_PAGE:
            following = Sweep(tags[-1].name, seen, sweep.since)
            started = state.sweep_started_at or now
            return ProjectPoll(
                tuple(events), replace(state, known=known, sweep=following, sweep_started_at=started), True
            )
        gone = sorted(set(known) - seen)
        events += [release_removed(project, name, now=now) for name in gone]
        kept = {name: digest for name, digest in known.items() if name in seen}
        return ProjectPoll(tuple(events), ProjectCursor(kept, swept_at=state.sweep_started_at or now), False)

    def _events(
        self, project: GitLabProject, tags: Iterable[TagView], now: datetime, *, since: datetime | None
    ) -> list[ReleasePublished]:
        chosen = list(tags)
        wanted = {t.name for t in chosen if t.has_release}
        releases = self._releases(project.path, wanted) if wanted else {}
        events = [release_published(project, t, releases.get(t.name), now=now) for t in chosen]
        if since is not None:
            events = [e for e in events if e.published_at is None or e.published_at >= since]
        return events

    def _releases(self, path: str, wanted: set[str]) -> dict[str, ReleaseView]:
        """The releases of the wanted tags: pages of releases, latest first, until all are found."""
        found: dict[str, ReleaseView] = {}
        page = 1
        while True:
            rows = self._api.releases(path, page)
            for row in rows:
                view = release_view(row)
                if view.tag_name in wanted:
                    found[view.tag_name] = view
            if wanted <= found.keys() or len(rows) < PER_PAGE:
                return found
            page += 1
