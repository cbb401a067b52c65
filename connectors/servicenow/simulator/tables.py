"""The simulated tables: their fields, field types, choice labels and how values are stored and shown."""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

CHANGE_REQUEST = "change_request"
JOURNAL = "sys_journal_field"

SYS_ID = re.compile(r"^[0-9a-f]{32}$")


class FieldType(enum.Enum):
    """How a column compares, sorts and renders; the names are ServiceNow's internal types."""

    STRING = "string"  # free text, compared as text
    INTEGER = "integer"  # compared as a number, stored as its decimal string
    CHOICE = "choice"  # a stored value with a label (state's values are integers)
    DATETIME = "glide_date_time"  # UTC `YYYY-MM-DD HH:MM:SS`
    DATE = "glide_date"  # `YYYY-MM-DD`
    BOOLEAN = "boolean"  # "true" / "false"
    REFERENCE = "reference"  # a sys_id of a record in another table
    JOURNAL = "journal_input"  # write-only on the record; entries live in sys_journal_field


@dataclass(frozen=True)
class Column:
    """One column of a simulated table."""

    name: str
    kind: FieldType = FieldType.STRING
    default: str = ""
    labels: Mapping[str, str] | None = None  # choice value -> display label
    numeric: bool = False  # a choice whose values compare as integers (state)
    reference: str = ""  # the referenced table
    writable: bool = True


# Labels as the out-of-box change_request choice lists show them ("State model and transitions";
# task.approval choices).
STATE_LABELS = {
    "-5": "New",
    "-4": "Assess",
    "-3": "Authorize",
    "-2": "Scheduled",
    "-1": "Implement",
    "0": "Review",
    "3": "Closed",
    "4": "Canceled",
}
TYPE_LABELS = {"normal": "Normal", "standard": "Standard", "emergency": "Emergency"}
APPROVAL_LABELS = {
    "not requested": "Not Yet Requested",
    "requested": "Requested",
    "approved": "Approved",
    "rejected": "Rejected",
}
CLOSE_CODE_LABELS = {
    "successful": "Successful",
    "successful_issues": "Successful with issues",
    "unsuccessful": "Unsuccessful",
}

_SYSTEM = (
    Column("sys_id", writable=False),
    Column("sys_created_on", FieldType.DATETIME, writable=False),
    Column("sys_created_by", writable=False),
    Column("sys_updated_on", FieldType.DATETIME, writable=False),
    Column("sys_updated_by", writable=False),
    Column("sys_mod_count", FieldType.INTEGER, "0", writable=False),
)


@dataclass(frozen=True)
class Table:
    """A simulated table: its name, columns in Table API order, and the number prefix if it has one."""

    name: str
    columns: tuple[Column, ...]
    number_prefix: str = ""

    def column(self, name: str) -> Column | None:
        return next((c for c in self.columns if c.name == name), None)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)


# The field a referenced record shows as its display value (an instance picks a field marked as the
# display field, else one called number, name, u_number or u_name).
DISPLAY_FIELD = "name"


def change_request_table(
    extra_fields: Sequence[str] = (), references: Mapping[str, str] | None = None
) -> Table:
    """change_request with the fields the bridge reads and writes, plus the instance's `u_` fields;
    those named in `references` are reference fields to the table named there."""
    refer = dict(references or {})
    columns = (
        Column("number"),
        Column("short_description"),
        Column("description"),
        Column("type", FieldType.CHOICE, "normal", TYPE_LABELS),
        Column("state", FieldType.CHOICE, "-5", STATE_LABELS, numeric=True),
        Column("approval", FieldType.CHOICE, "not requested", APPROVAL_LABELS),
        Column("assignment_group", FieldType.REFERENCE, reference="sys_user_group"),
        Column("start_date", FieldType.DATETIME),
        Column("end_date", FieldType.DATETIME),
        Column("cab_date", FieldType.DATE),
        Column("close_code", FieldType.CHOICE, labels=CLOSE_CODE_LABELS),
        Column("close_notes"),
        Column("correlation_id"),
        Column("correlation_display"),
        Column("work_notes", FieldType.JOURNAL),
        Column("comments", FieldType.JOURNAL),
        *(
            Column(name, FieldType.REFERENCE, reference=refer[name]) if name in refer else Column(name)
            for name in extra_fields
        ),
        Column(
            "sys_class_name",
            default=CHANGE_REQUEST,
            labels={CHANGE_REQUEST: "Change Request"},
            writable=False,
        ),
        *_SYSTEM,
    )
    return Table(CHANGE_REQUEST, columns, number_prefix="CHG")


def referenced_table(name: str) -> Table:
    """A table that reference fields point at (groups, environments): records with a display name."""
    return Table(name, (Column(DISPLAY_FIELD), *_SYSTEM))


def journal_table() -> Table:
    """sys_journal_field: one row per work note or comment."""
    columns = (
        Column("element"),  # work_notes or comments
        Column("element_id"),  # the sys_id of the record the entry belongs to
        Column("name"),  # that record's table
        Column("value"),
        Column("sys_id", writable=False),
        Column("sys_created_on", FieldType.DATETIME, writable=False),
        Column("sys_created_by", writable=False),
    )
    return Table(JOURNAL, columns)


def stored_text(value: Any) -> str:
    """A written JSON value as the string ServiceNow stores: numbers and booleans become their text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, int | float | str):
        return str(value)
    if isinstance(value, dict) and "value" in value:
        return stored_text(value["value"])
    return json.dumps(value, separators=(",", ":"))


def display_text(column: Column, value: str) -> str:
    """The display value of a stored value (the API user's time zone is UTC, so dates show as stored)."""
    if column.labels is not None:
        return column.labels.get(value, value)
    return value
