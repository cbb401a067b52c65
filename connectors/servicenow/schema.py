"""Which of the fields the bridge reads the instance really has (what `bridge doctor` checks)."""

# ServiceNow ignores an unknown field in sysparm_fields and an invalid part of an encoded query (which
# then returns everything) without an error (Table API docs, sysparm_query and sysparm_fields). So the
# fields are confirmed once by reading records with all of them and comparing their keys.

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from connectors.servicenow.client import TableClient

# Records read to tell references from text: an empty reference has no link, so one record may not tell.
SAMPLE = 20


@dataclass(frozen=True)
class FieldCheck:
    """The outcome of comparing the wanted fields with the keys of the records read."""

    table: str
    wanted: tuple[str, ...]
    found: tuple[str, ...]
    sampled: bool  # False when the table had no record to compare with
    mapped: tuple[str, ...] = ()  # the configured fields (servicenow.fields)
    references: tuple[str, ...] = ()  # those the records show as references (with a link)

    @property
    def walked(self) -> tuple[str, ...]:
        """The mapped fields read through a reference (dot-walked: `u_environment.name`)."""
        return tuple(name for name in self.mapped if "." in name)

    def describe_references(self) -> str:
        """Which mapped fields are references, and how the bridge reads them."""
        parts = []
        if self.references:
            parts.append(f"{', '.join(self.references)}: references, read by their display values")
        if self.walked:
            parts.append(f"{', '.join(self.walked)}: dot-walked through a reference")
        if not parts:
            scope = "in the records read" if self.sampled else "(no record to tell from)"
            return f"no mapped field is a reference {scope}"
        return "; ".join(parts)

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


def check_fields(
    client: TableClient, table: str, wanted: Sequence[str], mapped: Sequence[str] = ()
) -> FieldCheck:
    """One request: records read with every wanted field, display values and links, which fields came
    back, and which mapped ones are references (a reference comes with a link)."""
    rows = client.select_raw(table, "", fields=wanted, limit=SAMPLE, displayed=True, links=True)
    found = tuple(rows[0]) if rows else ()
    references = tuple(
        name
        for name in mapped
        if "." not in name and any(isinstance(r.get(name), dict) and r[name].get("link") for r in rows)
    )
    return FieldCheck(table, tuple(wanted), found, bool(rows), tuple(mapped), references)
