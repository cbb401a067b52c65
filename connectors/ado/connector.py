"""AdoConnector: defects in Azure DevOps through the Connector protocol, and the process check for doctor."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bridge.config import AdoSettings, PolicySettings, ServiceSettings
from bridge.connector import ActionOutcome, OutcomeStatus, PollPage, WebhookDelivery, WebhookRejectedError
from bridge.domain.actions import Action, MoveDefect
from bridge.domain.events import DomainEvent, RecordRef, Source
from bridge.errors import PermanentError
from connectors.ado import webhooks, wire
from connectors.ado.client import MAX_BATCH, AdoClient
from connectors.ado.poller import DEFAULT_OVERLAP, AdoPoller
from connectors.ado.webhooks import HookAuth
from connectors.ado.writer import AdoWriter
from connectors.outcomes import RetryPolicy

log = logging.getLogger(__name__)

DEFAULT_MAX_WEBHOOK_BYTES: int = ServiceSettings.model_fields["max_webhook_bytes"].default


# Rounds of parallel batches one apply() is given (see actions_per_apply).
APPLY_ROUNDS = 2


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class ProcessCheck:
    """What `bridge doctor` learns of the ADO process: the type exists and has the states the policy uses."""

    work_item_type: str
    exists: bool
    states: tuple[str, ...]
    missing_states: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return self.exists and not self.missing_states

    @property
    def message(self) -> str:
        if not self.exists:
            return f"work item type {self.work_item_type!r} does not exist in the project"
        if self.missing_states:
            return f"{self.work_item_type} lacks the states {', '.join(self.missing_states)}"
        return f"{self.work_item_type} has the states the policy needs"


class AdoConnector:
    """Polls, webhooks, re-reads and writes for defects (work items of the configured type)."""

    def __init__(
        self,
        settings: AdoSettings,
        *,
        retry: RetryPolicy,
        policy: PolicySettings | None = None,
        max_webhook_bytes: int = DEFAULT_MAX_WEBHOOK_BYTES,
        clock: Callable[[], datetime] = _utc_now,
        overlap: timedelta = DEFAULT_OVERLAP,
        page_size: int = 200,
        timeout_s: float = 30.0,
    ) -> None:
        self.settings = settings
        self.policy = policy or PolicySettings()
        self.max_webhook_bytes = max_webhook_bytes
        self.clock = clock
        self.retry = retry
        self.client = AdoClient(settings, timeout_s=timeout_s)
        self.poller = AdoPoller(
            self.client,
            work_item_type=settings.work_item_type,
            retry=retry,
            overlap=overlap,
            page_size=page_size,
        )
        self.writer = AdoWriter(self.client, retry=retry, clock=clock, parallel=settings.parallel_requests)
        password = settings.webhook_password.get_secret_value() if settings.webhook_password else None
        self._hook_auth = HookAuth(password, settings.webhook_user, settings.webhook_header)

    @property
    def actions_per_apply(self) -> int:
        """How many actions one apply() takes: two rounds of full batches on every request the writer
        sends at once, so the dispatcher's bookkeeping between applies is paid once per that many moves
        while a claim still ends well inside its lease."""
        return MAX_BATCH * self.writer.parallel * APPLY_ROUNDS

    def __repr__(self) -> str:
        return f"AdoConnector(org_url={self.client.org_url!r}, project={self.client.project!r})"

    @property
    def source(self) -> Source:
        return Source.ADO

    def poll(self, cursor: str | None, *, now: datetime) -> PollPage:
        """One page of defects changed since `cursor` (WIQL, then one workitemsbatch read)."""
        return self.poller.poll(cursor, now=now)

    def cursor_since(self, since: datetime) -> str:
        return self.poller.cursor_since(since)

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> WebhookDelivery:
        """Verify a service hook delivery (basic auth or the configured header), then parse it.

        Credentials are checked first, so a caller without them learns nothing about the body's fate.
        """
        webhooks.verify(self._hook_auth, headers)
        if len(body) > self.max_webhook_bytes:
            raise WebhookRejectedError(
                413, f"body of {len(body)} bytes is over the limit of {self.max_webhook_bytes}"
            )
        return webhooks.parse(body, work_item_type=self.settings.work_item_type)

    def fetch(self, ref: RecordRef) -> DomainEvent | None:
        """The defect as ADO shows it now (with its hyperlinks), or None when it is gone."""
        if ref.source is not Source.ADO or ref.kind != "defect" or not ref.key.isdigit():
            raise PermanentError(f"not an ADO defect: {ref.source}/{ref.kind}/{ref.key}")
        item = self.retry.call(lambda: self.client.read_item(int(ref.key)))
        if item is None:
            return None
        return wire.defect(item, default_type=self.settings.work_item_type)

    def apply(self, actions: Sequence[Action]) -> list[ActionOutcome]:
        """Carry out the MoveDefect actions (many per `$batch` call); other actions are not ADO's."""
        moves = [a for a in actions if isinstance(a, MoveDefect)]
        done = self.writer.move(moves) if moves else {}
        outcomes = []
        for action in actions:
            if isinstance(action, MoveDefect):
                outcomes.append(done[action.key])
            else:
                outcomes.append(
                    ActionOutcome(action.key, OutcomeStatus.FAILED, f"{action.kind} does not target ADO")
                )
        counts: dict[str, int] = {}
        for outcome in outcomes:
            counts[outcome.status] = counts.get(outcome.status, 0) + 1
        log.info("ADO apply: %s", ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "nothing")
        return outcomes

    def check_process(self) -> ProcessCheck:
        """Whether the work item type exists with the eligible states and Ready for Retest (one request)."""
        wanted = (*self.policy.eligible_states, self.policy.ready_for_retest_state)
        type_name = self.settings.work_item_type
        states = self.retry.call(lambda: self.client.type_states(type_name))
        if states is None:
            return ProcessCheck(type_name, False, (), tuple(dict.fromkeys(wanted)))
        # ADO compares state names without case.
        have = {s.lower() for s in states}
        missing = tuple(dict.fromkeys(s for s in wanted if s.lower() not in have))
        return ProcessCheck(type_name, True, tuple(states), missing)
