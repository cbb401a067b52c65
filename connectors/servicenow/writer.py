"""The writes the engine asks of ServiceNow: work notes, correlation, draft RFCs, each idempotent."""

# Before every write the record is read again and what is already true is not written (STYLE.md 8),
# and only the fields the action owns are sent. Each action runs whole inside the RetryPolicy, so a
# write whose reply was lost is retried from its read: a note or draft that did arrive is then found
# and not written twice.

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence

from bridge.connector import ActionOutcome, OutcomeStatus
from bridge.domain.actions import Action, AddWorkNote, CreateRfcDraft, SetCorrelation
from bridge.domain.events import ChangeUpdated, RfcState
from bridge.domain.keys import CorrelationId
from bridge.domain.markup import journal_text
from bridge.errors import ConflictError, PermanentError, SkippableError, TransientError
from bridge.mappings import ServiceNowMapping
from connectors.outcomes import RetryPolicy
from connectors.servicenow.client import TableClient, encoded
from connectors.servicenow.journal import read_rows
from connectors.servicenow.wire import change_fields, displayed_fields, to_change

log = logging.getLogger(__name__)

CORRELATION_FIELDS = ("sys_id", "number", "correlation_id", "correlation_display")
WRITE_REPLY_FIELDS = ("sys_id", "number", "sys_mod_count")


class ServiceNowWriter:
    """Carries out ServiceNow actions, one outcome each."""

    def __init__(
        self,
        client: TableClient,
        *,
        table: str,
        mapping: ServiceNowMapping,
        roles: Mapping[str, str],
        retry: RetryPolicy,
        reread: Callable[[str], ChangeUpdated | None],
    ) -> None:
        self._client = client
        self._table = table
        self._mapping = mapping
        self._roles = dict(roles)
        self._retry = retry
        self._reread = reread

    def apply(self, actions: Sequence[Action]) -> list[ActionOutcome]:
        return [self._outcome(action) for action in actions]

    def _outcome(self, action: Action) -> ActionOutcome:
        try:
            return self._retry.call(lambda: self._carry_out(action))
        except TransientError as exc:
            return ActionOutcome(action.key, OutcomeStatus.RETRY, str(exc), retry_after_s=exc.retry_after_s)
        except ConflictError as exc:
            return ActionOutcome(action.key, OutcomeStatus.CONFLICT, str(exc), fresh=self._fresh(action))
        except SkippableError as exc:
            return ActionOutcome(action.key, OutcomeStatus.SKIPPED, str(exc))
        except PermanentError as exc:
            return ActionOutcome(action.key, OutcomeStatus.FAILED, str(exc))

    def _carry_out(self, action: Action) -> ActionOutcome:
        if isinstance(action, AddWorkNote):
            return self._add_note(action)
        if isinstance(action, SetCorrelation):
            return self._set_correlation(action)
        if isinstance(action, CreateRfcDraft):
            return self._create_draft(action)
        raise PermanentError(f"{action.kind} targets {action.target}, not ServiceNow")

    def _fresh(self, action: Action) -> ChangeUpdated | None:
        if not isinstance(action, AddWorkNote | SetCorrelation):
            return None
        sys_id = action.rfc_sys_id
        try:
            return self._retry.call(lambda: self._reread(sys_id))
        except (TransientError, PermanentError, SkippableError, ConflictError) as exc:
            log.warning("servicenow: %s could not be re-read after a conflict: %s", sys_id, exc)
            return None

    def _add_note(self, action: AddWorkNote) -> ActionOutcome:
        # ServiceNow renders a journal entry's text between [code] tags as HTML: the names and summaries
        # the note quotes must not be able to open one.
        text = journal_text(action.text)
        wanted = text.strip()
        if any(
            row.get("value", "").strip() == wanted for row in read_rows(self._client, [action.rfc_sys_id])
        ):
            return ActionOutcome(
                action.key, OutcomeStatus.SKIPPED, f"{action.rfc_number} already has this work note"
            )
        # work_notes is a journal field: the text is appended as a new entry (api-contracts.md 3.2).
        self._client.patch(self._table, action.rfc_sys_id, {"work_notes": text}, fields=WRITE_REPLY_FIELDS)
        return ActionOutcome(action.key, OutcomeStatus.DONE, f"work note added to {action.rfc_number}")

    def _set_correlation(self, action: SetCorrelation) -> ActionOutcome:
        row = self._client.get(self._table, action.rfc_sys_id, fields=CORRELATION_FIELDS)
        if row is None:
            raise PermanentError(f"RFC {action.rfc_sys_id} not found (deleted, or hidden by an ACL)")
        name = row.get("number") or action.rfc_sys_id
        current = row.get("correlation_id", "")
        # A correlation_id the bridge did not write is someone else's link to another system: left alone.
        if current and not CorrelationId.owns(current):
            return ActionOutcome(
                action.key,
                OutcomeStatus.SKIPPED,
                f"{name} is correlated to {current!r}, which is not the bridge's: left alone",
            )
        wanted = {"correlation_id": action.correlation_id, "correlation_display": action.correlation_display}
        changed = {field: value for field, value in wanted.items() if row.get(field, "") != value}
        if not changed:
            return ActionOutcome(
                action.key, OutcomeStatus.SKIPPED, f"{name} already names {action.correlation_id}"
            )
        self._client.patch(self._table, action.rfc_sys_id, changed, fields=WRITE_REPLY_FIELDS)
        return ActionOutcome(action.key, OutcomeStatus.DONE, f"{name} now names {action.correlation_id}")

    def _create_draft(self, action: CreateRfcDraft) -> ActionOutcome:
        existing = self._client.select(
            self._table,
            f"correlation_id={encoded(action.correlation_id)}",
            fields=CORRELATION_FIELDS,
            limit=10,
        )
        # Compared here too: were the query part ignored, every record would come back.
        same = [row for row in existing if row.get("correlation_id") == action.correlation_id]
        if same:
            return ActionOutcome(
                action.key, OutcomeStatus.SKIPPED, f"already created as {same[0].get('number', '?')}"
            )
        created = self._client.create(
            self._table,
            self._draft(action),
            fields=change_fields(self._roles),
            displayed=displayed_fields(self._roles),
        )
        number = created.get("number", "?")
        try:
            fresh = to_change(created, self._mapping, self._roles, None)
        except SkippableError as exc:
            # Created all the same: the poller reads it later and reports what it cannot read.
            log.warning("servicenow: created %s but cannot read it back: %s", number, exc)
            return ActionOutcome(action.key, OutcomeStatus.DONE, f"created {number}")
        return ActionOutcome(action.key, OutcomeStatus.DONE, f"created {number}", fresh=fresh)

    def _draft(self, action: CreateRfcDraft) -> dict[str, str]:
        payload = {
            # States must be sent as the numeric string (api-contracts.md 3.4).
            "state": self._mapping.state_value(RfcState.NEW),
            "short_description": action.short_description,
            "description": action.description,
            "correlation_id": action.correlation_id,
            "correlation_display": display_of(action.correlation_id),
        }
        environment_field = self._roles.get("environment")
        # A dot-walked field cannot be written through; the RFC's descriptions name the environment too.
        if environment_field and "." not in environment_field and action.environment:
            payload[environment_field] = action.environment
        return payload


def display_of(correlation_id: str) -> str:
    """A readable correlation_display: `release-bridge:dip-platform:1.0.2.0` → `dip-platform 1.0.2.0`."""
    try:
        return CorrelationId.parse(correlation_id).release.label
    except ValueError:
        return correlation_id.removeprefix(CorrelationId.PREFIX)
