"""Change events through the connector: the simulator's real deliveries and recorded payloads, verified
(good, tampered, wrong key, unsigned), size-limited, malformed, incomplete, unhandled and duplicated."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest

from bridge.connector import WebhookRejectedError
from bridge.domain.events import ChangeUpdated, RecordRef, RfcState, Source
from connectors.servicenow.connector import ServiceNowConnector

if TYPE_CHECKING:
    from tests.servicenow_connector_fixtures import Snow

pytest_plugins = ["tests.servicenow_connector_fixtures"]

SECRET = "bridge-shared-key"
SYS_ID = "a1b2c3d4e5f60718293a4b5c6d7e8f90"


def _sign(body: bytes, secret: str = SECRET) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def _wire(payload: Any) -> bytes:
    """A payload as the business rule's JSON.stringify writes it: compact, UTF-8."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _headers(body: bytes, *, secret: str = SECRET, event: str = "change_request.update") -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "User-Agent": "ServiceNow/1.0",
        "X-Bridge-Event": event,
        "X-Bridge-Signature": _sign(body, secret),
    }


def _delivered(snow: Snow, receiver: Any) -> list[tuple[dict[str, str], bytes]]:
    snow.sim.webhooks.flush()
    return [(r.headers, r.body) for r in receiver.received]


def _rejected(
    snow_connector: ServiceNowConnector, headers: dict[str, str], body: bytes
) -> WebhookRejectedError:
    with pytest.raises(WebhookRejectedError) as raised:
        snow_connector.parse_webhook(headers, body)
    return raised.value


def test_the_simulators_insert_and_update_events_are_accepted(
    snow: Snow, receiver: Any, snow_connector: ServiceNowConnector
) -> None:
    created = snow.sim.insert(
        "change_request", {"short_description": "Deploy dip-platform 1.0.2.0", "u_environment": "SIT-A"}
    )
    snow.clock.advance(30)
    snow.sim.update("change_request", created["sys_id"], {"state": "-2", "work_notes": "Planned"})
    (insert_headers, insert_body), (update_headers, update_body) = _delivered(snow, receiver)
    inserted = snow_connector.parse_webhook(insert_headers, insert_body)
    updated = snow_connector.parse_webhook(update_headers, update_body)
    assert inserted.delivery_key == f"{created['sys_id']}:0"
    assert updated.delivery_key == f"{created['sys_id']}:1"
    assert updated.refs == (RecordRef(Source.SERVICENOW, "change", created["sys_id"], revision=1),)
    (change,) = updated.events
    assert isinstance(change, ChangeUpdated)
    assert (change.number, change.mod_count, change.state, change.environment) == (
        created["number"],
        1,
        RfcState.SCHEDULED,
        "SIT-A",
    )
    # The event carries no journal (its work_notes are always ""): the notes are left unread.
    assert change.work_notes is None


@pytest.mark.parametrize("state", ["-1", "0", "3"])
def test_an_rfc_whose_notes_count_is_named_for_a_reread_not_built(
    snow: Snow, receiver: Any, snow_connector: ServiceNowConnector, state: str
) -> None:
    created = snow.sim.insert("change_request", {"short_description": "Deploy", "state": "-2"})
    snow.clock.advance(30)
    snow.sim.update("change_request", created["sys_id"], {"state": state, "work_notes": "Step 4 failed"})
    _, (headers, body) = _delivered(snow, receiver)
    delivery = snow_connector.parse_webhook(headers, body)
    assert delivery.events == ()
    (ref,) = delivery.refs
    change = snow_connector.fetch(ref)
    assert isinstance(change, ChangeUpdated) and change.mod_count == ref.revision == 1
    assert change.work_notes is not None and [n.text for n in change.work_notes] == ["Step 4 failed"]


def test_a_recorded_payload_builds_the_same_event_a_poll_would(
    snow_connector: ServiceNowConnector, snow_fixture: Any
) -> None:
    body = _wire(snow_fixture("change_event_update.json"))
    delivery = snow_connector.parse_webhook(_headers(body), body)
    assert delivery.delivery_key == f"{SYS_ID}:1"
    (change,) = delivery.events
    assert isinstance(change, ChangeUpdated)
    assert change.state is RfcState.AUTHORIZE
    assert change.correlation_id == "gitlab:42:dip-platform/1.0.2.0"
    assert change.field("release") == "" and change.field("environment") == "SIT-A"


def test_a_duplicate_delivery_has_the_same_key(
    snow_connector: ServiceNowConnector, snow_fixture: Any
) -> None:
    body = _wire(snow_fixture("change_event_insert.json"))
    first = snow_connector.parse_webhook(_headers(body, event="change_request.insert"), body)
    again = snow_connector.parse_webhook(_headers(body, event="change_request.insert"), body)
    assert first == again and first.delivery_key == f"{SYS_ID}:0"


def test_a_tampered_body_is_refused(snow_connector: ServiceNowConnector, snow_fixture: Any) -> None:
    body = _wire(snow_fixture("change_event_update.json"))
    tampered = body.replace(b'"state":"-3"', b'"state":"3"')
    assert tampered != body
    error = _rejected(snow_connector, _headers(body), tampered)
    assert (error.status, str(error)) == (401, "X-Bridge-Signature does not match the body")


def test_a_signature_with_another_key_is_refused(
    snow_connector: ServiceNowConnector, snow_fixture: Any
) -> None:
    body = _wire(snow_fixture("change_event_update.json"))
    error = _rejected(snow_connector, _headers(body, secret="another-key"), body)
    assert error.status == 401 and SECRET not in str(error)


def test_an_unsigned_event_is_refused(snow_connector: ServiceNowConnector, snow_fixture: Any) -> None:
    body = _wire(snow_fixture("change_event_update.json"))
    headers = _headers(body)
    del headers["X-Bridge-Signature"]
    error = _rejected(snow_connector, headers, body)
    assert (error.status, str(error)) == (401, "missing X-Bridge-Signature header")


def test_without_a_configured_secret_nothing_is_accepted(
    snow: Snow, make_snow_connector: Callable[..., ServiceNowConnector], snow_fixture: Any
) -> None:
    snow_connector = make_snow_connector(snow.url, webhook_secret=None)
    body = _wire(snow_fixture("change_event_update.json"))
    assert _rejected(snow_connector, _headers(body), body).status == 401


def test_an_oversized_body_is_refused_before_anything_else(
    snow: Snow, make_snow_connector: Callable[..., ServiceNowConnector]
) -> None:
    snow_connector = make_snow_connector(snow.url, max_webhook_bytes=1024)
    body = b'{"padding":"' + b"x" * 2000 + b'"}'
    error = _rejected(snow_connector, _headers(body), body)
    assert error.status == 413 and "2014 bytes" in str(error)


def test_the_default_limit_is_one_mebibyte(snow_connector: ServiceNowConnector) -> None:
    body = b" " * (1024 * 1024 + 1)
    assert _rejected(snow_connector, _headers(body), body).status == 413


@pytest.mark.parametrize(
    ("body", "message"),
    [(b"<html>hibernating</html>", "not JSON"), (b'["a list"]', "not an object"), (b"\xff\xfe", "not JSON")],
)
def test_a_body_that_is_not_a_json_object_is_400(
    snow_connector: ServiceNowConnector, body: bytes, message: str
) -> None:
    error = _rejected(snow_connector, _headers(body), body)
    assert error.status == 400 and message in str(error)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda p: p.pop("sys_id"), "sys_id is missing"),
        (lambda p: p.update(sys_id="CHG0000001"), "not 32 hex"),
        (lambda p: p.update(sys_mod_count=1), "sys_mod_count"),
        (lambda p: p.pop("record"), "record is missing"),
        (lambda p: p["record"].pop("state"), "record lacks state"),
        (lambda p: p["record"].update(sys_mod_count="0"), "differs from the event's"),
        (lambda p: p["record"].update(sys_updated_on="yesterday"), "sys_updated_on"),
        (lambda p: p["record"].update(state=-1), "not strings"),
    ],
)
def test_a_payload_lacking_what_the_domain_needs_is_422(
    snow_connector: ServiceNowConnector, snow_fixture: Any, change: Callable[[Any], Any], message: str
) -> None:
    payload = snow_fixture("change_event_update.json")
    change(payload)
    body = _wire(payload)
    error = _rejected(snow_connector, _headers(body), body)
    assert error.status == 422 and message in str(error)


def test_an_event_from_another_table_is_accepted_with_nothing_to_read(
    snow_connector: ServiceNowConnector, snow_fixture: Any
) -> None:
    body = _wire(snow_fixture("change_event_other_table.json"))
    delivery = snow_connector.parse_webhook(_headers(body, event="incident.update"), body)
    assert delivery.refs == () and delivery.events == ()
    assert delivery.delivery_key == "0f1e2d3c4b5a69788796a5b4c3d2e1f0:1"


def test_an_unmapped_state_names_the_record_but_builds_no_event(
    snow_connector: ServiceNowConnector, snow_fixture: Any, caplog: pytest.LogCaptureFixture
) -> None:
    body = _wire(snow_fixture("change_event_unmapped_state.json"))
    delivery = snow_connector.parse_webhook(_headers(body), body)
    assert delivery.refs == (RecordRef(Source.SERVICENOW, "change", SYS_ID, revision=2),)
    assert delivery.events == ()
    assert "state '-6'" in caplog.text


def test_header_names_are_matched_in_any_case(snow_connector: ServiceNowConnector, snow_fixture: Any) -> None:
    body = _wire(snow_fixture("change_event_update.json"))
    headers = {k.lower(): v for k, v in _headers(body).items()}
    assert snow_connector.parse_webhook(headers, body).delivery_key == f"{SYS_ID}:1"
