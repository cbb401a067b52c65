"""ADO's wire shapes (REST work items, service hook revisions, JSON Patch) to and from domain values."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from bridge.domain.actions import Hyperlink, MoveDefect
from bridge.domain.events import DefectUpdated
from bridge.domain.markup import html_text

ID = "System.Id"
REV = "System.Rev"
STATE = "System.State"
TITLE = "System.Title"
CHANGED_DATE = "System.ChangedDate"
CHANGED_BY = "System.ChangedBy"
WORK_ITEM_TYPE = "System.WorkItemType"
SEVERITY = "Microsoft.VSTS.Common.Severity"
HISTORY = "System.History"

# What the domain reads of a defect; asked for by name so polls carry no more than this.
DEFECT_FIELDS: tuple[str, ...] = (ID, REV, STATE, TITLE, CHANGED_DATE, CHANGED_BY, WORK_ITEM_TYPE, SEVERITY)

HYPERLINK = "Hyperlink"


def parse_date(value: object) -> datetime | None:
    """An ADO date (ISO 8601, `Z`, up to 7 fractional digits) or a datetime, as an aware UTC datetime."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if not isinstance(value, str) or not value:
        return None
    text = value.strip().replace("Z", "+00:00").replace("z", "+00:00")
    head, dot, rest = text.partition(".")
    if dot:
        # Python reads at most 6 fractional digits; ADO may write 7 (ticks). The fraction is the digits
        # right after the dot; what follows them (the offset) is kept as written.
        tail = rest.lstrip("0123456789")
        digits = rest[: len(rest) - len(tail)]
        text = f"{head}.{digits[:6].ljust(6, '0')}{tail}"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def format_date(moment: datetime) -> str:
    """A WIQL date-time literal with milliseconds, in UTC (ADO keeps milliseconds)."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def format_instant(moment: datetime) -> str:
    """A REST date-time (a body's `asOf`) in UTC with microseconds, as the SDK's serializer writes it."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def identity_text(value: object) -> str | None:
    """A person as ADO writes them in text: REST 7.1 IdentityRef objects and hook strings alike.

    Service hooks (resourceVersion 1.0) write `Name <user@x>`; REST 7.1 answers an IdentityRef
    (api-contracts.md 2.4, 2.9). Both become `Name <user@x>`.
    """
    if isinstance(value, str):
        return value or None
    if isinstance(value, Mapping):
        name = value.get("displayName")
        unique = value.get("uniqueName")
        if name and unique:
            return f"{name} <{unique}>"
        return str(name or unique) if (name or unique) else None
    return None


def hyperlinks(relations: Sequence[Mapping[str, Any]] | None) -> tuple[str, ...]:
    """The URLs of a work item's Hyperlink relations, in ADO's order."""
    return tuple(str(r["url"]) for r in relations or () if r.get("rel") == HYPERLINK and r.get("url"))


def sdk_item(model: Any) -> dict[str, Any]:
    """An SDK WorkItem model as the plain mapping REST answers (id, rev, fields, relations)."""
    relations = [
        {"rel": r.rel, "url": r.url, "attributes": dict(r.attributes or {})} for r in model.relations or ()
    ]
    return {
        "id": model.id,
        "rev": model.rev,
        "fields": dict(model.fields or {}),
        "relations": relations if model.relations is not None else None,
    }


def defect(item: Mapping[str, Any], *, default_type: str = "Defect") -> DefectUpdated | None:
    """A DefectUpdated from a work item mapping (REST or a hook's revision), or None when it lacks a
    field the domain needs (id, rev, state, title, changed date)."""
    fields = item.get("fields")
    if not isinstance(fields, Mapping):
        return None
    item_id = _int(item.get("id", fields.get(ID)))
    rev = _int(item.get("rev", fields.get(REV)))
    state = fields.get(STATE)
    title = fields.get(TITLE)
    changed = parse_date(fields.get(CHANGED_DATE))
    if item_id is None or rev is None or not isinstance(state, str) or not isinstance(title, str):
        return None
    if changed is None:
        return None
    severity = fields.get(SEVERITY)
    relations = item.get("relations")
    return DefectUpdated(
        id=item_id,
        rev=rev,
        state=state,
        severity=str(severity) if severity not in (None, "") else None,
        title=title,
        changed_at=changed,
        changed_by=identity_text(fields.get(CHANGED_BY)),
        work_item_type=str(fields.get(WORK_ITEM_TYPE) or default_type),
        hyperlinks=hyperlinks(relations if isinstance(relations, list) else None),
    )


def _int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def move_patch(move: MoveDefect, *, links: Sequence[Hyperlink]) -> list[dict[str, Any]]:
    """The JSON Patch for a move: test /rev, set the state, add the comment and the missing links.

    The `test` makes ADO refuse the update (412) when a person changed the defect after our read
    (api-contracts.md 2.5); System.History adds the comment in the same revision. ADO shows the comment as
    HTML, so the text is escaped: names and titles from the systems show as written, never as markup.
    """
    ops: list[dict[str, Any]] = [
        {"op": "test", "path": "/rev", "value": move.expected_rev},
        {"op": "replace", "path": f"/fields/{STATE}", "value": move.to_state},
    ]
    if move.comment:
        ops.append({"op": "add", "path": f"/fields/{HISTORY}", "value": html_text(move.comment)})
    for link in links:
        value: dict[str, Any] = {"rel": HYPERLINK, "url": link.url}
        if link.comment:
            value["attributes"] = {"comment": link.comment}
        ops.append({"op": "add", "path": "/relations/-", "value": value})
    return ops
