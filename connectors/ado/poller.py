"""Incremental polling of defects: WIQL by System.ChangedDate with a look-back, then workitemsbatch reads."""

# A poll is one WIQL query (ids only, api-contracts.md 2.6) and, when it names anything, one
# workitemsbatch read of at most 200 of those ids. The query looks back `overlap` before the cursor:
# ADO stamps System.ChangedDate when a save starts, so a slow save can become visible after a later one
# was read. Work items already read at the same revision inside that window are excluded in the query
# itself (`[System.Id] <> n OR [System.Rev] <> r`), so a poll with nothing new returns no ids and costs
# that one request.

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from bridge.connector import PollPage
from bridge.domain.events import DefectUpdated
from connectors.ado import wire
from connectors.ado.client import MAX_BATCH, AdoClient
from connectors.outcomes import RetryPolicy

log = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_OVERLAP = timedelta(minutes=2)
# Revisions remembered in the look-back window. Each becomes a clause of the WIQL text, which ADO caps
# at 32,000 characters; past this many, the window narrows to the newest ones (duplicates may follow,
# which the inbox drops).
MAX_SEEN = 500
CURSOR_VERSION = 1


class CursorError(ValueError):
    """A stored cursor that this connector did not write."""


@dataclass(frozen=True)
class Seen:
    """A revision already read: (id, rev) at its changed date."""

    id: int
    rev: int
    changed_at: datetime


@dataclass(frozen=True)
class PollCursor:
    """Where a poll starts: the newest changed date read (never past a poll's start) and the revisions
    read inside the look-back window before it."""

    since: datetime | None = None
    seen: tuple[Seen, ...] = ()

    def dumps(self) -> str:
        return json.dumps(
            {
                "v": CURSOR_VERSION,
                "since": wire.format_date(self.since) if self.since else None,
                "seen": [[s.id, s.rev, wire.format_date(s.changed_at)] for s in self.seen],
            },
            separators=(",", ":"),
        )

    @classmethod
    def loads(cls, text: str | None) -> PollCursor:
        if not text:
            return cls()
        try:
            data = json.loads(text)
            if not isinstance(data, dict) or data.get("v") != CURSOR_VERSION:
                raise CursorError("not an ADO poll cursor")
            since = wire.parse_date(data.get("since")) if data.get("since") else None
            seen = []
            for item_id, rev, changed in data.get("seen") or ():
                moment = wire.parse_date(changed)
                if moment is None:
                    raise CursorError(f"bad date in cursor: {changed!r}")
                seen.append(Seen(int(item_id), int(rev), moment))
        except (ValueError, TypeError) as exc:
            raise CursorError(f"unreadable ADO poll cursor: {exc}") from exc
        return cls(since, tuple(seen))

    def lower_bound(self, overlap: timedelta) -> datetime | None:
        """The earliest changed date the next query asks for."""
        if self.since is None:
            return None
        lower = self.since - overlap
        if len(self.seen) >= MAX_SEEN:
            # The window was trimmed to the newest revisions: do not look back past them.
            lower = max(lower, min(s.changed_at for s in self.seen))
        return lower

    def advanced(self, read: Iterable[Seen], *, now: datetime, overlap: timedelta) -> PollCursor:
        """The cursor once these revisions are stored: since = newest read, capped at `now`."""
        fresh = list(read)
        newest = max((s.changed_at for s in fresh), default=None)
        since = self.since
        if newest is not None:
            since = min(newest, now) if since is None else max(since, min(newest, now))
        keep: dict[tuple[int, int], Seen] = {(s.id, s.rev): s for s in (*self.seen, *fresh)}
        window = [s for s in keep.values() if since is None or s.changed_at >= since - overlap]
        window.sort(key=lambda s: (s.changed_at, s.id, s.rev), reverse=True)
        return PollCursor(since, tuple(window[:MAX_SEEN]))


def wiql(work_item_type: str, lower: datetime | None, exclude: Sequence[Seen]) -> str:
    """The incremental query: the project's items of the type, changed at or after `lower`, minus the
    revisions already read, oldest change first."""
    quoted = work_item_type.replace("'", "''")
    where = [
        "[System.TeamProject] = @project",
        f"[System.WorkItemType] = '{quoted}'",
    ]
    if lower is not None:
        where.append(f"[System.ChangedDate] >= '{wire.format_date(lower)}'")
    # `<>` with OR rather than NOT (...): both say "not this revision", and this form is plain WIQL.
    where += [f"([System.Id] <> {s.id} OR [System.Rev] <> {s.rev})" for s in exclude]
    # Only numbers, dates we format and the quoted type name go into the text: no injection.
    return (
        "SELECT [System.Id] FROM WorkItems WHERE "  # noqa: S608
        + " AND ".join(where)
        + " ORDER BY [System.ChangedDate] ASC, [System.Id] ASC"
    )


class AdoPoller:
    """Reads changed defects page by page from a cursor it alone writes."""

    def __init__(
        self,
        client: AdoClient,
        *,
        work_item_type: str,
        retry: RetryPolicy,
        overlap: timedelta = DEFAULT_OVERLAP,
        page_size: int = MAX_BATCH,
    ) -> None:
        if not 0 < page_size <= MAX_BATCH:
            raise ValueError(f"page_size must be between 1 and {MAX_BATCH}")
        self.client = client
        self.work_item_type = work_item_type
        self.retry = retry
        self.overlap = overlap
        self.page_size = page_size

    def _call(self, fn: Callable[[], T]) -> T:
        return self.retry.call(fn)

    def poll(self, cursor: str | None, *, now: datetime) -> PollPage:
        """One page: one WIQL query, and one batch read when it names anything."""
        start = PollCursor.loads(cursor)
        lower = start.lower_bound(self.overlap)
        exclude = [s for s in start.seen if lower is None or s.changed_at >= lower]
        text = wiql(self.work_item_type, lower, exclude)
        result = self._call(lambda: self.client.query(text, top=self.page_size + 1))
        page = list(result.ids[: self.page_size])
        more = len(result.ids) > self.page_size
        if not page:
            return PollPage((), cursor, False)
        # Read as of the query's moment, so an item changed since cannot carry the cursor past items
        # the query placed before it; its newer revision is the next poll's.
        items = self._call(lambda: self.client.read_batch(page, as_of=result.as_of))
        already = {(s.id, s.rev) for s in start.seen}
        events: list[DefectUpdated] = []
        read: list[Seen] = []
        for item in items:
            event = wire.defect(item, default_type=self.work_item_type)
            if event is None:
                log.warning("ADO work item %s lacks fields the domain needs; skipped", item.get("id"))
                continue
            read.append(Seen(event.id, event.rev, event.changed_at))
            if (event.id, event.rev) not in already:
                events.append(event)
        advanced = start.advanced(read, now=now, overlap=self.overlap)
        log.info("ADO poll: %d ids, %d new revisions, more=%s", len(page), len(events), more)
        return PollPage(tuple(events), advanced.dumps(), more)

    def cursor_since(self, since: datetime) -> str:
        """A cursor that reads everything changed since `since` (with the usual look-back)."""
        return PollCursor(since=since).dumps()
