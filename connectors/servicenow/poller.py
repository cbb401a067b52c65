"""Incremental reads of change_request by sys_updated_on, with a look-back and dedupe by revision."""

# sys_updated_on has one-second resolution and a record can become visible after a later-stamped one,
# so each poll re-reads from `watermark - overlap` with `>=` and drops the (sys_id, sys_mod_count)
# pairs already read in that window (api-contracts.md 3.1: "use >= and deduplicate"). Reads have no
# upper bound, since the instance's clock may run ahead of ours and a record stamped "later" must not
# wait for our clock to catch up; the watermark is still capped at the poll's `now`, and revisions read
# ahead of it stay in the seen window, so they are not repeated. pysnow does not paginate: pages are
# read here, each from the last one's final sys_updated_on, and by sysparm_offset only while one
# second holds more than a page.

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from bridge.connector import PollPage
from bridge.domain.events import ChangeUpdated, DomainEvent, JournalEntry
from bridge.errors import PermanentError, SkippableError
from bridge.mappings import ServiceNowMapping
from connectors.outcomes import RetryPolicy
from connectors.servicenow.client import Row, TableClient
from connectors.servicenow.journal import work_notes
from connectors.servicenow.wire import (
    change_fields,
    displayed_fields,
    format_time,
    needs_notes,
    parse_time,
    revision_of,
    to_change,
)

log = logging.getLogger(__name__)

CURSOR_VERSION = 1
DEFAULT_PAGE_SIZE = 200
DEFAULT_OVERLAP = timedelta(seconds=5)


@dataclass(frozen=True)
class PollCursor:
    """Where a poll resumes.

    `watermark`: the newest sys_updated_on read; `seen`: the revisions read in the look-back window
    before it (`"sys_id:sys_mod_count"` → sys_updated_on); `resume`: after a full page, the
    sys_updated_on of its last record, where the next page starts instead of looking back; `offset`:
    records of the next query already read, when one second holds more than a page.
    """

    watermark: datetime | None = None
    seen: Mapping[str, datetime] = field(default_factory=dict)
    resume: datetime | None = None
    offset: int = 0

    def since(self, overlap: timedelta) -> datetime | None:
        """Where the next query starts (`>=`): where paging stopped, else the watermark less the look-back."""
        if self.resume is not None:
            return self.resume
        return self.watermark - overlap if self.watermark is not None else None

    def encode(self) -> str:
        return json.dumps(
            {
                "v": CURSOR_VERSION,
                "watermark": format_time(self.watermark) if self.watermark else None,
                "seen": {key: format_time(at) for key, at in sorted(self.seen.items())},
                "resume": format_time(self.resume) if self.resume else None,
                "offset": self.offset,
            },
            separators=(",", ":"),
        )

    @classmethod
    def decode(cls, text: str | None) -> PollCursor:
        """The cursor a poll stored; PermanentError for one this connector did not write."""
        if text is None:
            return cls()
        try:
            data = json.loads(text)
            if data.get("v") != CURSOR_VERSION:
                raise ValueError(f"version {data.get('v')!r}")
            watermark = _required_time(data["watermark"]) if data.get("watermark") else None
            seen = {str(k): _required_time(v) for k, v in dict(data.get("seen") or {}).items()}
            resume = _required_time(data["resume"]) if data.get("resume") else None
            return cls(watermark, seen, resume, int(data.get("offset") or 0))
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise PermanentError(f"not a ServiceNow poll cursor ({exc})") from None


def _required_time(text: object) -> datetime:
    moment = parse_time(str(text))
    if moment is None:
        raise ValueError(f"bad time {text!r}")
    return moment


def _second(moment: datetime) -> datetime:
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).replace(microsecond=0)


def poll_query(since: datetime | None) -> str:
    """The encoded query of one poll: only sys_updated_on, a field every table has, and a stable order."""
    parts = [f"sys_updated_on>={format_time(since)}"] if since is not None else []
    parts += ["ORDERBYsys_updated_on", "ORDERBYsys_id"]
    return "^".join(parts)


class ServiceNowPoller:
    """Reads change_request pages since a cursor and turns the new revisions into ChangeUpdated events."""

    def __init__(
        self,
        client: TableClient,
        *,
        table: str,
        mapping: ServiceNowMapping,
        roles: Mapping[str, str],
        retry: RetryPolicy,
        page_size: int = DEFAULT_PAGE_SIZE,
        overlap: timedelta = DEFAULT_OVERLAP,
    ) -> None:
        self._client = client
        self._table = table
        self._mapping = mapping
        self._roles = dict(roles)
        self._retry = retry
        self._page_size = page_size
        self._overlap = overlap

    def poll(self, cursor: str | None, *, now: datetime) -> PollPage:
        """One page of changes since `cursor`, read up to `now` (the cursor never passes it)."""
        state = PollCursor.decode(cursor)
        until = _second(now)
        since = state.since(self._overlap)
        query = poll_query(since)
        rows = self._retry.call(
            lambda: self._client.select(
                self._table,
                query,
                fields=change_fields(self._roles),
                limit=self._page_size,
                offset=state.offset,
                displayed=displayed_fields(self._roles),
            )
        )
        fresh, revisions = self._new_rows(rows, state.seen)
        events = self._events(fresh)
        read = [*revisions.values(), *([state.watermark] if state.watermark else [])]
        watermark = min(max(read), until) if read else None
        full = len(rows) >= self._page_size
        # The look-back window is remembered whatever the next query: its revisions are never repeated.
        window = watermark - self._overlap if watermark is not None else None
        # Revisions stamped ahead of the capped watermark stay too: the next poll reads them again.
        seen = {k: at for k, at in {**state.seen, **revisions}.items() if window is None or at >= window}
        # Rows come in sys_updated_on order, so after a full page nothing unread is older than its last.
        resume = (parse_time(rows[-1].get("sys_updated_on", "")) or since) if full else None
        # A full page that leaves the next query where this one was (one second holds more than a page):
        # step over the records read, or the same page would come back for ever.
        offset = state.offset + len(rows) if full and resume == since else 0
        cursor_out = PollCursor(watermark, seen, resume=resume, offset=offset)
        return PollPage(tuple(events), cursor_out.encode(), more=full)

    def _new_rows(
        self, rows: list[Row], seen: Mapping[str, datetime]
    ) -> tuple[list[Row], dict[str, datetime]]:
        """The rows not read before, and the revision of every row of the page (sys_id:count → time)."""
        fresh: list[Row] = []
        revisions: dict[str, datetime] = {}
        for row in rows:
            try:
                sys_id, count, updated = revision_of(row)
            except SkippableError as exc:
                log.warning("servicenow poll: %s; left out", exc)
                continue
            key = f"{sys_id}:{count}"
            revisions[key] = updated
            if key not in seen:
                fresh.append(row)
        return fresh, revisions

    def _events(self, rows: list[Row]) -> list[DomainEvent]:
        noted = [row["sys_id"] for row in rows if needs_notes(row, self._mapping)]
        notes = self._retry.call(lambda: work_notes(self._client, noted)) if noted else {}
        events: list[DomainEvent] = []
        for row in rows:
            change = convert(row, self._mapping, self._roles, notes)
            if change is not None:
                events.append(change)
        return events


def convert(
    row: Row,
    mapping: ServiceNowMapping,
    roles: Mapping[str, str],
    notes: Mapping[str, tuple[JournalEntry, ...]],
) -> ChangeUpdated | None:
    """The event for a polled record, or None (logged) when it cannot be read: an unmapped state is a
    warning naming the value, never a failed poll."""
    try:
        return to_change(row, mapping, roles, notes.get(row.get("sys_id", "")))
    except SkippableError as exc:
        log.warning("servicenow poll: %s; left out", exc)
        return None
