"""Work item revisions as ADO keeps them: dates, new fields, stamps, comments, drafts, deltas."""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from connectors.ado.simulator import wiql
from connectors.ado.simulator.errors import bad_argument
from connectors.ado.simulator.identity import expand
from connectors.ado.simulator.process import ProcessModel

LATEST_REVISED_DATE = "9999-01-01T00:00:00Z"
EXPANDS = {"none", "relations", "fields", "links", "all"}


def format_date(moment: datetime) -> str:
    """ISO 8601 UTC with trimmed fractional seconds and `Z`, as ADO writes dates (2024-05-01T10:00:00.12Z)."""
    moment = moment.astimezone(UTC)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    millis = moment.microsecond // 1000
    if millis:
        text += f".{millis:03d}".rstrip("0")
    return text + "Z"


def parse_as_of(text: str) -> datetime:
    """The `asOf` of a read; a bad one is ADO's FormatException."""
    try:
        return wiql.parse_datetime(text)
    except ValueError as exc:
        raise bad_argument(f"The value '{text}' is not a valid asOf date.", "FormatException") from exc


def check_expand(expand: str | None, fields: Sequence[str] | None) -> str:
    """The `$expand` value in lower case; combined with `fields` it is refused, as ADO does."""
    value = (expand or "none").lower()
    if value not in EXPANDS:
        raise bad_argument(f"The value '{expand}' is not valid for parameter $expand.")
    if fields and value != "none":
        raise bad_argument(
            "The expand parameter can not be used with the fields parameter.",
            "ConflictingParametersException",
        )
    return value


def initial_fields(process: ProcessModel, project: str, type_name: str) -> dict[str, Any]:
    """The fields a new work item of this type starts with: paths, type, initial state, defaults."""
    wit = process.work_item_type(type_name)
    assert wit is not None
    initial = wit.state(wit.initial_state)
    assert initial is not None
    fields: dict[str, Any] = {
        "System.AreaPath": project,
        "System.TeamProject": project,
        "System.IterationPath": project,
        "System.WorkItemType": wit.name,
        "System.State": initial.name,
        "System.Reason": initial.reason,
    }
    for rule in wit.fields:
        if rule.default is not None:
            fields[rule.reference_name] = rule.default
    return fields


def next_moment(now: datetime, revisions: Sequence[Mapping[str, Any]]) -> datetime:
    """When a new revision is stamped: now, in milliseconds, and always after the previous revision."""
    now = now.astimezone(UTC)
    now = now.replace(microsecond=now.microsecond // 1000 * 1000)  # ADO keeps milliseconds
    if revisions:
        last = wiql.parse_datetime(revisions[-1]["fields"]["System.ChangedDate"])
        # ADO refuses dates that do not increase (WorkItemDatesNotIncreasingException).
        if now <= last:
            now = last + timedelta(milliseconds=1)
    return now


def stamped(
    fields: Mapping[str, Any],
    previous: Mapping[str, Any],
    *,
    item_id: int,
    rev: int,
    watermark: int,
    when: str,
    who: dict[str, str],
    created: bool,
) -> dict[str, Any]:
    """A new revision's fields: the written ones with the bookkeeping fields ADO sets on every revision."""
    fields = dict(fields)
    fields.update(
        {
            "System.Id": item_id,
            "System.Rev": rev,
            "System.Watermark": watermark,
            "System.AuthorizedDate": when,
            "System.RevisedDate": LATEST_REVISED_DATE,
            "System.ChangedDate": when,
            "System.ChangedBy": who,
            "System.AuthorizedAs": who,
            "System.CommentCount": previous.get("System.CommentCount", 0),
        }
    )
    if created:
        fields.setdefault("System.CreatedDate", when)
        fields.setdefault("System.CreatedBy", who)
        fields["Microsoft.VSTS.Common.StateChangeDate"] = when
    elif fields.get("System.State") != previous.get("System.State"):
        fields["Microsoft.VSTS.Common.StateChangeDate"] = when
    return fields


def comment_record(
    comment_id: int, item_id: int, text: str, who: dict[str, str], when: str, comment_format: str
) -> dict[str, Any]:
    """A discussion comment as stored: the revision that carries it as System.History makes it."""
    return {
        "id": comment_id,
        "workItemId": item_id,
        "version": 1,
        "text": text,
        "format": comment_format,
        "createdBy": who,
        "createdDate": when,
        "modifiedBy": who,
        "modifiedDate": when,
        "isDeleted": False,
    }


def draft(item_id: int, rev: int, fields: dict[str, Any], relations: list[dict[str, Any]]) -> dict[str, Any]:
    """What `validateOnly=true` answers: the revision a write would make, not stored."""
    return {
        "rev": rev,
        "fields": {**fields, "System.Id": item_id, "System.Rev": rev},
        "relations": relations,
        "commentVersionRef": None,
    }


def work_item_update(
    item_id: int, revisions: Sequence[Mapping[str, Any]], index: int, org_url: str, item_url: str
) -> dict[str, Any]:
    """The delta from the revision before to revision `index + 1` (WorkItemUpdate); its id is that number."""
    current = revisions[index]
    before = revisions[index - 1] if index else {"fields": {}, "relations": []}
    changes: dict[str, Any] = {}
    # The previous revision's RevisedDate became this one's ChangedDate; ADO lists that change too.
    old_fields = {k: v for k, v in before["fields"].items() if k != "System.History"}
    new_fields = dict(current["fields"])
    for name in sorted(set(old_fields) | set(new_fields)):
        old, new = old_fields.get(name), new_fields.get(name)
        if old == new:
            continue
        change: dict[str, Any] = {}
        if old is not None:
            change["oldValue"] = expand(copy.deepcopy(old), org_url)
        if new is not None:
            change["newValue"] = expand(copy.deepcopy(new), org_url)
        changes[name] = change
    update: dict[str, Any] = {
        "id": index + 1,
        "workItemId": item_id,
        "rev": current["rev"],
        "revisedBy": expand(current["fields"]["System.ChangedBy"], org_url),
        "revisedDate": current["fields"].get("System.RevisedDate", LATEST_REVISED_DATE),
        "fields": changes,
    }
    added = [r for r in current["relations"] if r not in before["relations"]]
    removed = [r for r in before["relations"] if r not in current["relations"]]
    if added or removed:
        update["relations"] = {k: v for k, v in (("added", added), ("removed", removed)) if v}
    update["url"] = f"{item_url}/updates/{index + 1}"
    return update
