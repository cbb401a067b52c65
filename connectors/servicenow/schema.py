"""Which of the fields the bridge reads the instance really has (what `bridge doctor` checks)."""

# ServiceNow ignores an unknown field in sysparm_fields and an invalid part of an encoded query (which
# then returns everything) without an error (Table API docs, sysparm_query and sysparm_fields). So the
# fields are confirmed once by reading one record with all of them and comparing its keys.

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from connectors.servicenow.client import TableClient


@dataclass(frozen=True)
class FieldCheck:
    """The outcome of comparing the wanted fields with one record's keys."""

    table: str
    wanted: tuple[str, ...]
    found: tuple[str, ...]
    sampled: bool  # False when the table had no record to compare with

    @property
    def missing(self) -> tuple[str, ...]:
        return tuple(name for name in self.wanted if name not in self.found)

    @property
    def confirmed(self) -> bool:
        return self.sampled and not self.missing

    def describe(self) -> str:
        if not self.sampled:
            return f"{self.table} has no record yet: its fields cannot be confirmed"
        if self.missing:
            return f"{self.table} has no field {', '.join(self.missing)} (check servicenow.fields)"
        return f"{self.table} has all {len(self.wanted)} fields the bridge reads"


def check_fields(client: TableClient, table: str, wanted: Sequence[str]) -> FieldCheck:
    """One request: a record read with every wanted field, and which of them came back."""
    rows = client.select(table, "", fields=wanted, limit=1)
    found = tuple(rows[0]) if rows else ()
    return FieldCheck(table, tuple(wanted), found, sampled=bool(rows))
