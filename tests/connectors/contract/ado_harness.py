"""The ADO connector in the contract: its simulator, defects, service hooks with basic auth, and stubs of
the work item tracking API."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pytest
import requests
import responses

from bridge.domain.actions import Action, Hyperlink, MoveDefect
from bridge.domain.events import RecordRef, Source
from connectors.ado.connector import AdoConnector
from connectors.ado.simulator import AdoSimulator
from connectors.outcomes import RetryPolicy
from connectors.simulation import RunningServer
from tests.connectors.ado.conftest import Ado, Receiver
from tests.connectors.ado.connector_fixtures import (
    HOOK_PASSWORD,
    HOOK_USER,
    ORG,
    PAT,
    POLICY,
    FakeSleep,
    basic,
    later,
    settings_for,
)
from tests.connectors.contract.harness import OK, Hook, Reply, answer, with_header


@dataclass
class AdoHarness:
    """Defects in the simulator's project; service hooks for updates once listened for."""

    ado: Ado
    receiver: Receiver
    connector: AdoConnector
    source: Source = Source.ADO
    kind: str = "defect"
    secret: str = HOOK_PASSWORD
    changing: int = field(default=0, init=False)  # the defect change() changes

    @property
    def simulator_url(self) -> str:
        return self.ado.url

    def now(self) -> datetime:
        # The simulator stamps System.ChangedDate with the real clock.
        return later()

    def seed(self) -> set[str]:
        first = self.ado.defect("Rounding error in settlement")
        second = self.ado.defect("Null reference on save", **{"Microsoft.VSTS.Common.Severity": "2 - High"})
        self.changing = int(second["id"])
        return {str(first["id"]), str(second["id"])}

    def change(self) -> str:
        self.ado.sim.update_work_item(self.changing, {"System.State": "Fixed"}, by="Pat Tester")
        return str(self.changing)

    def listen(self) -> None:
        credentials = (HOOK_USER, HOOK_PASSWORD)
        self.ado.sim.add_subscription("workitem.updated", self.receiver.url, basic_auth=credentials)

    def received(self) -> list[Hook]:
        # The receiver keeps the body parsed; ADO signs nothing, so its JSON text is as good as the bytes.
        with self.receiver.lock:
            return [Hook(got.headers, json.dumps(got.body).encode()) for got in self.receiver.received]

    def refused(self, hook: Hook) -> dict[str, Hook]:
        def signed_in(user: str, password: str) -> Hook:
            given = basic(user, password)["Authorization"]
            return Hook(with_header(hook.headers, "Authorization", given), hook.body)

        return {
            "wrong password": signed_in(HOOK_USER, "not-the-password"),
            "another user": signed_in("someone-else", HOOK_PASSWORD),
            "no credentials": Hook(with_header(hook.headers, "Authorization", None), hook.body),
        }


@pytest.fixture
def ado_harness(ado: Ado, ado_receiver: Receiver) -> AdoHarness:
    """The session's simulator emptied (the `ado` fixture of the ADO tests), and a receiver."""
    connector = AdoConnector(
        settings_for(ado.url), retry=RetryPolicy(total_s=5, initial_s=0.01, sleep=FakeSleep()), policy=POLICY
    )
    return AdoHarness(ado, ado_receiver, connector)


@pytest.fixture(scope="session")
def ado_locations(_shared: tuple[AdoSimulator, RunningServer, dict[str, Any]]) -> Any:
    """The resource locations the SDK discovers first (api-contracts.md 2.2), as the simulator answers."""
    _, server, _ = _shared
    reply = requests.options(f"{server.url}/{ORG}/_apis", auth=("", PAT), timeout=5)
    reply.raise_for_status()
    return reply.json()


BASE = "https://ado.example.test"
ORG_URL = f"{BASE}/{ORG}"
WIQL_URL = re.compile(re.escape(f"{ORG_URL}/Programme/_apis/wit/wiql") + r"(\?.*)?$")
READ_URL = re.compile(re.escape(f"{ORG_URL}/Programme/_apis/wit/workItemsBatch") + r"(\?.*)?$")
ITEM_URL = re.compile(re.escape(f"{ORG_URL}/Programme/_apis/wit/workItems/7") + r"(\?.*)?$")
BATCH_URL = re.compile(re.escape(f"{ORG_URL}/_apis/wit/$batch") + r"(\?.*)?$")


def _item(rev: int = 3, state: str = "Fixed") -> dict[str, Any]:
    return {
        "id": 7,
        "rev": rev,
        "fields": {
            "System.Id": 7,
            "System.WorkItemType": "Defect",
            "System.State": state,
            "System.Title": "Rounding error",
            "System.ChangedDate": "2024-05-01T10:00:00.12Z",
            "System.ChangedBy": {"displayName": "Pat Tester", "uniqueName": "pat@mhhs.example"},
        },
        "relations": [],
        "url": f"{ORG_URL}/_apis/wit/workItems/7",
    }


def _error(status: int) -> dict[str, Any]:
    # ADO's WrappedException body (api-contracts.md 2.10).
    return {"message": f"TF400000: {status} stubbed", "typeKey": "StubbedException"}


@dataclass
class AdoStubs:
    """ADO, stubbed: the WIQL query (poll), one work item (fetch) and the `$batch` call of a move, after
    its batch read of the defect (and the read again after a conflict)."""

    locations: Any
    writes: bool = True

    def connector(self, retry: RetryPolicy) -> AdoConnector:
        return AdoConnector(settings_for(BASE), retry=retry, policy=POLICY)

    def _discovery(self, http: responses.RequestsMock) -> None:
        http.add(responses.OPTIONS, f"{ORG_URL}/_apis", json=self.locations)

    def stub_poll(self, http: responses.RequestsMock, replies: Sequence[Reply]) -> None:
        self._discovery(http)
        query = {"queryType": "flat", "asOf": "2024-05-01T10:00:01Z", "workItems": [{"id": 7}]}
        answer(http, responses.POST, WIQL_URL, replies, ok=query, error=_error)
        answer(http, responses.POST, READ_URL, [OK], ok={"count": 1, "value": [_item()]}, error=_error)

    def stub_fetch(self, http: responses.RequestsMock, replies: Sequence[Reply]) -> RecordRef:
        self._discovery(http)
        answer(http, responses.GET, ITEM_URL, replies, ok=_item(), error=_error)
        return RecordRef(Source.ADO, "defect", "7")

    def stub_apply(self, http: responses.RequestsMock, replies: Sequence[Reply]) -> Action:
        answer(http, responses.POST, READ_URL, [OK], ok={"count": 1, "value": [_item()]}, error=_error)
        moved = {"code": 200, "headers": {}, "body": json.dumps(_item(4, "Ready for Retest"))}
        answer(http, responses.PATCH, BATCH_URL, replies, ok={"count": 1, "value": [moved]}, error=_error)
        return MoveDefect(
            defect_id=7,
            expected_rev=3,
            from_state="Fixed",
            to_state="Ready for Retest",
            comment="Deployed to SIT-A",
            deployment="dip-platform:1.0.2.0@SIT-A",
            links=(Hyperlink("https://gitlab.example/r", "GitLab release"),),
        )

    def target(self, action: Action) -> str:
        assert isinstance(action, MoveDefect)
        return str(action.defect_id)
