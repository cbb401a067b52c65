"""Conversions between the Table API's string records and the domain's ChangeUpdated and JournalEntry."""

# Every Table API value is a string (api-contracts.md 3.1): "-1" for a state, "3" for sys_mod_count,
# "" for an empty field, date-times as UTC "YYYY-MM-DD HH:MM:SS" and dates as "YYYY-MM-DD".

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime

from bridge.domain.events import ChangeUpdated, JournalEntry, RfcState
from bridge.errors import SkippableError
from bridge.mappings import ServiceNowMapping

TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
DATE_FORMAT = "%Y-%m-%d"
SYS_ID = re.compile(r"^[0-9a-f]{32}$")

# The change_request fields the domain reads; the mapped fields (settings.fields) come on top.
CHANGE_FIELDS: tuple[str, ...] = (
    "sys_id",
    "number",
    "sys_mod_count",
    "sys_updated_on",
    "state",
    "type",
    "approval",
    "close_code",
    "close_notes",
    "start_date",
    "end_date",
    "cab_date",
    "short_description",
    "description",
    "correlation_id",
    "correlation_display",
)
JOURNAL_FIELDS: tuple[str, ...] = (
    "sys_id",
    "element",
    "element_id",
    "value",
    "sys_created_on",
    "sys_created_by",
)
# RFCs whose work notes the engine reads (control point 8: deployment issues captured during Implement).
NOTED_STATES = frozenset({RfcState.IMPLEMENT, RfcState.REVIEW, RfcState.CLOSED})


class MalformedRecordError(SkippableError):
    """A record without what every event needs: a sys_id, a sys_mod_count, a sys_updated_on."""


class UnmappedStateError(SkippableError):
    """A state value mappings/servicenow.yaml does not name: the record is left out, with a warning."""


def change_fields(roles: Mapping[str, str]) -> tuple[str, ...]:
    """The fields to read for a change: the domain's and the mapped ones, each once."""
    return tuple(dict.fromkeys([*CHANGE_FIELDS, *roles.values()]))


def displayed_fields(roles: Mapping[str, str]) -> frozenset[str]:
    """The fields read by their display values: the mapped ones. A mapped field may be a reference
    (an environment record, a group), whose stored value is a sys_id but whose display value is the
    name people see and the mappings know; for text the two are the same."""
    return frozenset(roles.values())


def events_show_mapped_fields(record: Mapping[str, str], roles: Mapping[str, str]) -> bool:
    """Whether a change event's record shows the mapped fields as a read does. The business rule sends
    stored values: a reference there is a sys_id, not the name, and a dot-walked field is absent. Such
    an event is a hint only, and the record is read again."""
    return not any("." in name or SYS_ID.match(record.get(name, "")) for name in roles.values())


def parse_time(text: str) -> datetime | None:
    """A Table API date-time (or date) as an aware UTC datetime; None when empty or not a date."""
    text = text.strip()
    for layout in (TIME_FORMAT, DATE_FORMAT):
        try:
            return datetime.strptime(text, layout).replace(tzinfo=UTC)
        except ValueError:
            continue
    return None


def format_time(moment: datetime) -> str:
    """A datetime as a Table API literal, in UTC (a plain literal in a query is read as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime(TIME_FORMAT)


def revision_of(row: Mapping[str, str]) -> tuple[str, int, datetime]:
    """(sys_id, sys_mod_count, sys_updated_on) of a record; MalformedRecordError names what is missing."""
    sys_id = row.get("sys_id", "")
    if not SYS_ID.match(sys_id):
        raise MalformedRecordError(f"record without a valid sys_id ({sys_id!r})")
    count = row.get("sys_mod_count", "")
    if not count.strip().isdigit():
        raise MalformedRecordError(f"record {sys_id} without a numeric sys_mod_count ({count!r})")
    updated = parse_time(row.get("sys_updated_on", ""))
    if updated is None:
        raise MalformedRecordError(f"record {sys_id} without a sys_updated_on date-time")
    return sys_id, int(count), updated


def to_change(
    row: Mapping[str, str],
    mapping: ServiceNowMapping,
    roles: Mapping[str, str],
    work_notes: tuple[JournalEntry, ...] | None = None,
) -> ChangeUpdated:
    """The ChangeUpdated a change_request record shows.

    Raises MalformedRecordError or UnmappedStateError (both skippable) when it cannot be read.
    """
    sys_id, mod_count, updated = revision_of(row)
    value = row.get("state", "")
    state = mapping.rfc_state(value)
    if state is None:
        raise UnmappedStateError(
            f"{row.get('number') or sys_id} has state {value!r}, which mappings/servicenow.yaml does not name"
        )
    environment_field = roles.get("environment")
    return ChangeUpdated(
        sys_id=sys_id,
        number=row.get("number", ""),
        mod_count=mod_count,
        updated_at=updated,
        state=state,
        type=row.get("type", ""),
        approval=row.get("approval", ""),
        close_code=row.get("close_code") or None,
        close_notes=row.get("close_notes", ""),
        planned_start=parse_time(row.get("start_date", "")),
        planned_end=parse_time(row.get("end_date", "")),
        cab_date=parse_time(row.get("cab_date", "")),
        short_description=row.get("short_description", ""),
        description=row.get("description", ""),
        correlation_id=row.get("correlation_id", ""),
        environment=(row.get(environment_field) or None) if environment_field else None,
        fields=tuple((role, row.get(name, "")) for role, name in sorted(roles.items())),
        work_notes=work_notes,
    )


def needs_notes(row: Mapping[str, str], mapping: ServiceNowMapping) -> bool:
    """Whether the engine reads this RFC's work notes (it is in Implement, Review or Closed)."""
    return mapping.rfc_state(row.get("state", "")) in NOTED_STATES


def to_journal(rows: Iterable[Mapping[str, str]]) -> dict[str, tuple[JournalEntry, ...]]:
    """sys_journal_field rows grouped by the record they belong to, oldest first."""
    grouped: dict[str, list[JournalEntry]] = {}
    for row in rows:
        created = parse_time(row.get("sys_created_on", ""))
        if created is None:
            continue
        entry = JournalEntry(created, row.get("sys_created_by", ""), row.get("value", ""), "work_notes")
        grouped.setdefault(row.get("element_id", ""), []).append(entry)
    return {key: tuple(sorted(entries, key=lambda e: e.created_at)) for key, entries in grouped.items()}
