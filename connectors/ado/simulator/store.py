"""The simulated organisation's data: work items with every revision, comments, service hook subscriptions."""

from __future__ import annotations

import copy
import threading
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from connectors.ado.simulator import patch, wiql
from connectors.ado.simulator.errors import AdoError, bad_argument, work_item_not_found
from connectors.ado.simulator.identity import expand, person
from connectors.ado.simulator.process import ProcessModel

LATEST_REVISED_DATE = "9999-01-01T00:00:00Z"
MAX_BATCH_IDS = 200
MAX_WIQL_RESULTS = 20000
EXPANDS = {"none", "relations", "fields", "links", "all"}


def format_date(moment: datetime) -> str:
    """ISO 8601 UTC with trimmed fractional seconds and `Z`, as ADO writes dates (2024-05-01T10:00:00.12Z)."""
    moment = moment.astimezone(UTC)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    millis = moment.microsecond // 1000
    if millis:
        text += f".{millis:03d}".rstrip("0")
    return text + "Z"


@dataclass(frozen=True)
class Change:
    """A committed change that service hooks announce."""

    event_type: str  # workitem.created, workitem.updated, workitem.commented
    item_id: int
    rev: int


class AdoStore:
    """Work items, comments and subscriptions of one organisation and project, guarded by one lock."""

    def __init__(
        self,
        *,
        organization: str,
        project: str,
        process: ProcessModel,
        pat_owner: str,
        clock: Callable[[], datetime],
        on_change: Callable[[Change], None],
    ) -> None:
        self.organization = organization
        self.project = project
        self.project_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"ado/{organization}/{project}"))
        self.collection_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"ado/{organization}"))
        self.process = process
        self.pat_owner = pat_owner
        self.clock = clock
        self.on_change = on_change
        self.base = "http://127.0.0.1"  # where the organisation answers; set from each request's Host
        self.lock = threading.RLock()
        self.items: dict[int, dict[str, Any]] = {}  # id -> {"type", "revisions": [...]}
        self.comments: dict[int, list[dict[str, Any]]] = {}
        self.subscriptions: dict[str, dict[str, Any]] = {}
        self.next_id = 1
        self.next_comment_id = 1
        self.watermark = 0

    # --- urls -----------------------------------------------------------------------------------

    @property
    def org_url(self) -> str:
        return f"{self.base}/{self.organization}"

    def item_url(self, item_id: int) -> str:
        # ADO answers with project-scoped urls that name the project by id.
        return f"{self.org_url}/{self.project_id}/_apis/wit/workItems/{item_id}"

    def is_project(self, name: str | None) -> bool:
        return name is None or name.lower() in {self.project.lower(), self.project_id}

    # --- writes ---------------------------------------------------------------------------------

    def create(
        self,
        type_name: str,
        ops: object,
        *,
        by: str | None = None,
        bypass_rules: bool = False,
        validate_only: bool = False,
    ) -> dict[str, Any]:
        """Create a work item from a JSON Patch document; returns the stored revision 1."""
        wit = self.process.work_item_type(type_name)
        if wit is None:
            raise AdoError(
                404,
                f"TF401326: Work item type {type_name} does not exist in project {self.project}.",
                "WorkItemTypeNotFoundException",
                event_id=3200,
            )
        with self.lock:
            item_id = self.next_id
            start = self._defaults(wit.name)
            ctx = self._context(wit.name, rev=0, item_id=item_id, bypass_rules=bypass_rules)
            result = patch.apply(start, [], ops, ctx)
            fields = patch.enforce_rules(result, {}, ctx)
            if validate_only:
                return self._draft(item_id, fields, result.relations)
            self.next_id += 1
            self.items[item_id] = {"type": wit.name, "revisions": []}
            self.comments[item_id] = []
            self._commit(item_id, fields, result.relations, result.history, by, created=True)
            created: dict[str, Any] = self.items[item_id]["revisions"][-1]
            return created

    def update(
        self,
        item_id: int,
        ops: object,
        *,
        by: str | None = None,
        bypass_rules: bool = False,
        validate_only: bool = False,
    ) -> dict[str, Any]:
        """Apply a JSON Patch document to a work item; a new revision unless nothing changed."""
        with self.lock:
            item = self._item(item_id)
            latest: dict[str, Any] = item["revisions"][-1]
            ctx = self._context(item["type"], rev=latest["rev"], item_id=item_id, bypass_rules=bypass_rules)
            result = patch.apply(latest["fields"], latest["relations"], ops, ctx)
            fields = patch.enforce_rules(result, latest["fields"], ctx)
            unchanged = (
                fields == {k: v for k, v in latest["fields"].items() if k != "System.History"}
                and result.relations == latest["relations"]
                and result.history is None
            )
            if unchanged:
                return latest
            if validate_only:
                return self._draft(item_id, fields, result.relations)
            self._commit(item_id, fields, result.relations, result.history, by, created=False)
            updated: dict[str, Any] = item["revisions"][-1]
            return updated

    def add_comment(
        self, item_id: int, text: str, *, comment_format: str = "html", by: str | None = None
    ) -> dict[str, Any]:
        """Add a discussion comment (a new revision carrying it as System.History)."""
        if not text:
            raise bad_argument("The comment text cannot be empty.", "ArgumentNullException")
        with self.lock:
            item = self._item(item_id)
            latest = item["revisions"][-1]
            fields = {k: v for k, v in latest["fields"].items() if k != "System.History"}
            comment = self._commit(
                item_id, fields, latest["relations"], text, by, created=False, comment_format=comment_format
            )
            assert comment is not None
            return comment

    def _defaults(self, type_name: str) -> dict[str, Any]:
        wit = self.process.work_item_type(type_name)
        assert wit is not None
        initial = wit.state(wit.initial_state)
        assert initial is not None
        fields: dict[str, Any] = {
            "System.AreaPath": self.project,
            "System.TeamProject": self.project,
            "System.IterationPath": self.project,
            "System.WorkItemType": wit.name,
            "System.State": initial.name,
            "System.Reason": initial.reason,
        }
        for rule in wit.fields:
            if rule.default is not None:
                fields[rule.reference_name] = rule.default
        return fields

    def _context(self, type_name: str, *, rev: int, item_id: int, bypass_rules: bool) -> patch.PatchContext:
        wit = self.process.work_item_type(type_name)
        assert wit is not None
        return patch.PatchContext(
            process=self.process,
            wit=wit,
            project=self.project,
            rev=rev,
            item_id=item_id,
            base=self.org_url,
            bypass_rules=bypass_rules,
        )

    def _next_moment(self, item_id: int) -> datetime:
        now = self.clock().astimezone(UTC)
        now = now.replace(microsecond=now.microsecond // 1000 * 1000)  # ADO keeps milliseconds
        revisions = self.items[item_id]["revisions"]
        if revisions:
            last = wiql.parse_datetime(revisions[-1]["fields"]["System.ChangedDate"])
            # ADO refuses dates that do not increase (WorkItemDatesNotIncreasingException).
            if now <= last:
                now = last + timedelta(milliseconds=1)
        return now

    def _commit(
        self,
        item_id: int,
        fields: dict[str, Any],
        relations: list[dict[str, Any]],
        history: str | None,
        by: str | None,
        *,
        created: bool,
        comment_format: str = "html",
    ) -> dict[str, Any] | None:
        item = self.items[item_id]
        revisions: list[dict[str, Any]] = item["revisions"]
        previous = revisions[-1]["fields"] if revisions else {}
        moment = self._next_moment(item_id)
        when = format_date(moment)
        who = person(by or self.pat_owner)
        self.watermark += 1
        rev = len(revisions) + 1
        fields = dict(fields)
        fields.update(
            {
                "System.Id": item_id,
                "System.Rev": rev,
                "System.Watermark": self.watermark,
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
        comment: dict[str, Any] | None = None
        if history:
            comment = self._new_comment(item_id, history, who, when, comment_format)
            fields["System.History"] = history
            fields["System.CommentCount"] = int(fields["System.CommentCount"]) + 1
        if revisions:
            revisions[-1]["fields"]["System.RevisedDate"] = when
        revision: dict[str, Any] = {
            "rev": rev,
            "fields": fields,
            "relations": [dict(r) for r in relations],
            "commentVersionRef": {"commentId": comment["id"], "version": 1} if comment else None,
        }
        revisions.append(revision)
        self.on_change(Change("workitem.created" if created else "workitem.updated", item_id, rev))
        if comment is not None:
            self.on_change(Change("workitem.commented", item_id, rev))
        return comment

    def _new_comment(
        self, item_id: int, text: str, who: dict[str, str], when: str, comment_format: str
    ) -> dict[str, Any]:
        comment = {
            "id": self.next_comment_id,
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
        self.next_comment_id += 1
        self.comments.setdefault(item_id, []).append(comment)
        return comment

    def _draft(self, item_id: int, fields: dict[str, Any], relations: list[dict[str, Any]]) -> dict[str, Any]:
        rev = len(self.items[item_id]["revisions"]) if item_id in self.items else 0
        return {
            "rev": rev,
            "fields": {**fields, "System.Id": item_id, "System.Rev": rev},
            "relations": relations,
            "commentVersionRef": None,
        }

    # --- reads ----------------------------------------------------------------------------------

    def _item(self, item_id: int) -> dict[str, Any]:
        item = self.items.get(item_id)
        if item is None:
            raise work_item_not_found(item_id)
        return item

    def revision(self, item_id: int, *, as_of: str | None = None, rev: int | None = None) -> dict[str, Any]:
        """The latest revision, the one in force at `as_of`, or revision `rev`."""
        with self.lock:
            revisions = self._item(item_id)["revisions"]
            if rev is not None:
                if not 1 <= rev <= len(revisions):
                    raise AdoError(
                        404,
                        f"TF401306: Revision {rev} of work item {item_id} does not exist.",
                        "WorkItemIdRevisionNotFoundException",
                        event_id=3200,
                    )
                return copy.deepcopy(revisions[rev - 1])
            if as_of is None:
                return copy.deepcopy(revisions[-1])
            moment = _parse_as_of(as_of)
            chosen = [
                r for r in revisions if wiql.parse_datetime(r["fields"]["System.ChangedDate"]) <= moment
            ]
            if not chosen:
                raise work_item_not_found(item_id)
            return copy.deepcopy(chosen[-1])

    def revisions(self, item_id: int) -> list[dict[str, Any]]:
        with self.lock:
            return copy.deepcopy(self._item(item_id)["revisions"])

    def updates(self, item_id: int) -> list[dict[str, Any]]:
        """The deltas between revisions (WorkItemUpdate), update number = revision number."""
        with self.lock:
            revisions = self._item(item_id)["revisions"]
            return [self._update(item_id, revisions, n) for n in range(len(revisions))]

    def _update(self, item_id: int, revisions: Sequence[Mapping[str, Any]], index: int) -> dict[str, Any]:
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
                change["oldValue"] = expand(copy.deepcopy(old), self.org_url)
            if new is not None:
                change["newValue"] = expand(copy.deepcopy(new), self.org_url)
            changes[name] = change
        update: dict[str, Any] = {
            "id": index + 1,
            "workItemId": item_id,
            "rev": current["rev"],
            "revisedBy": expand(current["fields"]["System.ChangedBy"], self.org_url),
            "revisedDate": current["fields"].get("System.RevisedDate", LATEST_REVISED_DATE),
            "fields": changes,
        }
        added = [r for r in current["relations"] if r not in before["relations"]]
        removed = [r for r in before["relations"] if r not in current["relations"]]
        if added or removed:
            update["relations"] = {k: v for k, v in (("added", added), ("removed", removed)) if v}
        update["url"] = f"{self.item_url(item_id)}/updates/{index + 1}"
        return update

    def comment_list(self, item_id: int) -> list[dict[str, Any]]:
        with self.lock:
            self._item(item_id)
            return copy.deepcopy(self.comments.get(item_id, []))

    def rows(self) -> list[dict[str, Any]]:
        """The latest fields of every work item, for queries (which only read them).

        Each mapping is a copy; the values are shared, as a commit replaces a revision's values and
        never changes them in place.
        """
        with self.lock:
            return [dict(item["revisions"][-1]["fields"]) for item in self.items.values()]

    def ids(self) -> list[int]:
        with self.lock:
            return sorted(self.items)

    # --- subscriptions --------------------------------------------------------------------------

    def add_subscription(self, subscription: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            self.subscriptions[subscription["id"]] = subscription
            return copy.deepcopy(subscription)

    def next_notification(self, subscription_id: str) -> int:
        with self.lock:
            sub = self.subscriptions[subscription_id]
            sub["notificationCount"] = int(sub.get("notificationCount", 0)) + 1
            return int(sub["notificationCount"])

    # --- persistence ----------------------------------------------------------------------------

    def save(self) -> dict[str, Any]:
        with self.lock:
            return copy.deepcopy(
                {
                    "version": 1,
                    "items": {str(k): v for k, v in self.items.items()},
                    "comments": {str(k): v for k, v in self.comments.items()},
                    "subscriptions": self.subscriptions,
                    "next_id": self.next_id,
                    "next_comment_id": self.next_comment_id,
                    "watermark": self.watermark,
                }
            )

    def load(self, state: Mapping[str, Any]) -> None:
        if state.get("version") != 1:
            raise ValueError("unknown state version; expected 1")
        with self.lock:
            self.items = {int(k): copy.deepcopy(v) for k, v in state["items"].items()}
            self.comments = {int(k): copy.deepcopy(v) for k, v in state.get("comments", {}).items()}
            self.subscriptions = copy.deepcopy(dict(state.get("subscriptions", {})))
            self.next_id = int(state["next_id"])
            self.next_comment_id = int(state.get("next_comment_id", 1))
            self.watermark = int(state.get("watermark", 0))


def _parse_as_of(text: str) -> datetime:
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
