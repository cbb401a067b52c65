"""ADO writes in parallel: groups of 200 defects read and written at once, outcomes exact in any order."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import responses

from bridge.config import AdoSettings
from bridge.connector import ActionOutcome, OutcomeStatus
from bridge.domain.actions import Hyperlink, MoveDefect
from bridge.domain.events import DefectMoved, DefectUpdated
from connectors.ado.connector import AdoConnector
from connectors.ado.simulator.locations import resource_locations
from connectors.ado.writer import defect_groups
from connectors.outcomes import RetryPolicy
from tests.connectors.ado.connector_fixtures import (
    POLICY,
    FakeSleep,
    connect,
    requests_made,
    reset_requests,
    settings_for,
    sleep,
)

__all__ = ["connect", "sleep"]

BATCH_READ = "POST /{org}/{project}/_apis/wit/workItemsBatch"
BATCH_WRITE = "PATCH /{org}/_apis/wit/$batch"
RELEASE = "https://gitlab.example/mhhs/dip-platform/-/releases/dip-platform%2F1.0.2.0"
RFC = "https://mhhs.service-now.example/change_request.do?sys_id=abc"

BASE = "https://ado.example.test"
ORG_URL = f"{BASE}/mhhs"
READ = re.compile(re.escape(f"{ORG_URL}/Programme/_apis/wit/workItemsBatch") + r"(\?.*)?$")
BATCH = re.compile(re.escape(f"{ORG_URL}/_apis/wit/$batch") + r"(\?.*)?$")


def move_for(item_id: int, rev: int, *, to_state: str = "Ready for Retest") -> MoveDefect:
    return MoveDefect(
        defect_id=item_id,
        expected_rev=rev,
        from_state="Fixed",
        to_state=to_state,
        comment="Deployed to SIT-A in dip-platform 1.0.2.0 (CHG0030001)",
        deployment="dip-platform:1.0.2.0@SIT-A",
        links=(Hyperlink(RELEASE, "GitLab release"), Hyperlink(RFC, "RFC CHG0030001")),
    )


def fixed(ado: Any, count: int) -> list[dict[str, Any]]:
    fields = {"System.State": "Fixed"}
    return [ado.sim.create_work_item({"System.Title": f"Defect {n}", **fields}) for n in range(count)]


def by_key(outcomes: list[ActionOutcome]) -> dict[str, ActionOutcome]:
    keyed = {o.key: o for o in outcomes}
    assert len(keyed) == len(outcomes), "each action is reported once"
    return keyed


# --- grouping ---------------------------------------------------------------------------------


def test_groups_name_at_most_200_defects_and_keep_a_defects_moves_together() -> None:
    moves = [move_for(n, 1) for n in range(1, 451)]
    # A second move for defect 5 (a rollback decided later) and one for defect 300, at the end.
    moves += [move_for(5, 2, to_state="Fixed"), move_for(300, 2, to_state="Fixed")]

    groups = defect_groups(moves)

    assert [len({m.defect_id for m in g}) for g in groups] == [200, 200, 50]
    assert [m.defect_id for m in groups[0] if m.defect_id == 5] == [5, 5]
    assert [m.to_state for m in groups[0] if m.defect_id == 5] == ["Ready for Retest", "Fixed"]
    assert [m.defect_id for m in groups[1] if m.defect_id == 300] == [300, 300]
    assert sorted(m.key for g in groups for m in g) == sorted(m.key for m in moves)


def test_groups_of_no_moves_are_none() -> None:
    assert defect_groups([]) == []


def test_parallel_requests_is_bounded_in_the_settings() -> None:
    base = settings_for(BASE).model_dump()
    with pytest.raises(ValueError):
        AdoSettings.model_validate({**base, "parallel_requests": 0})
    with pytest.raises(ValueError):
        AdoSettings.model_validate({**base, "parallel_requests": 17})
    assert AdoSettings.model_validate(base).parallel_requests == 4


# --- against the simulator --------------------------------------------------------------------


@pytest.mark.parametrize("parallel", [1, 2, 4])
def test_the_pool_bound_holds_and_is_used(ado: Any, connect: Any, parallel: int) -> None:
    items = fixed(ado, 1000)
    connector = connect(parallel_requests=parallel)
    ado.sim.plan.configure({"latency_ms": 40})
    reset_requests(ado.url)

    outcomes = connector.apply([move_for(i["id"], i["rev"]) for i in items])

    assert {o.status for o in outcomes} == {OutcomeStatus.DONE}
    assert requests_made(ado.url) == {BATCH_READ: 5, BATCH_WRITE: 5}
    assert ado.sim.stats.snapshot()["peak_in_flight"] == parallel
    assert connector.actions_per_apply == 2 * 200 * parallel


def test_outcomes_are_exact_when_batches_finish_in_any_order(ado: Any, connect: Any) -> None:
    items = fixed(ado, 900)
    ids = [i["id"] for i in items]
    already = set(ids[10::97])  # already in Ready for Retest: skipped
    edited = set(ids[20::89]) - already  # a person changed them after the engine decided: conflicts
    for item_id in already:
        ado.sim.update_work_item(item_id, {"System.State": "Ready for Retest"})
    for item_id in edited:
        ado.sim.update_work_item(item_id, {"System.Title": "Edited by a tester"})
    moves = [move_for(i["id"], i["rev"]) for i in items]
    moves.append(move_for(10**6, 1))  # does not exist
    connector = connect(parallel_requests=4)
    # Random latency per request: the groups' reads and writes come back in a different order each time.
    ado.sim.plan.configure({"latency_ms": 5, "jitter_ms": 60, "seed": 7})

    outcomes = by_key(connector.apply(moves))

    assert set(outcomes) == {m.key for m in moves}
    for item in items:
        outcome = outcomes[move_for(item["id"], item["rev"]).key]
        if item["id"] in already:
            assert outcome.status is OutcomeStatus.SKIPPED, outcome.detail
        elif item["id"] in edited:
            assert outcome.status is OutcomeStatus.CONFLICT, outcome.detail
            assert isinstance(outcome.fresh, DefectUpdated) and outcome.fresh.rev == item["rev"] + 1
            assert outcome.fresh.state == "Fixed"
        else:
            assert outcome.status is OutcomeStatus.DONE, outcome.detail
            assert isinstance(outcome.fresh, DefectMoved)
            assert (outcome.fresh.defect_id, outcome.fresh.rev) == (item["id"], item["rev"] + 1)
    assert outcomes[move_for(10**6, 1).key].status is OutcomeStatus.FAILED
    states = {i["id"]: ado.sim.get_work_item(i["id"])["fields"]["System.State"] for i in items}
    # A person's change is never overwritten.
    assert {s for i, s in states.items() if i in edited} == {"Fixed"}
    assert {s for i, s in states.items() if i not in edited} == {"Ready for Retest"}


def test_a_second_parallel_apply_reads_but_writes_nothing(ado: Any, connect: Any) -> None:
    items = fixed(ado, 650)
    moves = [move_for(i["id"], i["rev"]) for i in items]
    connector = connect(parallel_requests=4)
    assert {o.status for o in connector.apply(moves)} == {OutcomeStatus.DONE}
    revs = {i["id"]: ado.sim.get_work_item(i["id"])["rev"] for i in items}
    reset_requests(ado.url)

    again = by_key(connector.apply(moves))

    assert {o.status for o in again.values()} == {OutcomeStatus.DONE}
    assert {o.detail.split(" to ")[0] for o in again.values()} == {"moved by an earlier attempt"}
    assert requests_made(ado.url) == {BATCH_READ: 4}
    assert {i["id"]: ado.sim.get_work_item(i["id"])["rev"] for i in items} == revs
    assert all(len(ado.sim.model.comment_list(i["id"])) == 1 for i in items[:50])


# --- with `responses`: a failing batch among good ones, conflicts in several groups --------------


def wire_item(item_id: int, rev: int, state: str = "Fixed", links: tuple[str, ...] = ()) -> dict[str, Any]:
    return {
        "id": item_id,
        "rev": rev,
        "fields": {
            "System.Id": item_id,
            "System.WorkItemType": "Defect",
            "System.State": state,
            "System.Title": f"Defect {item_id}",
            "System.ChangedDate": "2024-05-01T10:00:00.12Z",
        },
        "relations": [{"rel": "Hyperlink", "url": u, "attributes": {}} for u in links],
    }


class FakeAdo:
    """Answers batch reads and `$batch` writes from a table of work items, counting requests in flight.

    `refuse` names defects whose `$batch` call fails as a whole (HTTP 400); `edited` names defects a person
    changes between our read and our write (their items answer 412 and a re-read shows rev + 1).
    """

    def __init__(self, ids: list[int], *, refuse: int | None = None, edited: frozenset[int] = frozenset()):
        self.items = {i: wire_item(i, 3) for i in ids}
        self.refuse = refuse
        self.edited = edited
        self.lock = threading.Lock()
        self.in_flight = 0
        self.peak = 0
        self.reads: list[list[int]] = []
        self.writes: list[list[int]] = []

    def _enter(self) -> None:
        with self.lock:
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
        time.sleep(0.03)  # so that requests from different threads overlap

    def _leave(self) -> None:
        with self.lock:
            self.in_flight -= 1

    def read(self, request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        self._enter()
        try:
            ids = json.loads(request.body or b"{}")["ids"]
            with self.lock:
                self.reads.append(ids)
                found = [self.items[i] for i in ids if i in self.items]
            return 200, {}, json.dumps({"count": len(found), "value": found})
        finally:
            self._leave()

    def write(self, request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        self._enter()
        try:
            body = json.loads(request.body or b"[]")
            ids = [int(r["uri"].split("?")[0].rsplit("/", 1)[1]) for r in body]
            with self.lock:
                self.writes.append(ids)
            if self.refuse in ids:
                return 400, {}, json.dumps({"message": "VS402337: The batch is refused."})
            replies = []
            for item_id, req in zip(ids, body, strict=True):
                item = self.items[item_id]
                if item_id in self.edited:
                    with self.lock:
                        self.items[item_id] = wire_item(item_id, item["rev"] + 1, "Fixed")
                    replies.append({"code": 412, "headers": {}, "body": json.dumps({"message": "TF26071"})})
                    continue
                links = tuple(op["value"]["url"] for op in req["body"] if op["path"] == "/relations/-")
                moved = wire_item(item_id, item["rev"] + 1, "Ready for Retest", links)
                with self.lock:
                    self.items[item_id] = moved
                replies.append({"code": 200, "headers": {}, "body": json.dumps(moved)})
            return 200, {}, json.dumps({"count": len(replies), "value": replies})
        finally:
            self._leave()


@pytest.fixture
def http() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add(responses.OPTIONS, f"{ORG_URL}/_apis", json=resource_locations())
        yield mock


def make(fake: FakeAdo, http: responses.RequestsMock, *, parallel: int) -> AdoConnector:
    http.add_callback(responses.POST, READ, callback=fake.read)
    http.add_callback(responses.PATCH, BATCH, callback=fake.write)
    return AdoConnector(
        settings_for(BASE, parallel_requests=parallel),
        retry=RetryPolicy(total_s=5, sleep=FakeSleep()),
        policy=POLICY,
    )


def test_a_failing_batch_fails_only_its_own_moves(http: responses.RequestsMock) -> None:
    ids = list(range(1, 801))
    fake = FakeAdo(ids, refuse=450)  # 450 is in the third group of 200
    connector = make(fake, http, parallel=4)

    outcomes = by_key(connector.apply([move_for(i, 3) for i in ids]))

    refused = set(range(401, 601))
    for item_id in ids:
        outcome = outcomes[move_for(item_id, 3).key]
        if item_id in refused:
            assert outcome.status is OutcomeStatus.FAILED and "VS402337" in outcome.detail
        else:
            assert outcome.status is OutcomeStatus.DONE, outcome.detail
    assert fake.peak == 4
    assert sorted(len(w) for w in fake.writes) == [200, 200, 200, 200], "the refused call is not retried"


def test_conflicts_in_several_groups_are_re_read_and_handed_back(http: responses.RequestsMock) -> None:
    ids = list(range(1, 601))
    edited = frozenset({7, 250, 251, 599})
    fake = FakeAdo(ids, edited=edited)
    connector = make(fake, http, parallel=3)

    outcomes = by_key(connector.apply([move_for(i, 3) for i in ids]))

    for item_id in ids:
        outcome = outcomes[move_for(item_id, 3).key]
        if item_id in edited:
            assert outcome.status is OutcomeStatus.CONFLICT, outcome.detail
            assert isinstance(outcome.fresh, DefectUpdated) and outcome.fresh.rev == 4
        else:
            assert outcome.status is OutcomeStatus.DONE, outcome.detail
    # Three group reads, then one re-read per group that had a conflict, naming only its conflicts.
    rereads = sorted(sorted(r) for r in fake.reads if len(r) < 200)
    assert rereads == [[7], [250, 251], [599]]
    assert fake.peak <= 3
