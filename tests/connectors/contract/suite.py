"""The connector contract: what every connector does the same way, written once and run per connector.

A connector's test class inherits `ConnectorContract` and supplies two fixtures: `harness` (the connector
on its running simulator, harness.Harness) and `stubs` (the connector against `responses`,
harness.Stubs). The cases are the connector protocol's promises (bridge/connector.py) and the outcome
table (connectors/outcomes.py, DESIGN.md "Outbox"): a poll reads what the system holds and resumes from
its cursor; a redelivered webhook is the same delivery; refused credentials are refused; every reply is
classified alike.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import ClassVar, get_args

import pytest
import requests
import responses

from bridge.connector import OutcomeStatus, WebhookDelivery, WebhookRejectedError
from bridge.domain.events import DomainEvent, RecordRef
from bridge.errors import BridgeError, ConflictError, PermanentError, SkippableError, TransientError
from connectors.outcomes import RetryPolicy
from tests.connectors.contract.harness import OK, Harness, Hook, Reply, Stubs

EVENT_TYPES = get_args(DomainEvent)
KINDS_OF_ERROR = (TransientError, ConflictError, PermanentError, SkippableError)
NOW = datetime(2024, 5, 1, 11, 0, tzinfo=UTC)
MOST_PAGES = 20


@dataclass(frozen=True)
class Case:
    """A reply, and what each operation makes of it."""

    reply: Reply
    raises: type[BridgeError] | None  # what poll() and fetch() raise; None: they read
    outcome: OutcomeStatus  # what apply() reports (for an action that writes)
    gone: bool = False  # fetch() answers None: the record does not exist (any more)
    retry_after_s: float | None = None

    def __str__(self) -> str:
        return str(self.reply)


TRANSIENT = (TransientError, OutcomeStatus.RETRY)
PERMANENT = (PermanentError, OutcomeStatus.FAILED)
CONFLICT = (ConflictError, OutcomeStatus.CONFLICT)

# The outcome table every connector follows (connectors/outcomes.py DEFAULT_STATUSES, and the rest of
# 4xx permanent); a system's quirks on top of it (GitLab's 520-530, ServiceNow's error inside a 200) are
# that connector's own tests.
CASES: tuple[Case, ...] = (
    Case(OK, None, OutcomeStatus.DONE),
    Case(Reply(400), *PERMANENT),
    Case(Reply(401), *PERMANENT),
    Case(Reply(403), *PERMANENT),
    Case(Reply(404), *PERMANENT, gone=True),
    Case(Reply(410), *PERMANENT, gone=True),
    Case(Reply(422), *PERMANENT),
    Case(Reply(409), *CONFLICT),
    Case(Reply(412), *CONFLICT),
    Case(Reply(408), *TRANSIENT),
    Case(Reply(425), *TRANSIENT),
    Case(Reply(429, {"Retry-After": "7"}), *TRANSIENT, retry_after_s=7.0),
    Case(Reply(500), *TRANSIENT),
    Case(Reply(502), *TRANSIENT),
    Case(Reply(503), *TRANSIENT),
    Case(Reply(504), *TRANSIENT),
    Case(Reply(failure=requests.exceptions.ConnectTimeout), *TRANSIENT),
    Case(Reply(failure=requests.exceptions.ReadTimeout), *TRANSIENT),
    Case(Reply(failure=requests.exceptions.ConnectionError), *TRANSIENT),
)
THROTTLED = Reply(429, {"Retry-After": "2"})


def drain(harness: Harness, cursor: str | None) -> tuple[list[DomainEvent], str | None]:
    """Poll until a page says there is no more: every event read, and the last cursor."""
    events: list[DomainEvent] = []
    for _ in range(MOST_PAGES):
        page = harness.connector.poll(cursor, now=harness.now())
        events += page.events
        cursor = page.cursor
        if not page.more:
            return events, cursor
    raise AssertionError(f"still more to read after {MOST_PAGES} pages")


def identity(event: DomainEvent | None) -> tuple[str, str, str] | None:
    """What makes two readings the same revision of the same record."""
    return None if event is None else (event.source.value, event.record_key, str(event.revision))


def kind_of(error: BaseException) -> type[BridgeError] | None:
    """The recovery group of an error: transient, conflict, permanent or skippable."""
    return next((kind for kind in KINDS_OF_ERROR if isinstance(error, kind)), None)


def flush(harness: Harness) -> None:
    requests.post(f"{harness.simulator_url}/_sim/webhooks/flush", timeout=10).raise_for_status()


def set_faults(harness: Harness, **faults: float) -> None:
    requests.post(f"{harness.simulator_url}/_sim/faults", json=faults, timeout=5).raise_for_status()


def parse(harness: Harness, hook: Hook) -> WebhookDelivery:
    return harness.connector.parse_webhook(dict(hook.headers), hook.body)


class Sleeps:
    """A sleep that records the waits it is asked for and returns at once."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def once() -> RetryPolicy:
    """No second attempt: each reply is what the caller gets."""
    return RetryPolicy(total_s=0, sleep=Sleeps())


class ConnectorContract:
    """Inherit, and supply the `harness` and `stubs` fixtures, to hold a connector to the contract."""

    # Cases a connector is known to fail, by test id, with why: each is a strict xfail, so the entry
    # must go once the connector is fixed. Empty is the goal.
    known_differences: ClassVar[Mapping[str, str]] = {}

    @pytest.fixture(autouse=True)
    def _known_difference(self, request: pytest.FixtureRequest) -> None:
        reason = self.known_differences.get(request.node.name)
        if reason is not None:
            request.applymarker(pytest.mark.xfail(reason=reason, strict=True))

    @pytest.fixture
    def http(self) -> Iterator[responses.RequestsMock]:
        with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
            yield mock

    # --- polls ----------------------------------------------------------------------------------

    def test_the_connector_names_its_system(self, harness: Harness) -> None:
        assert harness.connector.source is harness.source

    def test_a_poll_of_an_empty_system_reads_nothing(self, harness: Harness) -> None:
        events, _ = drain(harness, None)
        assert events == []

    def test_a_poll_without_a_cursor_reads_every_record_as_a_domain_event(self, harness: Harness) -> None:
        keys = harness.seed()
        events, cursor = drain(harness, None)
        assert all(isinstance(e, EVENT_TYPES) and e.source is harness.source for e in events)
        assert sorted(e.record_key for e in events) == sorted(keys)
        assert isinstance(cursor, str) and cursor

    def test_a_polled_event_is_the_revision_a_re_read_shows(self, harness: Harness) -> None:
        harness.seed()
        events, _ = drain(harness, None)
        assert events
        for event in events:
            fetched = harness.connector.fetch(RecordRef(harness.source, harness.kind, event.record_key))
            assert identity(fetched) == identity(event)

    def test_a_poll_from_its_own_cursor_reads_nothing_new(self, harness: Harness) -> None:
        harness.seed()
        _, cursor = drain(harness, None)
        page = harness.connector.poll(cursor, now=harness.now())
        assert (page.events, page.more) == ((), False)

    def test_after_a_change_a_poll_from_the_cursor_reads_that_change_alone(self, harness: Harness) -> None:
        harness.seed()
        before, cursor = drain(harness, None)
        key = harness.change()
        after, cursor = drain(harness, cursor)
        assert [e.record_key for e in after] == [key]
        [was] = [e for e in before if e.record_key == key]
        assert after[0].revision != was.revision
        fetched = harness.connector.fetch(RecordRef(harness.source, harness.kind, key))
        assert identity(fetched) == identity(after[0])
        assert drain(harness, cursor)[0] == []

    # --- webhooks -------------------------------------------------------------------------------

    def _hooks_of_a_change(self, harness: Harness, **faults: float) -> tuple[str, list[Hook]]:
        harness.seed()
        harness.listen()
        set_faults(harness, **faults)
        key = harness.change()
        flush(harness)
        return key, harness.received()

    def test_a_webhook_names_the_changed_record_at_the_revision_a_poll_reads(self, harness: Harness) -> None:
        harness.seed()
        _, cursor = drain(harness, None)
        harness.listen()
        key = harness.change()
        flush(harness)
        [hook] = harness.received()
        delivery = parse(harness, hook)
        [polled] = drain(harness, cursor)[0]
        [ref] = delivery.refs
        assert (ref.source, ref.kind, ref.key) == (harness.source, harness.kind, key)
        assert ref.revision in (None, polled.revision)
        # An event the payload proves current is the revision the poll reads: the inbox sees it once.
        assert all(identity(e) == identity(polled) for e in delivery.events)

    def test_a_redelivered_webhook_is_the_same_delivery(self, harness: Harness) -> None:
        key, hooks = self._hooks_of_a_change(harness, webhook_duplicate_rate=1.0)
        first, again = hooks
        assert first == again  # the simulator sent the very same delivery twice
        one, two = parse(harness, first), parse(harness, again)
        # The inbox keys deliveries by (source, delivery_key): the second is recognised and dropped.
        assert one.delivery_key == two.delivery_key
        assert one.refs == two.refs
        assert [identity(e) for e in one.events] == [identity(e) for e in two.events]
        assert [r.key for r in one.refs] == [key]

    def test_a_webhook_with_refused_credentials_is_refused(self, harness: Harness) -> None:
        _, [hook] = self._hooks_of_a_change(harness)
        assert parse(harness, hook).refs  # the delivery as sent is accepted
        forged = harness.refused(hook)
        assert forged
        for why, bad in forged.items():
            with pytest.raises(WebhookRejectedError) as refused:
                parse(harness, bad)
            assert refused.value.status == 401, why
            assert harness.secret not in str(refused.value), why

    def test_refused_credentials_are_refused_before_the_body_is_read(self, harness: Harness) -> None:
        _, [hook] = self._hooks_of_a_change(harness)
        for why, bad in harness.refused(hook).items():
            with pytest.raises(WebhookRejectedError) as refused:
                parse(harness, Hook(bad.headers, b"{not json"))
            assert refused.value.status == 401, why

    # --- replies, classified --------------------------------------------------------------------

    @pytest.mark.parametrize("case", CASES, ids=str)
    def test_a_poll_classifies_the_reply(
        self, stubs: Stubs, http: responses.RequestsMock, case: Case
    ) -> None:
        stubs.stub_poll(http, [case.reply])
        connector = stubs.connector(once())
        if case.raises is None:
            page = connector.poll(None, now=NOW)
            assert page.events and all(isinstance(e, EVENT_TYPES) for e in page.events)
            return
        with pytest.raises(BridgeError) as caught:
            connector.poll(None, now=NOW)
        assert kind_of(caught.value) is case.raises
        assert getattr(caught.value, "retry_after_s", None) == case.retry_after_s

    @pytest.mark.parametrize("case", CASES, ids=str)
    def test_a_fetch_classifies_the_reply(
        self, stubs: Stubs, http: responses.RequestsMock, case: Case
    ) -> None:
        ref = stubs.stub_fetch(http, [case.reply])
        connector = stubs.connector(once())
        if case.gone:
            assert connector.fetch(ref) is None
            return
        if case.raises is None:
            event = connector.fetch(ref)
            assert event is not None and (event.source, event.record_key) == (ref.source, ref.key)
            return
        with pytest.raises(BridgeError) as caught:
            connector.fetch(ref)
        assert kind_of(caught.value) is case.raises
        assert getattr(caught.value, "retry_after_s", None) == case.retry_after_s

    @pytest.mark.parametrize("case", CASES, ids=str)
    def test_apply_classifies_the_reply(self, stubs: Stubs, http: responses.RequestsMock, case: Case) -> None:
        action = stubs.stub_apply(http, [case.reply])
        [outcome] = stubs.connector(once()).apply([action])
        wanted = case.outcome
        if wanted is OutcomeStatus.CONFLICT and not stubs.writes:
            wanted = OutcomeStatus.RETRY  # nothing of ours lost: read again later (harness.Stubs.writes)
        assert (outcome.key, outcome.status, outcome.retry_after_s) == (
            action.key,
            wanted,
            case.retry_after_s,
        )
        if outcome.status is OutcomeStatus.CONFLICT:
            # The record as it is now goes back to the engine, which decides again.
            assert outcome.fresh is not None and outcome.fresh.record_key == stubs.target(action)

    @pytest.mark.parametrize("operation", ["poll", "fetch", "apply"])
    def test_a_throttled_request_is_tried_again_after_the_servers_wait(
        self, stubs: Stubs, http: responses.RequestsMock, operation: str
    ) -> None:
        sleeps = Sleeps()
        connector = stubs.connector(
            RetryPolicy(total_s=60, initial_s=0.001, max_backoff_s=0.01, sleep=sleeps)
        )
        if operation == "poll":
            stubs.stub_poll(http, [THROTTLED, OK])
            assert connector.poll(None, now=NOW).events
        elif operation == "fetch":
            ref = stubs.stub_fetch(http, [THROTTLED, OK])
            assert connector.fetch(ref) is not None
        else:
            action = stubs.stub_apply(http, [THROTTLED, OK])
            [outcome] = connector.apply([action])
            assert outcome.status is OutcomeStatus.DONE
        assert sleeps.waits == [2.0]
