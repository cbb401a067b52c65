"""Work notes: the sys_journal_field rows of change_request records, read in pages."""

# Journal fields read back "" on the record itself; their entries live in sys_journal_field, one row per
# note, keyed by `element` (work_notes) and `element_id` (the record's sys_id) (api-contracts.md 3.2).

from __future__ import annotations

from collections.abc import Sequence

from bridge.domain.events import JournalEntry
from connectors.servicenow.client import JOURNAL_TABLE, Row, TableClient, encoded
from connectors.servicenow.wire import JOURNAL_FIELDS, to_journal

JOURNAL_PAGE = 1000
# sys_ids per query: 100 ids keep the URL near 4 KB, well inside what proxies accept.
IDS_PER_QUERY = 100


def journal_query(sys_ids: Sequence[str]) -> str:
    ids = ",".join(encoded(s) for s in sys_ids)
    return f"element=work_notes^element_idIN{ids}^ORDERBYsys_created_on^ORDERBYsys_id"


def read_rows(client: TableClient, sys_ids: Sequence[str]) -> list[Row]:
    """Every work-note row of the given records, oldest first, one request per page of each batch."""
    wanted = set(sys_ids)
    rows: list[Row] = []
    for start in range(0, len(sys_ids), IDS_PER_QUERY):
        batch = sys_ids[start : start + IDS_PER_QUERY]
        offset = 0
        while True:
            page = client.select(
                JOURNAL_TABLE, journal_query(batch), fields=JOURNAL_FIELDS, limit=JOURNAL_PAGE, offset=offset
            )
            # Kept only when they name one of ours: an ignored query part would widen the result.
            rows.extend(r for r in page if r.get("element_id") in wanted and r.get("element") == "work_notes")
            if len(page) < JOURNAL_PAGE:
                break
            offset += len(page)
    return rows


def work_notes(client: TableClient, sys_ids: Sequence[str]) -> dict[str, tuple[JournalEntry, ...]]:
    """The work notes of each record (an empty tuple for a record with none)."""
    found = to_journal(read_rows(client, sys_ids)) if sys_ids else {}
    return {sys_id: found.get(sys_id, ()) for sys_id in sys_ids}
