"""ADO connector as a whole: the protocol it implements, the process check for doctor, simulator faults."""

from __future__ import annotations

from typing import Any

import pytest

from bridge.config import PolicySettings
from bridge.connector import Connector
from bridge.domain.events import Source
from bridge.errors import PermanentError, TransientError
from connectors.ado.connector import AdoConnector
from connectors.outcomes import RetryPolicy
from tests.connectors.ado.connector_fixtures import (
    Connect,
    FakeSleep,
    connect,
    connector,
    later,
    requests_made,
    reset_requests,
    settings_for,
    sleep,
)

__all__ = ["connect", "connector", "sleep"]

STATES = "GET /{org}/{project}/_apis/wit/workItemTypes/{type}/states"


def test_it_is_a_connector(connector: AdoConnector) -> None:
    as_protocol: Connector = connector  # checked by mypy: the protocol is structural
    assert as_protocol.source is Source.ADO


def test_construction_needs_the_organisation_project_and_pat() -> None:
    with pytest.raises(PermanentError, match="organization_url, project and pat"):
        AdoConnector(settings_for("http://x").model_copy(update={"pat": None}), retry=RetryPolicy())


def test_check_process_confirms_the_type_and_states_in_one_request(ado: Any, connector: AdoConnector) -> None:
    connector.check_process()  # the SDK's first contact, if this is it
    reset_requests(ado.url)

    check = connector.check_process()

    assert check.ok, check.message
    assert {"Fixed", "Ready for Retest"} <= set(check.states)
    assert requests_made(ado.url) == {STATES: 1}


def test_check_process_names_missing_states(ado: Any, sleep: FakeSleep) -> None:
    policy = PolicySettings(eligible_states=("Fixed", "Resolved"), ready_for_retest_state="Awaiting Retest")
    connector = AdoConnector(settings_for(ado.url), retry=RetryPolicy(sleep=sleep), policy=policy)

    check = connector.check_process()

    assert check.exists and not check.ok
    assert check.missing_states == ("Resolved", "Awaiting Retest")
    assert "Resolved, Awaiting Retest" in check.message


def test_check_process_reports_a_missing_type(ado: Any, sleep: FakeSleep) -> None:
    settings = settings_for(ado.url).model_copy(update={"work_item_type": "Bug"})
    connector = AdoConnector(settings, retry=RetryPolicy(sleep=sleep))

    check = connector.check_process()

    assert not check.exists and not check.ok
    assert "'Bug' does not exist" in check.message


def test_throttling_everywhere_is_waited_for_then_handed_on(
    ado: Any, connect: Connect, sleep: FakeSleep
) -> None:
    connector = connect()
    ado.defect("a")
    ado.sim.plan.configure({"rate_429": 1.0, "retry_after_s": 3})

    with pytest.raises(TransientError) as caught:
        connector.poll(None, now=later())

    assert caught.value.retry_after_s == 3
    assert sleep.waits and all(w >= 3 for w in sleep.waits)


def test_a_flaky_simulator_still_gives_every_defect(ado: Any, connect: Connect) -> None:
    ids = [ado.defect(f"d{n}")["id"] for n in range(5)]
    ado.sim.plan.configure({"rate_503": 0.4, "rate_drop": 0.1, "seed": 3})
    connector = connect()

    page = connector.poll(None, now=later())

    assert sorted(int(e.record_key) for e in page.events) == ids
