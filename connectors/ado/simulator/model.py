"""The simulated organisation without HTTP: work items with every revision, comments, hook subscriptions."""

from __future__ import annotations

import copy
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from connectors.ado.simulator import patch, wiql
from connectors.ado.simulator.errors import AdoError, bad_argument, work_item_not_found
from connectors.ado.simulator.identity import person
from connectors.ado.simulator.process import ProcessModel
from connectors.ado.simulator.revisions import (
    comment_record,
    draft,
    format_date,
    initial_fields,
    next_moment,
    parse_as_of,
    stamped,
    work_item_update,
)
from connectors.simulation import json_copy

MAX_BATCH_IDS = 200
MAX_WIQL_RESULTS = 20000


@dataclass(frozen=True)
class Change:
    """A committed change that service hooks announce."""

    event_type: str  # workitem.created, workitem.updated, workitem.commented
    item_id: int
    rev: int


class AdoModel:
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
            start = initial_fields(self.process, self.project, wit.name)
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
        moment = next_moment(self.clock(), revisions)
        when = format_date(moment)
        who = person(by or self.pat_owner)
        self.watermark += 1
        rev = len(revisions) + 1
        fields = stamped(
            fields,
            previous,
            item_id=item_id,
            rev=rev,
            watermark=self.watermark,
            when=when,
            who=who,
            created=created,
        )
        comment: dict[str, Any] | None = None
        if history:
            comment = comment_record(self.next_comment_id, item_id, history, who, when, comment_format)
            self.next_comment_id += 1
            self.comments.setdefault(item_id, []).append(comment)
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

    def _draft(self, item_id: int, fields: dict[str, Any], relations: list[dict[str, Any]]) -> dict[str, Any]:
        rev = len(self.items[item_id]["revisions"]) if item_id in self.items else 0
        return draft(item_id, rev, fields, relations)

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
                return json_copy(revisions[rev - 1])
            if as_of is None:
                return json_copy(revisions[-1])
            moment = parse_as_of(as_of)
            chosen = [
                r for r in revisions if wiql.parse_datetime(r["fields"]["System.ChangedDate"]) <= moment
            ]
            if not chosen:
                raise work_item_not_found(item_id)
            return json_copy(chosen[-1])

    def revisions(self, item_id: int) -> list[dict[str, Any]]:
        with self.lock:
            return json_copy(self._item(item_id)["revisions"])

    def updates(self, item_id: int) -> list[dict[str, Any]]:
        """The deltas between revisions (WorkItemUpdate), update number = revision number."""
        with self.lock:
            revisions = self._item(item_id)["revisions"]
            return [
                work_item_update(item_id, revisions, n, self.org_url, self.item_url(item_id))
                for n in range(len(revisions))
            ]

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
