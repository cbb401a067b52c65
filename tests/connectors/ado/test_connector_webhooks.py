"""ADO connector webhooks (service hooks) and fetch: recorded and live payloads, auth, limits, shapes."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from bridge.connector import WebhookRejectedError
from bridge.domain.events import DefectUpdated, RecordRef, Source
from bridge.errors import PermanentError
from connectors.ado.connector import AdoConnector
from tests.connectors.ado.connector_fixtures import (
    HOOK_PASSWORD,
    HOOK_USER,
    Connect,
    basic,
    connect,
    connector,
    recorded,
    sleep,
)

__all__ = ["connect", "connector", "sleep"]

GOOD = basic(HOOK_USER, HOOK_PASSWORD)


def body_of(payload: Any) -> bytes:
    return json.dumps(payload).encode()


def rejected(connector: AdoConnector, headers: dict[str, str], body: bytes) -> WebhookRejectedError:
    with pytest.raises(WebhookRejectedError) as caught:
        connector.parse_webhook(headers, body)
    return caught.value


# --- recorded payloads --------------------------------------------------------------------------


def test_workitem_updated_names_the_item_not_the_update(connector: AdoConnector) -> None:
    delivery = connector.parse_webhook(GOOD, body_of(recorded("workitem.updated.json")))

    # resource.id is the update number (5); the item is resource.workItemId (101).
    assert delivery.delivery_key == "101:5"
    assert delivery.refs == (RecordRef(Source.ADO, "defect", "101", revision=5),)
    [event] = delivery.events
    assert isinstance(event, DefectUpdated)
    assert (event.id, event.rev, event.state, event.title) == (101, 5, "Fixed", "Rounding error")
    assert event.severity == "3 - Medium"
    assert event.changed_by == "Pat Tester <pat.tester@mhhs.example>"
    assert event.changed_at.isoformat() == "2024-05-01T10:00:00.120000+00:00"


def test_workitem_created_carries_the_whole_item(connector: AdoConnector) -> None:
    delivery = connector.parse_webhook(GOOD, body_of(recorded("workitem.created.json")))

    assert delivery.delivery_key == "103:1"
    assert delivery.refs == (RecordRef(Source.ADO, "defect", "103", revision=1),)
    [event] = delivery.events
    assert isinstance(event, DefectUpdated)
    assert (event.id, event.rev, event.state) == (103, 1, "New")


def test_other_event_types_are_accepted_with_nothing_to_do(connector: AdoConnector) -> None:
    payload = recorded("workitem.commented.json")

    delivery = connector.parse_webhook(GOOD, body_of(payload))

    assert delivery.refs == () and delivery.events == ()
    assert delivery.delivery_key == f"workitem.commented:{payload['id']}"
    push = {"id": "c0ffee00-0000-4000-8000-000000000000", "eventType": "git.push", "resource": {}}
    assert connector.parse_webhook(GOOD, body_of(push)).refs == ()


def test_a_tampered_revision_that_disagrees_with_the_update_is_only_a_hint(connector: AdoConnector) -> None:
    payload = recorded("workitem.updated.json")
    payload["resource"]["revision"]["rev"] = 99  # tampered, or simply not the whole item

    delivery = connector.parse_webhook(GOOD, body_of(payload))

    assert delivery.refs == (RecordRef(Source.ADO, "defect", "101", revision=5),)
    assert delivery.events == ()


def test_a_minimal_payload_gives_the_ref_to_re_read(connector: AdoConnector) -> None:
    payload = recorded("workitem.updated.json")
    del payload["resource"]["revision"]

    delivery = connector.parse_webhook(GOOD, body_of(payload))

    assert delivery.delivery_key == "101:5" and delivery.events == ()
    assert [r.key for r in delivery.refs] == ["101"]


def test_an_item_of_another_type_is_accepted_with_no_refs(connector: AdoConnector) -> None:
    payload = recorded("workitem.created.json")
    payload["resource"]["fields"]["System.WorkItemType"] = "Task"

    delivery = connector.parse_webhook(GOOD, body_of(payload))

    assert delivery.refs == () and delivery.events == ()


@pytest.mark.parametrize("kind", ["workitem.created.json", "workitem.updated.json"])
def test_a_duplicate_delivery_has_the_same_key(connector: AdoConnector, kind: str) -> None:
    body = body_of(recorded(kind))

    first = connector.parse_webhook(GOOD, body)
    again = connector.parse_webhook({k.lower(): v for k, v in GOOD.items()}, body)

    assert first == again


# --- verification -------------------------------------------------------------------------------


KINDS = ["workitem.created.json", "workitem.updated.json"]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({}, "missing basic authorization"),
        (basic(HOOK_USER, "wrong-password"), "wrong basic authorization credentials"),
        (basic("someone-else", HOOK_PASSWORD), "wrong basic authorization credentials"),
        ({"Authorization": "Bearer abc"}, "missing basic authorization"),
        ({"Authorization": "Basic !!!not-base64"}, "missing basic authorization"),
    ],
)
def test_bad_or_missing_credentials_are_401(
    connector: AdoConnector, headers: dict[str, str], message: str, kind: str
) -> None:
    error = rejected(connector, headers, body_of(recorded(kind)))

    assert (error.status, str(error)) == (401, message)
    assert HOOK_PASSWORD not in str(error)


def test_a_configured_header_replaces_basic_auth(connect: Connect) -> None:
    connector = connect(webhook_header="X-Bridge-Hook")
    body = body_of(recorded("workitem.updated.json"))

    assert connector.parse_webhook({"x-bridge-hook": HOOK_PASSWORD}, body).delivery_key == "101:5"
    assert rejected(connector, {"X-Bridge-Hook": "nope"}, body).status == 401
    assert rejected(connector, GOOD, body).status == 401


def test_no_configured_password_refuses_everything(connect: Connect) -> None:
    connector = connect(webhook_password=None)

    error = rejected(connector, basic(HOOK_USER, ""), body_of(recorded("workitem.updated.json")))

    assert error.status == 401 and "not configured" in str(error)


@pytest.mark.parametrize("kind", KINDS)
def test_oversized_bodies_are_413(connect: Connect, kind: str) -> None:
    connector = connect(max_webhook_bytes=2048)
    payload = recorded(kind)
    payload["detailedMessage"]["text"] = "x" * 4096

    error = rejected(connector, GOOD, body_of(payload))

    assert error.status == 413 and "over the limit of 2048" in str(error)


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        (b"{not json", 400, "body is not JSON"),
        (b"\xff\xfe", 400, "body is not JSON"),
        (b"[1, 2]", 400, "JSON but not an object"),
        (b'{"id": "x"}', 422, "eventType is missing"),
        (b'{"eventType": "workitem.updated", "id": "x"}', 422, "resource is missing"),
    ],
)
def test_malformed_bodies(connector: AdoConnector, body: bytes, status: int, message: str) -> None:
    error = rejected(connector, GOOD, body)

    assert error.status == status and message in str(error)


@pytest.mark.parametrize(
    ("event", "path", "message"),
    [
        ("workitem.updated.json", ("resource", "workItemId"), "resource.workItemId is missing"),
        ("workitem.updated.json", ("resource", "rev"), "resource.rev is missing"),
        ("workitem.created.json", ("resource", "id"), "resource.id is missing"),
    ],
)
def test_payloads_lacking_what_the_domain_needs_are_422(
    connector: AdoConnector, event: str, path: tuple[str, str], message: str
) -> None:
    payload = recorded(event)
    del payload[path[0]][path[1]]

    error = rejected(connector, GOOD, body_of(payload))

    assert error.status == 422 and message in str(error)


# --- live deliveries from the simulator ---------------------------------------------------------


def test_live_deliveries_parse_to_the_record_fetch_reads(
    ado: Any, receiver: Any, connector: AdoConnector
) -> None:
    for kind in ("workitem.created", "workitem.updated"):
        ado.sim.add_subscription(kind, receiver.url, basic_auth=(HOOK_USER, HOOK_PASSWORD))
    item = ado.defect("Null ref on save")
    ado.sim.update_work_item(item["id"], {"System.State": "Fixed"}, by="Pat Tester")
    ado.sim.webhooks.flush()

    deliveries = [
        connector.parse_webhook(r.headers, body_of(r.body)) for r in sorted(receiver.received, key=_rev_of)
    ]

    assert [d.delivery_key for d in deliveries] == [f"{item['id']}:1", f"{item['id']}:2"]
    latest = deliveries[-1].events[0]
    assert latest == connector.fetch(deliveries[-1].refs[0])


def test_a_duplicated_live_delivery_has_the_same_key(
    ado: Any, receiver: Any, connector: AdoConnector
) -> None:
    ado.sim.add_subscription("workitem.updated", receiver.url, basic_auth=(HOOK_USER, HOOK_PASSWORD))
    item = ado.defect("a")
    ado.sim.plan.configure({"webhook_duplicate_rate": 1.0})
    ado.sim.update_work_item(item["id"], {"System.State": "Fixed"})
    ado.sim.webhooks.flush()

    keys = [connector.parse_webhook(r.headers, body_of(r.body)).delivery_key for r in receiver.received]

    assert keys == [f"{item['id']}:2"] * 2


def _rev_of(received: Any) -> int:
    return int(received.body["resource"]["rev"])


# --- fetch --------------------------------------------------------------------------------------


def test_fetch_reads_the_defect_with_its_links(ado: Any, connector: AdoConnector) -> None:
    item = ado.defect("a")
    link = {"op": "add", "path": "/relations/-", "value": {"rel": "Hyperlink", "url": "https://x.example/r"}}
    ado.sim.model.update(item["id"], [link])

    event = connector.fetch(RecordRef(Source.ADO, "defect", str(item["id"])))

    assert isinstance(event, DefectUpdated)
    assert (event.id, event.rev, event.hyperlinks) == (item["id"], 2, ("https://x.example/r",))


def test_fetch_of_a_missing_defect_is_none(connector: AdoConnector) -> None:
    assert connector.fetch(RecordRef(Source.ADO, "defect", "424242")) is None


def test_fetch_refuses_refs_of_other_systems(connector: AdoConnector) -> None:
    with pytest.raises(PermanentError):
        connector.fetch(RecordRef(Source.SERVICENOW, "change", "abc"))


def test_payload_copies_are_not_modified(connector: AdoConnector) -> None:
    payload = recorded("workitem.updated.json")
    before = copy.deepcopy(payload)
    connector.parse_webhook(GOOD, body_of(payload))
    assert payload == before


def test_the_hook_password_is_never_shown(connector: AdoConnector, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("DEBUG")
    error = rejected(
        connector, basic(HOOK_USER, HOOK_PASSWORD + "x"), body_of(recorded("workitem.updated.json"))
    )
    connector.parse_webhook(GOOD, body_of(recorded("workitem.updated.json")))

    for text in (str(error), repr(connector), repr(vars(connector)), caplog.text):
        assert HOOK_PASSWORD not in text
