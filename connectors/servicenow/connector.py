"""The ServiceNow connector: change_request polls, the business rule's change events, RFC write-backs."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta

import pysnow

from bridge.config import ServiceNowSettings, ServiceSettings
from bridge.connector import ActionOutcome, PollPage, WebhookDelivery
from bridge.domain.actions import Action
from bridge.domain.events import ChangeUpdated, DomainEvent, RecordRef, Source
from bridge.errors import PermanentError
from bridge.mappings import ServiceNowMapping
from connectors.outcomes import RetryPolicy
from connectors.servicenow.client import DEFAULT_TIMEOUT_S, TableClient, build_client, secrets_of
from connectors.servicenow.journal import work_notes
from connectors.servicenow.poller import DEFAULT_OVERLAP, DEFAULT_PAGE_SIZE, PollCursor, ServiceNowPoller
from connectors.servicenow.schema import FieldCheck, check_fields
from connectors.servicenow.webhooks import ChangeEventVerifier
from connectors.servicenow.wire import change_fields, displayed_fields, needs_notes, to_change
from connectors.servicenow.writer import ServiceNowWriter

DEFAULT_MAX_WEBHOOK_BYTES: int = ServiceSettings.model_fields["max_webhook_bytes"].default


class ServiceNowConnector:
    """ServiceNow's side of the bridge, through pysnow (bridge.connector.Connector)."""

    def __init__(
        self,
        settings: ServiceNowSettings,
        mapping: ServiceNowMapping,
        *,
        retry: RetryPolicy,
        max_webhook_bytes: int = DEFAULT_MAX_WEBHOOK_BYTES,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        page_size: int = DEFAULT_PAGE_SIZE,
        overlap: timedelta = DEFAULT_OVERLAP,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        client: pysnow.Client | None = None,
    ) -> None:
        self._settings = settings
        self._mapping = mapping
        self._retry = retry
        self._roles: Mapping[str, str] = dict(settings.fields)
        self._table = settings.table
        self._client = TableClient(
            client or build_client(settings), secrets=secrets_of(settings), timeout_s=timeout_s, clock=clock
        )
        self._confirmed: FieldCheck | None = None
        self._poller = ServiceNowPoller(
            self._client,
            table=self._table,
            mapping=mapping,
            roles=self._roles,
            retry=retry,
            page_size=page_size,
            overlap=overlap,
        )
        secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else ""
        self._verifier = ChangeEventVerifier(
            secret.encode("utf-8") if secret else None, self._table, mapping, self._roles, max_webhook_bytes
        )
        self._writer = ServiceNowWriter(
            self._client,
            table=self._table,
            mapping=mapping,
            roles=self._roles,
            retry=retry,
            reread=self._read_change,
        )

    def __repr__(self) -> str:
        auth = "oauth" if self._settings.oauth_token is not None else f"basic user {self._settings.user!r}"
        return f"ServiceNowConnector(url={str(self._settings.url)!r}, table={self._table!r}, auth={auth})"

    @property
    def source(self) -> Source:
        return Source.SERVICENOW

    def check_fields(self) -> FieldCheck:
        """Whether the instance has every field the bridge reads (one request); what `bridge doctor` runs."""
        wanted = change_fields(self._roles)
        mapped = tuple(self._roles.values())
        check = self._retry.call(lambda: check_fields(self._client, self._table, wanted, mapped))
        if check.confirmed:
            self._confirmed = check
        return check

    def poll(self, cursor: str | None, *, now: datetime) -> PollPage:
        """One page of RFCs changed since `cursor`; refuses to run on fields the instance lacks."""
        if self._confirmed is None:
            check = self.check_fields()
            # An empty table cannot confirm anything, and cannot be misread either: the poll's query names
            # only sys_updated_on. The check runs again on the next poll.
            if check.missing and check.sampled:
                raise PermanentError(f"ServiceNow poll refused: {check.describe()}")
        return self._poller.poll(cursor, now=now)

    def cursor_since(self, since: datetime) -> str:
        """A cursor from which poll() reads every RFC updated at or after `since`."""
        moment = since if since.tzinfo else since.replace(tzinfo=UTC)
        return PollCursor(watermark=moment.astimezone(UTC).replace(microsecond=0)).encode()

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> WebhookDelivery:
        """A verified change event: key `sys_id:sys_mod_count`, the RFC named, and its event."""
        return self._verifier.parse(headers, body)

    def fetch(self, ref: RecordRef) -> DomainEvent | None:
        """The RFC a change event named, read now (with its work notes when the engine needs them)."""
        if ref.source is not Source.SERVICENOW or ref.kind != "change":
            raise PermanentError(f"not a ServiceNow change: {ref.source}/{ref.kind}")
        return self._retry.call(lambda: self._read_change(ref.key))

    def apply(self, actions: Sequence[Action]) -> list[ActionOutcome]:
        """Work notes, correlation and draft RFCs, each idempotent; one outcome per action."""
        return self._writer.apply(actions)

    def _read_change(self, sys_id: str) -> ChangeUpdated | None:
        row = self._client.get(
            self._table, sys_id, fields=change_fields(self._roles), displayed=displayed_fields(self._roles)
        )
        if row is None:
            return None
        notes = work_notes(self._client, [sys_id]).get(sys_id) if needs_notes(row, self._mapping) else None
        return to_change(row, self._mapping, self._roles, notes)
