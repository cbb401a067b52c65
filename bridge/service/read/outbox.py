"""The outbox: actions and where their delivery stands, and the operator's one write, putting a dead
action back in the queue."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select

from bridge.service.read.common import Page, Window, from_row, page_of
from bridge.store.outbox import ActionStatus, OutboxRow
from bridge.store.schema import outbox
from bridge.store.store import Tx


class ActionView(BaseModel):
    """An action in the outbox and where its delivery stands."""

    id: int
    key: str
    kind: str
    target: str
    status: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    detail: str | None
    cause: str | None
    created_at: datetime
    updated_at: datetime


def action_view(row: OutboxRow) -> ActionView:
    return from_row(ActionView, row)


def action_row_view(row: Any) -> ActionView:
    return from_row(ActionView, row)


def list_outbox(
    tx: Tx, window: Window, *, status: ActionStatus | None = None, target: str | None = None
) -> Page[ActionView]:
    """Actions, newest first, of one status and target system if given."""
    query = select(outbox).order_by(outbox.c.id.desc())
    if status is not None:
        query = query.where(outbox.c.status == status.value)
    if target is not None:
        query = query.where(outbox.c.target == target)
    return page_of(tx, query, window, action_row_view)


def outbox_counts(tx: Tx) -> dict[str, int]:
    """How many actions are in each status."""
    return {status.value: count for status, count in tx.outbox.counts().items()}


class UnknownActionError(LookupError):
    """No action with this id is in the outbox."""


class NotDeadError(Exception):
    """The action is not dead, so there is nothing to retry."""

    def __init__(self, action_id: int, status: str) -> None:
        super().__init__(f"action {action_id} is {status}, not dead: only a dead action can be retried")
        self.status = status


def retry_dead_action(tx: Tx, action_id: int, *, now: datetime) -> ActionView:
    """Put one dead action back in the queue, due now with a fresh budget of attempts; the action after.

    Raises UnknownActionError or NotDeadError (nothing changes then).
    """
    row = tx.outbox.get(action_id)
    if row is None:
        raise UnknownActionError(f"no action {action_id} in the outbox")
    # The update checks the status again: another operator may have revived it in between.
    if row.status is ActionStatus.DEAD and tx.outbox.retry_dead(action_id, now=now) == 1:
        row = tx.outbox.get(action_id) or row
        return action_view(row)
    row = tx.outbox.get(action_id) or row
    raise NotDeadError(action_id, row.status.value)


def retry_all_dead(tx: Tx, *, now: datetime) -> int:
    """Put every dead action back in the queue; how many."""
    return tx.outbox.retry_dead(now=now)
