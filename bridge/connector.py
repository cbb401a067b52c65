"""The connector protocol: what the service needs from each system's connector, and nothing more.

A connector is the only code that knows a system's wire format. It polls (incrementally, from a
cursor it alone understands), verifies and parses webhooks, re-reads the records they name, and
carries out the actions that target its system.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from bridge.domain.actions import Action
from bridge.domain.events import DomainEvent, RecordRef, Source
from bridge.errors import BridgeError


@dataclass(frozen=True)
class PollPage:
    """One page of a poll: the events read, the cursor to store once they are stored, more to read."""

    events: tuple[DomainEvent, ...]
    cursor: str | None
    more: bool = False


@dataclass(frozen=True)
class WebhookDelivery:
    """A verified webhook: its delivery key (for the inbox) and the records it names."""

    delivery_key: str
    refs: tuple[RecordRef, ...]
    # Events the payload proves current (it carries a revision at least as new as any stored one);
    # everything else is re-read through fetch() before the engine sees it.
    events: tuple[DomainEvent, ...] = ()


class WebhookRejectedError(BridgeError):
    """A webhook that is not accepted: the HTTP status to answer and why (never echoing secrets)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class OutcomeStatus(StrEnum):
    """What became of one action."""

    DONE = "done"  # written
    SKIPPED = "skipped"  # nothing to write: already true, or no longer wanted (with the reason)
    CONFLICT = "conflict"  # the record changed first; `fresh` holds it re-read
    RETRY = "retry"  # transient failure; try again after `retry_after_s`
    FAILED = "failed"  # permanent failure; the action is dead until an operator retries it


@dataclass(frozen=True)
class ActionOutcome:
    """What became of one action; `fresh` is what to feed back to the engine (a re-read record after a
    conflict, the DefectMoved after a move, the AncestryChecked answer)."""

    key: str
    status: OutcomeStatus
    detail: str = ""
    fresh: DomainEvent | None = None
    retry_after_s: float | None = None


class Connector(Protocol):
    """One system's connector."""

    @property
    def source(self) -> Source: ...

    def poll(self, cursor: str | None, *, now: datetime) -> PollPage:
        """Read what changed since `cursor`, one page; never move the cursor past `now`.

        With no cursor it reads the whole history, page by page (`more` is set until the last).
        """
        ...

    def cursor_since(self, since: datetime) -> str:
        """A cursor from which poll() reads everything changed since `since` (for backfill)."""
        ...

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> WebhookDelivery:
        """Verify and parse a webhook; raise WebhookRejectedError with the status to answer."""
        ...

    def fetch(self, ref: RecordRef) -> DomainEvent | None:
        """Re-read the record a webhook named; None when it no longer exists."""
        ...

    def apply(self, actions: Sequence[Action]) -> list[ActionOutcome]:
        """Carry out actions that target this system, idempotently; one outcome per action."""
        ...
