"""The simulated instance's data and its rules: records, numbering, stamps, the journal, references."""

# Wire facts (stored values, journal rows, what an update changes) follow the Table API reference and
# `reference/api-contracts.md` section 3; each quirk is explained where it is reproduced.

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from connectors.servicenow.simulator.tables import (
    DISPLAY_FIELD,
    JOURNAL,
    SYS_ID,
    Column,
    FieldType,
    Table,
    change_request_table,
    journal_table,
    referenced_table,
    stored_text,
)

STATE_FORMAT = 1
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
JOURNAL_LABELS = {"work_notes": "Work notes", "comments": "Additional comments"}

Record = dict[str, str]
# Told of every insert and update, with the lock held: (table name, "insert" or "update", the record).
OnWrite = Callable[[str, str, Record], None]


class ServiceNowModel:
    """The tables of one instance in memory, behind one lock; writes act as GlideRecord's do."""

    def __init__(
        self,
        *,
        extra_fields: Sequence[str] = (),
        references: Mapping[str, str] | None = None,
        first_number: int = 1,
        clock: Callable[[], datetime],
        on_write: OnWrite,
    ) -> None:
        changes = change_request_table(extra_fields, references)
        # Every table a reference field points at is there too, so a reference shows its record's name.
        referenced = dict.fromkeys(c.reference for c in changes.columns if c.kind is FieldType.REFERENCE)
        self.tables = {
            t.name: t for t in (changes, journal_table(), *(referenced_table(n) for n in referenced))
        }
        self.rows: dict[str, dict[str, Record]] = {name: {} for name in self.tables}
        self.next_number = first_number
        self.clock = clock
        self.on_write = on_write
        self.lock = threading.RLock()
        # An idle developer instance goes to sleep; it then answers every call with a page (see the api).
        self.hibernating = False

    # --- state ------------------------------------------------------------------------------------

    def save(self) -> dict[str, Any]:
        """The instance's data as JSON-serialisable state."""
        with self.lock:
            return {
                "format": STATE_FORMAT,
                "next_number": self.next_number,
                "tables": {name: [dict(r) for r in rows.values()] for name, rows in self.rows.items()},
            }

    def load(self, state: dict[str, Any]) -> None:
        """Replace the instance's data with saved state; ValueError if it is not a state this reads."""
        if state.get("format") != STATE_FORMAT:
            raise ValueError(f"unknown state format {state.get('format')!r}")
        loaded: dict[str, dict[str, Record]] = {name: {} for name in self.tables}
        for name, records in dict(state["tables"]).items():
            table = self.table(name)
            for record in records:
                row = {c.name: c.default for c in table.columns} | {
                    k: stored_text(v) for k, v in dict(record).items() if table.column(k) is not None
                }
                if not SYS_ID.match(row["sys_id"]):
                    raise ValueError(f"record without a valid sys_id in {name}")
                loaded[name][row["sys_id"]] = row
        with self.lock:
            self.rows = loaded
            self.next_number = int(state["next_number"])

    # --- reads ------------------------------------------------------------------------------------

    def table(self, name: str) -> Table:
        table = self.tables.get(name)
        if table is None:
            raise ValueError(f"Invalid table {name}")
        return table

    def journal(self, sys_id: str) -> list[Record]:
        """The journal rows of a record, oldest first (live rows: hold the lock while reading them)."""
        return [r for r in self.rows[JOURNAL].values() if r["element_id"] == sys_id]

    def journal_text(self, sys_id: str, element: str) -> str:
        """A journal field's display value: its entries, newest first, as the activity formatter shows."""
        entries = [e for e in self.journal(sys_id) if e["element"] == element]
        label = JOURNAL_LABELS.get(element, element)
        return "".join(
            f"{e['sys_created_on']} - {e['sys_created_by']} ({label})\n{e['value']}\n\n"
            for e in reversed(entries)
        )

    def referenced(self, column: Column, value: str) -> Record | None:
        """The record a reference value points at, if the instance holds it."""
        return self.rows.get(column.reference, {}).get(value)

    # --- writes -----------------------------------------------------------------------------------

    def _now(self) -> str:
        return self.clock().astimezone(UTC).strftime(TIME_FORMAT)

    def _later(self, previous: str) -> str:
        """Now, or a second after the previous stamp, so an update always moves sys_updated_on."""
        now = self._now()
        if now > previous:
            return now
        return (datetime.strptime(previous, TIME_FORMAT) + timedelta(seconds=1)).strftime(TIME_FORMAT)

    def insert(self, table: Table, fields: Mapping[str, Any], user: str, *, by_name: bool = False) -> Record:
        """Insert a record as `POST /api/now/table/{table}` does; returns the stored row."""
        with self.lock:
            row = {c.name: c.default for c in table.columns}
            notes = self._assign(table, row, fields, by_name=by_name)
            wanted = stored_text(fields.get("sys_id"))
            # The Table API takes a caller's sys_id on insert when it is a free, well-formed id.
            free = SYS_ID.match(wanted) and wanted not in self.rows[table.name]
            row["sys_id"] = wanted if free else _new_id()
            if table.number_prefix and not row.get("number"):
                row["number"] = f"{table.number_prefix}{self.next_number:07d}"
                self.next_number += 1
            now = self._now()
            for name, value in (("sys_created_on", now), ("sys_updated_on", now)):
                if name in row:
                    row[name] = value
            for name in ("sys_created_by", "sys_updated_by"):
                if name in row:
                    row[name] = user
            self.rows[table.name][row["sys_id"]] = row
            self._write_journal(table, row, notes, user, now)
            self.on_write(table.name, "insert", row)
            return row

    def update(
        self, table: Table, sys_id: str, fields: Mapping[str, Any], user: str, *, by_name: bool = False
    ) -> Record | None:
        """Update a record as `PATCH /api/now/table/{table}/{sys_id}` does; None if there is none."""
        with self.lock:
            row = self.rows[table.name].get(sys_id)
            if row is None:
                return None
            before = dict(row)
            notes = self._assign(table, row, fields, by_name=by_name)
            if row == before and not notes:
                # GlideRecord.update() writes nothing when nothing changed: no new sys_mod_count, and no
                # business rule runs.
                return row
            if "sys_mod_count" in row:
                row["sys_mod_count"] = str(int(row["sys_mod_count"] or "0") + 1)
                row["sys_updated_on"] = self._later(row["sys_updated_on"])
                row["sys_updated_by"] = user
            self._write_journal(table, row, notes, user, row.get("sys_updated_on") or self._now())
            self.on_write(table.name, "update", row)
            return row

    def delete(self, table: Table, sys_id: str) -> Record | None:
        """Delete a record; the deleted row, or None if there was none."""
        with self.lock:
            return self.rows[table.name].pop(sys_id, None)

    def _assign(
        self, table: Table, row: Record, fields: Mapping[str, Any], *, by_name: bool = False
    ) -> list[tuple[str, str]]:
        """Set the writable fields; unknown and system fields are ignored, as the Table API does.

        Values are stored as given; with `by_name` (sysparm_input_display_value=true) a reference given
        by its record's name stores that record's sys_id, as an instance resolves it (Table API FAQs,
        KB0534905). Returns the journal entries (field, text) to write, since journal fields are not
        stored on the row.
        """
        notes: list[tuple[str, str]] = []
        for name, value in fields.items():
            column = table.column(name)
            if column is None or not column.writable:
                continue
            text = stored_text(value)
            if column.kind is FieldType.JOURNAL:
                if text.strip():
                    notes.append((name, text))
            elif column.kind is FieldType.REFERENCE and by_name:
                row[name] = self._referenced_id(column, text)
            else:
                row[name] = text
        return notes

    def _write_journal(
        self, table: Table, row: Record, notes: list[tuple[str, str]], user: str, at: str
    ) -> None:
        for element, text in notes:
            entry_id = _new_id()
            self.rows[JOURNAL][entry_id] = {
                "element": element,
                "element_id": row["sys_id"],
                "name": table.name,
                "value": text,
                "sys_id": entry_id,
                "sys_created_on": at,
                "sys_created_by": user,
            }

    def _referenced_id(self, column: Column, text: str) -> str:
        """The sys_id of the referenced record a value names (its sys_id or its name); else the text."""
        records = self.rows.get(column.reference, {})
        if text in records:
            return text
        return next((sys_id for sys_id, r in records.items() if r.get(DISPLAY_FIELD) == text), text)


def _new_id() -> str:
    return secrets.token_hex(16)
