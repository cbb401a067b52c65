"""The ServiceNow connector in the contract: its simulator, RFCs, the business rule's signed change events,
and stubs of the Table API."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import pytest
import responses

from bridge.domain.actions import Action, AddWorkNote
from bridge.domain.events import RecordRef, Source
from bridge.mappings import servicenow_mapping
from connectors.outcomes import RetryPolicy
from connectors.servicenow.connector import ServiceNowConnector
from connectors.servicenow.simulator import ServiceNowSimulator
from connectors.simulation import RunningServer
from tests.connectors.contract.harness import OK, Hook, Reply, answer, with_header
from tests.connectors.servicenow.conftest import PASSWORD, SECRET, START, USER, Receiver, Switch
from tests.support.clock import Clock

# tests/servicenow_connector_fixtures.py is imported where it is used, not here: the ServiceNow tests load
# it as a pytest plugin, which pytest assert-rewrites only when it is the first to import it, and the
# contract's conftest imports this module before their collection.
if TYPE_CHECKING:
    from tests.servicenow_connector_fixtures import Snow

TABLE = "change_request"
SIGNATURE = "X-Bridge-Signature"


@dataclass
class ServiceNowHarness:
    """change_request on the simulator, with the mapped fields; change events once listened for."""

    snow: Snow
    receiver: Receiver
    connector: ServiceNowConnector
    source: Source = Source.SERVICENOW
    kind: str = "change"
    secret: str = SECRET
    changing: str = field(default="", init=False)  # the record change() changes

    @property
    def simulator_url(self) -> str:
        return self.snow.url

    def now(self) -> datetime:
        moment: datetime = self.snow.clock()
        return moment

    def seed(self) -> set[str]:
        keys = set()
        for version in ("1.0.1.0", "1.0.2.0"):
            self.snow.clock.advance(1)
            record = self.snow.sim.insert(
                TABLE,
                {
                    "short_description": f"Deploy dip-platform {version}",
                    "u_environment": "SIT-A",
                    "state": "-5",
                },
            )
            keys.add(record["sys_id"])
        self.changing = record["sys_id"]
        self.snow.clock.advance(1)
        return keys

    def change(self) -> str:
        # sys_updated_on has one-second resolution: the change comes a second later, as a person's would.
        self.snow.clock.advance(1)
        self.snow.sim.update(TABLE, self.changing, {"state": "-4"})  # New -> Assess
        self.snow.clock.advance(1)
        return self.changing

    def listen(self) -> None:
        self.snow.sim.set_event_target(self.receiver.url, SECRET)

    def received(self) -> list[Hook]:
        with self.receiver.lock:
            return [Hook(got.headers, got.body) for got in self.receiver.received]

    def refused(self, hook: Hook) -> dict[str, Hook]:
        other_key = base64.b64encode(hmac.new(b"another-key", hook.body, hashlib.sha256).digest()).decode()
        return {
            "signed with another key": Hook(with_header(hook.headers, SIGNATURE, other_key), hook.body),
            "unsigned": Hook(with_header(hook.headers, SIGNATURE, None), hook.body),
            # Still the same JSON, one byte longer: the signature covers the bytes.
            "body changed after signing": Hook(hook.headers, hook.body + b" "),
        }


@pytest.fixture
def servicenow_harness(
    _switched: tuple[Switch, RunningServer], servicenow_receiver: Receiver
) -> Iterator[ServiceNowHarness]:
    """A fresh instance behind the session's server (as the `snow` fixture of the ServiceNow tests),
    sending no change events until listened for."""
    from tests.servicenow_connector_fixtures import EXTRA_FIELDS, Sleeps, Snow, settings_for

    switch, server = _switched
    clock = Clock(START)
    sim = ServiceNowSimulator(user=USER, password=PASSWORD, extra_fields=EXTRA_FIELDS, clock=clock)
    switch.app = sim.app
    retry = RetryPolicy(total_s=5, max_backoff_s=1.0, initial_s=0.01, sleep=Sleeps())
    connector = ServiceNowConnector(settings_for(server.url), servicenow_mapping(), retry=retry)
    yield ServiceNowHarness(Snow(sim, server, clock), servicenow_receiver, connector)
    switch.app = None
    sim.close()


BASE = "https://snow.example.test"
TABLE_URL = f"{BASE}/api/now/table/{TABLE}"
JOURNAL_URL = f"{BASE}/api/now/table/sys_journal_field"
SYS_ID = "a1b2c3d4e5f60718293a4b5c6d7e8f90"
RECORD_URL = re.compile(re.escape(f"{TABLE_URL}/{SYS_ID}") + r"(\?.*)?$")
LIST_URL = re.compile(re.escape(TABLE_URL) + r"(\?.*)?$")


def _record() -> dict[str, str]:
    from tests.servicenow_connector_fixtures import change_row

    return change_row(SYS_ID)


def _error(status: int) -> dict[str, Any]:
    # The Table API's error body (api-contracts.md 3.5).
    return {"error": {"message": f"{status} stubbed", "detail": None}, "status": "failure"}


class ServiceNowStubs:
    """The Table API, stubbed: the change_request list (the field check and the poll's page), one record
    (fetch, and the re-read after a conflict), and a work note's journal read and PATCH."""

    writes = True

    def connector(self, retry: RetryPolicy) -> ServiceNowConnector:
        from tests.servicenow_connector_fixtures import settings_for

        return ServiceNowConnector(settings_for(BASE), servicenow_mapping(), retry=retry)

    def stub_poll(self, http: responses.RequestsMock, replies: Sequence[Reply]) -> None:
        answer(http, responses.GET, LIST_URL, replies, ok={"result": [_record()]}, error=_error)

    def stub_fetch(self, http: responses.RequestsMock, replies: Sequence[Reply]) -> RecordRef:
        answer(http, responses.GET, RECORD_URL, replies, ok={"result": _record()}, error=_error)
        return RecordRef(Source.SERVICENOW, "change", SYS_ID)

    def stub_apply(self, http: responses.RequestsMock, replies: Sequence[Reply]) -> Action:
        answer(http, responses.GET, JOURNAL_URL, [OK], ok={"result": []}, error=_error)
        answer(http, responses.PATCH, RECORD_URL, replies, ok={"result": _record()}, error=_error)
        answer(http, responses.GET, RECORD_URL, [OK], ok={"result": _record()}, error=_error)
        return AddWorkNote(SYS_ID, "CHG0000001", "Linked release dip-platform 1.0.2.0")

    def target(self, action: Action) -> str:
        assert isinstance(action, AddWorkNote)
        return action.rfc_sys_id
